#include "guest-drivers/linux/flmem/options.h"

#include "gtest/gtest.h"

namespace faultline::flmem {
namespace {

std::optional<Options> Parse(std::vector<std::string> args,
                             std::string* error) {
  return ParseOptions(args, error);
}

std::string ErrorOf(std::vector<std::string> args) {
  std::string error;
  EXPECT_FALSE(Parse(args, &error).has_value());
  return error;
}

TEST(OptionsTest, ReadsACommandAndItsFlags) {
  std::string error;
  auto options = Parse(
      {"check", "--device=/dev/faultline-mem1", "--first=8", "--count=64",
       "--pattern_seed=0x2a", "--pool_frames=16", "--signed", "--per_page=no"},
      &error);
  ASSERT_TRUE(options.has_value()) << error;
  EXPECT_EQ(options->command, Command::kCheck);
  EXPECT_EQ(options->device, "/dev/faultline-mem1");
  EXPECT_EQ(options->first, 8u);
  EXPECT_EQ(options->count, 64u);
  EXPECT_EQ(*options->pattern_seed, 42u);
  EXPECT_TRUE(options->signed_frames);
  EXPECT_FALSE(options->per_page);
  EXPECT_EQ(options->FrameOf(0), 8u);
  EXPECT_EQ(options->FrameOf(9), 1u) << "page 17 of a 16-frame pool";
}

TEST(OptionsTest, DefaultsMapOnePageOfTheFirstDevice) {
  std::string error;
  auto options = Parse({"share"}, &error);
  ASSERT_TRUE(options.has_value()) << error;
  EXPECT_EQ(options->device, "/dev/faultline-mem0");
  EXPECT_EQ(options->count, 1u);
  EXPECT_EQ(options->FrameOf(0), 0u);
}

TEST(OptionsTest, TouchTakesThreadsSignalsAndAMark) {
  std::string error;
  auto options =
      Parse({"touch", "--threads=4", "--seconds=30", "--signal_every_ms=5",
             "--mark_seed=7", "--slow_us=5000"},
            &error);
  ASSERT_TRUE(options.has_value()) << error;
  EXPECT_EQ(options->threads, 4u);
  EXPECT_EQ(options->seconds, 30u);
  EXPECT_EQ(options->signal_every_ms, 5u);
  EXPECT_EQ(*options->mark_seed, 7u);
  EXPECT_EQ(options->slow_us, 5000u);
  EXPECT_EQ(Parse({"touch"}, &error)->slow_us, 50u);
}

TEST(OptionsTest, RefusesWhatItCannotUse) {
  EXPECT_EQ(ErrorOf({}), "no command");
  EXPECT_EQ(ErrorOf({"dance"}), "unknown command 'dance'");
  EXPECT_EQ(ErrorOf({"fill", "sign"}), "one command only, got 'sign' too");
  EXPECT_EQ(ErrorOf({"check"}), "this command needs --pattern_seed");
  EXPECT_EQ(ErrorOf({"share", "--threads=2"}),
            "--threads does not apply to this command");
  EXPECT_EQ(ErrorOf({"share", "--colour=red"}), "unknown flag --colour");
  EXPECT_EQ(ErrorOf({"share", "--count=1", "--count=2"}),
            "--count given twice");
  EXPECT_EQ(ErrorOf({"share", "--count=0"}),
            "--count=0: expected a number in 1..1048576");
  EXPECT_EQ(ErrorOf({"share", "--count=-3"}),
            "--count=-3: expected a number in 1..1048576");
  EXPECT_EQ(ErrorOf({"share", "--count=12x"}),
            "--count=12x: expected a number in 1..1048576");
  EXPECT_EQ(ErrorOf({"touch", "--slow_us=0"}),
            "--slow_us=0: expected a number in 1..10000000");
  EXPECT_EQ(ErrorOf({"check", "--pattern_seed=1", "--slow_us=9"}),
            "--slow_us does not apply to this command");
  EXPECT_EQ(ErrorOf({"touch", "--threads=65"}),
            "--threads=65: expected a number in 1..64");
  EXPECT_EQ(ErrorOf({"check", "--pattern_seed=1", "--signed=maybe"}),
            "--signed=maybe: expected yes or no");
  EXPECT_EQ(ErrorOf({"share", "--device="}), "--device is empty");
  EXPECT_EQ(ErrorOf({"expect_sigbus", "--count=2", "--page=2"}),
            "--page must lie inside the mapping (below --count)");
}

TEST(OptionsTest, UsageNamesEveryCommand) {
  const std::string usage = Usage();
  for (const char* command :
       {"info", "check", "fill", "sign", "share", "touch", "expect_sigbus"}) {
    EXPECT_NE(usage.find(command), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace faultline::flmem

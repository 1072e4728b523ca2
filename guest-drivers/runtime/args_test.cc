#include "guest-drivers/runtime/args.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace faultline::guest {
namespace {

constexpr const char* kOrders[] = {"sequential", "strided", "random"};

class ArgsFor {
 public:
  explicit ArgsFor(const std::string& text)
      : text_(text), args_(text_.c_str(), text_.size() + 1) {}
  Args& operator*() { return args_; }
  Args* operator->() { return &args_; }

 private:
  std::string text_;
  Args args_;
};

TEST(Args, ReadsNumbersAndChoices) {
  ArgsFor args("  order=random stride=0x10  seed=7 ");
  size_t order = 0;
  uint64_t stride = 0, seed = 0, absent = 0;
  ASSERT_TRUE(args->GetChoice("order", kOrders, 3, 0, &order));
  ASSERT_TRUE(args->GetU64("stride", 1, 1000, &stride));
  ASSERT_TRUE(args->GetU64("seed", 0, UINT64_MAX, &seed));
  ASSERT_TRUE(args->GetOptionalU64("mib", 1, 64, 9, &absent));
  EXPECT_TRUE(args->CheckNoUnknownKeys());
  EXPECT_TRUE(args->ok());
  EXPECT_EQ(order, 2u);
  EXPECT_EQ(stride, 16u);
  EXPECT_EQ(seed, 7u);
  EXPECT_EQ(absent, 9u);
}

TEST(Args, EmptyTextHasNoPairs) {
  ArgsFor args("");
  size_t order = 5;
  EXPECT_TRUE(args->GetChoice("order", kOrders, 3, 1, &order));
  EXPECT_EQ(order, 1u);
  EXPECT_TRUE(args->CheckNoUnknownKeys());
  EXPECT_FALSE(args->Has("order"));
}

TEST(Args, UnknownKeyIsAnError) {
  ArgsFor args("seed=1 sead=2");
  uint64_t seed = 0;
  ASSERT_TRUE(args->GetU64("seed", 0, 10, &seed));
  EXPECT_FALSE(args->CheckNoUnknownKeys());
  EXPECT_STREQ(args->error(), "unknown argument 'sead'");
}

TEST(Args, MissingRequiredKeyIsAnError) {
  ArgsFor args("other=1");
  uint64_t value = 0;
  EXPECT_FALSE(args->GetU64("host_seed", 0, 10, &value));
  EXPECT_STREQ(args->error(), "missing required argument host_seed=N");
}

TEST(Args, MalformedPairsAreErrors) {
  EXPECT_STREQ(ArgsFor("novalue")->error(),
               "argument 'novalue' is not key=value");
  EXPECT_STREQ(ArgsFor("=3")->error(),
               "argument '=3' has an empty or too long key");
  EXPECT_STREQ(ArgsFor("key=")->error(), "argument 'key=' has an empty value");
  EXPECT_STREQ(ArgsFor("a=1 a=2")->error(), "argument 'a=2' repeats a key");
}

TEST(Args, BadNumbersAreErrors) {
  uint64_t value = 0;
  ArgsFor not_number("n=12x");
  EXPECT_FALSE(not_number->GetU64("n", 0, 100, &value));
  EXPECT_STREQ(not_number->error(), "n=12x is not an unsigned number");

  ArgsFor negative("n=-1");
  EXPECT_FALSE(negative->GetU64("n", 0, 100, &value));

  ArgsFor overflow("n=18446744073709551616");
  EXPECT_FALSE(overflow->GetU64("n", 0, UINT64_MAX, &value));

  ArgsFor out_of_range("n=101");
  EXPECT_FALSE(out_of_range->GetU64("n", 1, 100, &value));
  EXPECT_STREQ(out_of_range->error(), "n=101 is out of range [1, 100]");
}

TEST(Args, BadChoiceListsTheChoices) {
  ArgsFor args("order=backwards");
  size_t order = 0;
  EXPECT_FALSE(args->GetChoice("order", kOrders, 3, 0, &order));
  EXPECT_STREQ(args->error(),
               "order=backwards is not one of sequential|strided|random");
}

TEST(Args, ChoiceMustMatchWholeWord) {
  ArgsFor args("order=seq");
  size_t order = 0;
  EXPECT_FALSE(args->GetChoice("order", kOrders, 3, 0, &order));
}

TEST(Args, TextWithoutTerminatorIsAnError) {
  char text[8];
  std::memset(text, 'a', sizeof(text));
  Args args(text, sizeof(text));
  EXPECT_FALSE(args.ok());
}

TEST(Args, TooManyPairsIsAnError) {
  std::string text;
  for (size_t i = 0; i <= Args::kMaxPairs; ++i) {
    text += "k" + std::to_string(i) + "=1 ";
  }
  EXPECT_FALSE(ArgsFor(text)->ok());
}

TEST(Args, AfterAnErrorEveryReadFails) {
  ArgsFor args("broken");
  uint64_t value = 0;
  EXPECT_FALSE(args->GetOptionalU64("x", 0, 1, 0, &value));
  EXPECT_FALSE(args->CheckNoUnknownKeys());
}

TEST(ParseU64, AcceptsDecimalAndHex) {
  uint64_t value = 0;
  ASSERT_TRUE(ParseU64("0", 1, &value));
  EXPECT_EQ(value, 0u);
  ASSERT_TRUE(ParseU64("0xFFffFFffFFffFFff", 18, &value));
  EXPECT_EQ(value, UINT64_MAX);
  EXPECT_FALSE(ParseU64("0x", 2, &value));
  EXPECT_FALSE(ParseU64("", 0, &value));
}

}  // namespace
}  // namespace faultline::guest

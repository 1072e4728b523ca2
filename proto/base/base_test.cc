#include <fcntl.h>
#include <grpcpp/support/status.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/base/errno_status.h"
#include "proto/base/grpc_status.h"
#include "proto/base/quote.h"
#include "proto/base/secret_file.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline {
namespace {

using ::testing::HasSubstr;

absl::Status FailWhen(bool fail) {
  if (fail) return absl::InvalidArgumentError("told to fail");
  return absl::OkStatus();
}

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return absl::InvalidArgumentError("odd");
  return value / 2;
}

absl::Status ChainReturnIfError(bool fail, int* reached) {
  RETURN_IF_ERROR(FailWhen(fail));
  *reached = 1;
  return absl::OkStatus();
}

absl::StatusOr<int> Quarter(int value) {
  ASSIGN_OR_RETURN(int half, Half(value));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusMacros, ReturnIfErrorStopsAtFirstError) {
  int reached = 0;
  EXPECT_EQ(ChainReturnIfError(true, &reached).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(ChainReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacros, AssignOrReturnUnwrapsOrPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_EQ(Quarter(7).status().message(), "odd");
}

TEST(ErrnoStatus, CarriesCodeAndContext) {
  UniqueFd fd(::open("/nonexistent/faultline", O_RDONLY));
  absl::StatusOr<int> result = CheckSyscall(fd.get(), "open /nonexistent");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("open /nonexistent"));
}

TEST(ErrnoStatus, PassesSuccessThrough) {
  EXPECT_EQ(*CheckSyscall(3, "never fails"), 3);
}

TEST(GrpcStatus, RoundTripsEveryCode) {
  for (int code = 0; code <= 16; ++code) {
    absl::Status original(static_cast<absl::StatusCode>(code), "message");
    if (code == 0) original = absl::OkStatus();
    grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(ToAbslStatus(wire), original);
  }
}

TEST(GrpcStatus, OutOfRangeCodeBecomesUnknown) {
  grpc::Status odd(static_cast<grpc::StatusCode>(99), "strange");
  EXPECT_EQ(ToAbslStatus(odd).code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(ToAbslStatus(odd).message(), "strange");
}

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    UniqueFd first(raw);
    UniqueFd second(std::move(first));
    EXPECT_FALSE(first.valid());
    EXPECT_EQ(second.get(), raw);
  }
  struct stat st;
  EXPECT_EQ(::fstat(raw, &st), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(QuoteTest, EscapesAndCutsLongValues) {
  EXPECT_EQ(Quoted("vm\n0"), "\"vm\\n0\"");
  EXPECT_EQ(Quoted(std::string(128, 'a')), "\"" + std::string(128, 'a') + "\"");
  EXPECT_EQ(Quoted(std::string(20000, 'a')),
            "\"" + std::string(128, 'a') + "...\" (20000 bytes)");
  EXPECT_EQ(Quoted("abcdef", 3), "\"abc...\" (6 bytes)");
}

TEST(SecretFileTest, ReadsAPrivateFileAndRefusesOthers) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/secret_file_test.token";
  auto write = [&](const std::string& content, mode_t mode) {
    ::unlink(path.c_str());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    ::close(fd);
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  };
  write("0123456789abcdef0123\n", 0600);
  absl::StatusOr<std::string> secret = ReadSecretFile(path);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(*secret, "0123456789abcdef0123");
  write("0123456789abcdef0123\n", 0640);
  EXPECT_EQ(ReadSecretFile(path).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(ReadSecretFile(path).status().message()),
              HasSubstr("0640"));
  write("short\n", 0600);
  EXPECT_EQ(ReadSecretFile(path).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadSecretFile(dir + "/none").status().code(),
            absl::StatusCode::kNotFound);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace faultline

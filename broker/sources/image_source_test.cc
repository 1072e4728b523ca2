#include "broker/sources/image_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

std::unique_ptr<ImageSource> Source(const std::string& path,
                                    uint64_t file_offset) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(file.valid()) << path;
  return ImageSource::FromFile(std::move(file), path, file_offset);
}

TEST(ImageSourceTest, ReadsAtFileOffsetAndZeroFillsTail) {
  std::string content(v1::wire::kPageBytes + 100, 'a');
  content.replace(v1::wire::kPageBytes, 100, std::string(100, 'b'));
  std::string path = WriteFile("image_tail", content);
  auto source = Source(path, 0);

  v1::FaultAnswer first;
  source->Answer(0, &first);
  ASSERT_TRUE(first.has_page());
  EXPECT_EQ(first.page().data(), std::string(v1::wire::kPageBytes, 'a'));

  v1::FaultAnswer tail;
  source->Answer(v1::wire::kPageBytes, &tail);
  ASSERT_TRUE(tail.has_page());
  EXPECT_EQ(
      tail.page().data(),
      std::string(100, 'b') + std::string(v1::wire::kPageBytes - 100, '\0'));

  v1::FaultAnswer past_end;
  source->Answer(4 * v1::wire::kPageBytes, &past_end);
  EXPECT_TRUE(past_end.has_zero());
}

TEST(ImageSourceTest, FileOffsetShiftsTheRegion) {
  std::string content(v1::wire::kPageBytes, 'x');
  content += std::string(v1::wire::kPageBytes, 'y');
  std::string path = WriteFile("image_offset", content);
  auto source = Source(path, v1::wire::kPageBytes);
  v1::FaultAnswer answer;
  source->Answer(0, &answer);
  EXPECT_EQ(answer.page().data(), std::string(v1::wire::kPageBytes, 'y'));
}

TEST(ImageSourceTest, ReadFailureIsBusErrorNamingFileAndOffset) {
  // pread of /proc/self/mem at an unmapped address fails with EIO (the
  // opener refuses procfs files; a source built on one still reports).
  auto source = Source("/proc/self/mem", 0);
  v1::FaultAnswer answer;
  source->Answer(0, &answer);
  ASSERT_TRUE(answer.has_error());
  EXPECT_EQ(answer.error().kind(), v1::ERROR_KIND_BUS_ERROR);
  EXPECT_NE(answer.error().message().find("/proc/self/mem"), std::string::npos);
  EXPECT_NE(answer.error().message().find("file offset 0"), std::string::npos);
}

}  // namespace
}  // namespace faultline::broker

// Pages read from a file: region offset X is file byte file_offset + X.
// Pages at or past the end of the file are zero pages; the part of a page
// past the end is zero-filled. A failing read answers a bus error naming the
// file and the offset.
#ifndef FAULTLINE_BROKER_SOURCES_IMAGE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_IMAGE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/sources/source.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

class ImageSource : public PageSource {
 public:
  // Opens `path` read-only; fails (NOT_FOUND, PERMISSION_DENIED, ...) with
  // the path in the message when it cannot be opened.
  static absl::StatusOr<std::unique_ptr<ImageSource>> Create(
      const std::string& path, uint64_t file_offset);

  ImageSource(const ImageSource&) = delete;
  ImageSource& operator=(const ImageSource&) = delete;

  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override;
  std::string Describe() const override;

 private:
  ImageSource(UniqueFd fd, std::string path, uint64_t file_offset)
      : fd_(std::move(fd)), path_(std::move(path)), file_offset_(file_offset) {}

  const UniqueFd fd_;
  const std::string path_;
  const uint64_t file_offset_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_IMAGE_SOURCE_H_

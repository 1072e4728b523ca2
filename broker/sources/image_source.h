// Pages read from a file: region offset X is file byte file_offset + X.
// Pages at or past the end of the file are zero pages; the part of a page
// past the end is zero-filled. A failing read answers a bus error naming the
// file and the offset.
#ifndef FAULTLINE_BROKER_SOURCES_IMAGE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_IMAGE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "broker/sources/source.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

class ImageSource : public PageSource {
 public:
  // Pages of `file`, opened already (read-only, with the caller's rights:
  // image_open.h); `path` names it in messages.
  static std::unique_ptr<ImageSource> FromFile(UniqueFd file, std::string path,
                                               uint64_t file_offset);

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

#include "broker/sources/image_source.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/quote.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

std::unique_ptr<ImageSource> ImageSource::FromFile(UniqueFd file,
                                                   std::string path,
                                                   uint64_t file_offset) {
  return std::unique_ptr<ImageSource>(
      new ImageSource(std::move(file), std::move(path), file_offset));
}

void ImageSource::Answer(uint64_t offset, v1::FaultAnswer* answer) const {
  std::string page(v1::wire::kPageBytes, '\0');
  const uint64_t file_position = file_offset_ + offset;
  size_t filled = 0;
  while (filled < v1::wire::kPageBytes) {
    ssize_t n = RetryOnEintr([&] {
      return ::pread(fd_.get(), page.data() + filled,
                     v1::wire::kPageBytes - filled,
                     static_cast<off_t>(file_position + filled));
    });
    if (n < 0) {
      const int saved_errno = errno;
      auto* error = answer->mutable_error();
      error->set_kind(v1::ERROR_KIND_BUS_ERROR);
      error->set_message(absl::StrCat(
          "image ", Quoted(path_, kQuotedPathBytes),
          ": read of 4096 bytes at file offset ", file_position + filled,
          " failed: ", std::strerror(saved_errno),
          "; check the file and the disk under it"));
      return;
    }
    if (n == 0) break;  // End of file: the rest of the page stays zero.
    filled += static_cast<size_t>(n);
  }
  if (filled == 0) {
    answer->mutable_zero();
    return;
  }
  answer->mutable_page()->set_data(std::move(page));
}

std::string ImageSource::Describe() const {
  return absl::StrCat("image ", path_, "@", file_offset_);
}

}  // namespace faultline::broker

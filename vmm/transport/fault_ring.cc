#include "vmm/transport/fault_ring.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/fault_ring_codec.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace ring = ::faultline::v1::ring;

absl::Status Refuse(const std::string& path, const std::string& why) {
  return absl::FailedPreconditionError(
      absl::StrFormat("fault ring in %s: %s", path, why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultRing>> FaultRing::Map(
    const v1::StagingArea& area) {
  const std::string& path = area.path();
  if (!area.has_fault_ring()) return Refuse(path, "none was granted");
  const v1::FaultRing& grant = area.fault_ring();
  if (grant.layout_version() != ring::kLayoutVersion ||
      grant.size_bytes() != ring::kRingBytes ||
      grant.offset() % v1::wire::kPageBytes != 0) {
    return Refuse(path,
                  absl::StrFormat("layout %u of %u bytes at %u; this VMM maps "
                                  "layout %u of %u bytes at a page boundary",
                                  grant.layout_version(), grant.size_bytes(),
                                  grant.offset(), ring::kLayoutVersion,
                                  ring::kRingBytes));
  }
  UniqueFd file(
      RetryOnEintr([&] { return ::open(path.c_str(), O_RDWR | O_CLOEXEC); }));
  if (!file.valid()) return ErrnoError(absl::StrFormat("open %s", path));
  struct stat info;
  if (::fstat(file.get(), &info) != 0) {
    return ErrnoError(absl::StrFormat("stat %s", path));
  }
  if (static_cast<uint64_t>(info.st_size) < grant.offset() + ring::kRingBytes) {
    return Refuse(path,
                  absl::StrFormat("the file has only %d bytes", info.st_size));
  }
  void* base =
      ::mmap(nullptr, ring::kRingBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
             file.get(), static_cast<off_t>(grant.offset()));
  if (base == MAP_FAILED) return ErrnoError(absl::StrFormat("map %s", path));
  const auto* header = static_cast<const ring::Header*>(base);
  if (header->magic != ring::kMagic ||
      header->layout_version != ring::kLayoutVersion ||
      header->request_records != ring::kRequestRecords ||
      header->answer_records != ring::kAnswerRecords) {
    ::munmap(base, ring::kRingBytes);
    return Refuse(path, "its header does not match layout 1");
  }
  return std::unique_ptr<FaultRing>(
      new FaultRing(static_cast<char*>(base), ring::kRingBytes));
}

FaultRing::FaultRing(char* base, size_t bytes)
    : base_(base),
      bytes_(bytes),
      header_(reinterpret_cast<ring::Header*>(base)),
      requests_(
          reinterpret_cast<ring::RequestRecord*>(base + ring::kRequestsOffset),
          ring::kRequestRecords, &header_->request_tail, &header_->request_head,
          LoadShared(&header_->request_tail.value)),
      answers_(reinterpret_cast<const ring::AnswerRecord*>(
                   base + ring::kAnswersOffset),
               ring::kAnswerRecords, &header_->answer_tail,
               &header_->answer_head, LoadShared(&header_->answer_head.value)) {
}

FaultRing::~FaultRing() { ::munmap(base_, bytes_); }

absl::StatusOr<bool> FaultRing::Send(uint64_t generation,
                                     const v1::FaultRequest* fault,
                                     const std::vector<uint32_t>& released) {
  const size_t per = ring::kReleasesPerRecord;
  const size_t records = std::max<size_t>(1, (released.size() + per - 1) / per);
  absl::StatusOr<uint32_t> room = requests_.Room();
  if (!room.ok()) return room.status();
  if (*room < records) return false;
  const absl::Span<const uint32_t> all(released);
  for (size_t i = 0; i < records; ++i) {
    // The fault rides on the first record.
    requests_.Put(ring::EncodeRequest(generation, i == 0 ? fault : nullptr,
                                      all.subspan(i * per, per)));
  }
  requests_.Publish();
  return true;
}

absl::StatusOr<std::optional<v1::FaultAnswer>> FaultRing::TakeAnswer(
    uint64_t* generation) {
  ring::AnswerRecord record;
  absl::StatusOr<bool> took = answers_.Take(&record);
  if (!took.ok()) return took.status();
  if (!*took) return std::nullopt;
  absl::StatusOr<v1::FaultAnswer> answer =
      ring::DecodeAnswer(record, generation);
  if (!answer.ok()) return answer.status();
  return *std::move(answer);
}

void FaultRing::Break(const absl::Status& why) {
  absl::MutexLock lock(&mutex_);
  if (broken_.ok()) broken_ = why;
}

absl::Status FaultRing::broken() const {
  absl::MutexLock lock(&mutex_);
  return broken_;
}

}  // namespace faultline::vmm

#include "vmm/fault/prefetch_window.h"

#include <algorithm>

namespace faultline::vmm {

PrefetchWindow::PrefetchWindow(const PrefetchWindowOptions& options)
    : options_(options),
      size_(std::clamp(options.initial_pages, options.min_pages,
                       std::max(options.min_pages, options.max_pages))) {}

uint32_t PrefetchWindow::HintFor(uint64_t page) {
  absl::MutexLock lock(&mutex_);
  if (!options_.adaptive) return size_;
  // Followed: the guest walked through an answer's pages and faulted just
  // past them (strided walks land within a window length of the end).
  auto followed = std::find_if(
      recent_.begin(), recent_.end(), [page](const Answered& answered) {
        return page >= answered.end &&
               page < answered.end + std::max<uint64_t>(answered.length, 1);
      });
  if (followed != recent_.end()) {
    recent_.erase(followed);
    const uint32_t doubled = std::max<uint32_t>(size_ * 2, 1);
    if (doubled > size_ && size_ < options_.max_pages) ++grown_;
    size_ = std::min(doubled, options_.max_pages);
  } else if (!recent_.empty()) {
    // Elsewhere, with answers nobody followed: their pages sat untouched.
    if (size_ > options_.min_pages) ++shrunk_;
    size_ = std::max(size_ / 2, options_.min_pages);
  }
  return size_;
}

void PrefetchWindow::OnAnswered(uint64_t page, uint64_t end) {
  absl::MutexLock lock(&mutex_);
  if (!options_.adaptive) return;
  end = std::max(end, page + 1);
  recent_.push_back(Answered{end, end - page - 1});
  while (recent_.size() > options_.remembered_windows) recent_.pop_front();
}

uint32_t PrefetchWindow::size() const {
  absl::MutexLock lock(&mutex_);
  return size_;
}

uint64_t PrefetchWindow::grown() const {
  absl::MutexLock lock(&mutex_);
  return grown_;
}

uint64_t PrefetchWindow::shrunk() const {
  absl::MutexLock lock(&mutex_);
  return shrunk_;
}

}  // namespace faultline::vmm

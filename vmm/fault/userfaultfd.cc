#include "vmm/fault/userfaultfd.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

// Debian's uapi headers are 6.1; UFFDIO_POISON arrived in 6.6.
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFDIO_POISON
struct uffdio_poison {
  struct uffdio_range range;
  __u64 mode;
  __s64 updated;
};
#define UFFDIO_POISON _IOWR(UFFDIO, 0x08, struct uffdio_poison)
#endif

namespace faultline::vmm {
namespace {

absl::StatusOr<UniqueFd> OpenRaw() {
  const int flags = O_CLOEXEC | O_NONBLOCK;
  UniqueFd device(::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
  if (device.valid()) {
    const int fd = ::ioctl(device.get(), USERFAULTFD_IOC_NEW, flags);
    if (fd >= 0) return UniqueFd(fd);
  }
  const long fd = ::syscall(SYS_userfaultfd, flags);
  if (fd < 0) {
    return ErrnoError(
        "userfaultfd (needs /dev/userfaultfd access or "
        "vm.unprivileged_userfaultfd=1 or CAP_SYS_PTRACE)");
  }
  return UniqueFd(static_cast<int>(fd));
}

// The UFFDIO_API handshake may be done once per fd, so features are probed
// on a throwaway fd first.
absl::StatusOr<uint64_t> SupportedFeatures() {
  ASSIGN_OR_RETURN(UniqueFd probe, OpenRaw());
  uffdio_api api = {};
  api.api = UFFD_API;
  if (::ioctl(probe.get(), UFFDIO_API, &api) < 0) {
    return ErrnoError("UFFDIO_API probe");
  }
  return api.features;
}

std::string Range(uint64_t address, size_t length) {
  return absl::StrFormat("[%#x, +%#x)", address, length);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Userfaultfd>> Userfaultfd::Create() {
  ASSIGN_OR_RETURN(const uint64_t supported, SupportedFeatures());
  if ((supported & UFFD_FEATURE_THREAD_ID) == 0) {
    return absl::FailedPreconditionError(
        "userfaultfd lacks UFFD_FEATURE_THREAD_ID");
  }
  const bool has_poison = (supported & UFFD_FEATURE_POISON) != 0;
  const bool has_remap_events = (supported & UFFD_FEATURE_EVENT_REMAP) != 0;
  ASSIGN_OR_RETURN(UniqueFd fd, OpenRaw());
  uffdio_api api = {};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_THREAD_ID |
                 (has_poison ? UFFD_FEATURE_POISON : 0) |
                 (has_remap_events ? UFFD_FEATURE_EVENT_REMAP : 0);
  if (::ioctl(fd.get(), UFFDIO_API, &api) < 0) return ErrnoError("UFFDIO_API");
  return std::unique_ptr<Userfaultfd>(
      new Userfaultfd(std::move(fd), has_poison, has_remap_events));
}

absl::Status Userfaultfd::Register(void* address, size_t length) {
  uffdio_register reg = {};
  reg.range.start = reinterpret_cast<uint64_t>(address);
  reg.range.len = length;
  reg.mode = UFFDIO_REGISTER_MODE_MISSING;
  if (::ioctl(fd_.get(), UFFDIO_REGISTER, &reg) < 0) {
    return ErrnoError("UFFDIO_REGISTER " + Range(reg.range.start, length));
  }
  if ((reg.ioctls & (1ull << _UFFDIO_COPY)) == 0) {
    return absl::FailedPreconditionError("UFFDIO_COPY not offered for " +
                                         Range(reg.range.start, length));
  }
  return absl::OkStatus();
}

absl::Status Userfaultfd::ReplaceWithPlaceholder(uint64_t address,
                                                 size_t length) {
  void* target = reinterpret_cast<void*>(address);
  constexpr int kPlaceholderFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  if (!has_remap_events_) {
    // Without remap events an mremap would drop the registration: replace
    // and register in two steps (a touch in between gets a zero page).
    if (::mmap(target, length, PROT_READ | PROT_WRITE,
               MAP_FIXED | kPlaceholderFlags, -1, 0) == MAP_FAILED) {
      return ErrnoError("mmap placeholder " + Range(address, length));
    }
    return Register(target, length);
  }
  void* scratch =
      ::mmap(nullptr, length, PROT_READ | PROT_WRITE, kPlaceholderFlags, -1, 0);
  if (scratch == MAP_FAILED) {
    return ErrnoError("mmap placeholder " + Range(address, length));
  }
  if (absl::Status registered = Register(scratch, length); !registered.ok()) {
    ::munmap(scratch, length);
    return registered;
  }
  if (::mremap(scratch, length, length, MREMAP_MAYMOVE | MREMAP_FIXED,
               target) == MAP_FAILED) {
    const absl::Status failed =
        ErrnoError("mremap placeholder onto " + Range(address, length));
    ::munmap(scratch, length);
    return failed;
  }
  return absl::OkStatus();
}

absl::Status Userfaultfd::Unregister(void* address, size_t length) {
  uffdio_range range = {reinterpret_cast<uint64_t>(address), length};
  if (::ioctl(fd_.get(), UFFDIO_UNREGISTER, &range) < 0) {
    return ErrnoError("UFFDIO_UNREGISTER " + Range(range.start, length));
  }
  return absl::OkStatus();
}

absl::Status Userfaultfd::Copy(uint64_t destination, const void* source,
                               size_t length, bool wake) {
  size_t done = 0;
  while (done < length) {
    uffdio_copy copy = {};
    copy.dst = destination + done;
    copy.src = reinterpret_cast<uint64_t>(source) + done;
    copy.len = length - done;
    copy.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE;
    if (::ioctl(fd_.get(), UFFDIO_COPY, &copy) == 0) return absl::OkStatus();
    if (errno == EEXIST) {
      return absl::AlreadyExistsError("UFFDIO_COPY " +
                                      Range(destination, length));
    }
    // EAGAIN: the address space changed under us; the rest is retried.
    if (errno != EAGAIN) {
      return ErrnoError("UFFDIO_COPY " + Range(destination, length));
    }
    if (copy.copy > 0) done += static_cast<size_t>(copy.copy);
  }
  return absl::OkStatus();
}

absl::Status Userfaultfd::ZeroPage(uint64_t destination, size_t length,
                                   bool wake, size_t* zeroed) {
  size_t done = 0;
  if (zeroed != nullptr) *zeroed = 0;
  while (done < length) {
    uffdio_zeropage zero = {};
    zero.range.start = destination + done;
    zero.range.len = length - done;
    zero.mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE;
    if (::ioctl(fd_.get(), UFFDIO_ZEROPAGE, &zero) == 0) {
      done = length;
      break;
    }
    if (errno == EEXIST) {
      return absl::AlreadyExistsError("UFFDIO_ZEROPAGE " +
                                      Range(destination + done, length - done));
    }
    if (errno != EAGAIN) {
      return ErrnoError("UFFDIO_ZEROPAGE " + Range(destination, length));
    }
    // EAGAIN: part of the range is done (or the address space changed).
    if (zero.zeropage > 0) done += static_cast<size_t>(zero.zeropage);
    if (zeroed != nullptr) *zeroed = done;
  }
  if (zeroed != nullptr) *zeroed = done;
  return absl::OkStatus();
}

absl::Status Userfaultfd::Wake(uint64_t address, size_t length) {
  uffdio_range range = {address, length};
  if (::ioctl(fd_.get(), UFFDIO_WAKE, &range) < 0) {
    return ErrnoError("UFFDIO_WAKE " + Range(address, length));
  }
  return absl::OkStatus();
}

absl::Status Userfaultfd::Poison(uint64_t address, size_t length) {
  if (!has_poison_) {
    return absl::UnimplementedError("this kernel has no UFFDIO_POISON");
  }
  uffdio_poison poison = {};
  poison.range.start = address;
  poison.range.len = length;
  if (::ioctl(fd_.get(), UFFDIO_POISON, &poison) < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError("UFFDIO_POISON " +
                                      Range(address, length));
    }
    return ErrnoError("UFFDIO_POISON " + Range(address, length));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<UserFault>> Userfaultfd::ReadFaults(
    absl::Duration timeout, int wake_fd) {
  pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  const int timeout_ms = static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))), 0,
      60'000));
  const int ready = ::poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return std::vector<UserFault>();
    return ErrnoError("poll userfaultfd");
  }
  std::vector<UserFault> faults;
  if ((fds[0].revents & POLLIN) == 0) return faults;
  uffd_msg messages[64];
  const ssize_t bytes = ::read(fd_.get(), messages, sizeof(messages));
  if (bytes < 0) {
    if (errno == EAGAIN || errno == EINTR) return faults;
    return ErrnoError("read userfaultfd");
  }
  const size_t count = static_cast<size_t>(bytes) / sizeof(uffd_msg);
  for (size_t i = 0; i < count; ++i) {
    const uffd_msg& message = messages[i];
    if (message.event != UFFD_EVENT_PAGEFAULT) continue;
    UserFault fault;
    fault.address = message.arg.pagefault.address & ~uint64_t{4095};
    fault.write =
        (message.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0;
    fault.thread_id = message.arg.pagefault.feat.ptid;
    faults.push_back(fault);
  }
  return faults;
}

}  // namespace faultline::vmm

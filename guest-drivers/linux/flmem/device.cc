#include "guest-drivers/linux/flmem/device.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "guest-drivers/linux/flmem/frames.h"

namespace faultline::flmem {
namespace {

std::string ReadValue(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[256];
  const ssize_t got = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  if (got <= 0) return "";
  std::string value(buffer, static_cast<size_t>(got));
  while (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

void ReadFolder(const std::string& folder, const std::string& prefix, int depth,
                std::vector<std::pair<std::string, std::string>>* out) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    // Attributes of the driver core rather than of this driver.
    if (name == "." || name == ".." || name == "uevent" || name == "dev" ||
        name == "power") {
      continue;
    }
    const std::string path = folder + "/" + name;
    struct stat info;
    if (::lstat(path.c_str(), &info) != 0) continue;
    if (S_ISREG(info.st_mode) && (info.st_mode & S_IRUSR)) {
      out->emplace_back(prefix + name, ReadValue(path));
    } else if (S_ISDIR(info.st_mode) && depth > 0) {
      ReadFolder(path, prefix + name + "/", depth - 1, out);
    }
  }
  ::closedir(dir);
}

}  // namespace

std::unique_ptr<Mapping> Mapping::Open(const std::string& device,
                                       uint64_t first, uint64_t count,
                                       std::string* error) {
  const int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + device + ": " + std::strerror(errno);
    return nullptr;
  }
  void* base = ::mmap(nullptr, count * kPageBytes, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, static_cast<off_t>(first * kPageBytes));
  if (base == MAP_FAILED) {
    *error = "cannot map " + std::to_string(count) + " pages of " + device +
             " from page " + std::to_string(first) + ": " +
             std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<Mapping>(
      new Mapping(fd, static_cast<volatile uint64_t*>(base), count));
}

Mapping::~Mapping() {
  ::munmap(const_cast<uint64_t*>(base_), pages_ * kPageBytes);
  ::close(fd_);
}

std::string SysfsFolder(const std::string& device) {
  const size_t slash = device.rfind('/');
  return "/sys/class/misc/" +
         (slash == std::string::npos ? device : device.substr(slash + 1));
}

std::vector<std::pair<std::string, std::string>> ReadAttributes(
    const std::string& folder) {
  std::vector<std::pair<std::string, std::string>> attributes;
  ReadFolder(folder, "", 1, &attributes);
  std::sort(attributes.begin(), attributes.end());
  return attributes;
}

}  // namespace faultline::flmem

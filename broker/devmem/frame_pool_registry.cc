#include "broker/devmem/frame_pool_registry.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proto/base/quote.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

absl::Status ValidatePoolName(const std::string& pool) {
  bool ok = !pool.empty() && pool.size() <= 64 && pool[0] != '.';
  for (char c : pool) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      ok = false;
    }
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pool name ", Quoted(pool),
        " must be 1-64 characters of A-Z a-z 0-9 . _ - not starting "
        "with '.'"));
  }
  return absl::OkStatus();
}

std::string FramePoolRegistry::PathFor(const std::string& pool,
                                       const std::string& session_id,
                                       bool shared) const {
  if (shared) return absl::StrCat(dir_, "/faultline-", pool);
  return absl::StrCat(dir_, "/faultline-", pool, "-", session_id);
}

absl::StatusOr<std::shared_ptr<FramePool>> FramePoolRegistry::Acquire(
    const v1::DeviceSource& device, const std::string& session_id) {
  RETURN_IF_ERROR(ValidatePoolName(device.pool()));
  const bool shared = device.sharing() == v1::SHARING_SHARED;
  const v1::FramePolicy policy = device.policy() == v1::FRAME_POLICY_FIRST_TOUCH
                                     ? v1::FRAME_POLICY_FIRST_TOUCH
                                     : v1::FRAME_POLICY_IDENTITY;
  const std::string name =
      shared ? device.pool() : absl::StrCat(device.pool(), "@", session_id);

  absl::MutexLock lock(&mu_);
  auto it = pools_.find(name);
  if (it != pools_.end()) {
    const FramePool::Options& live = it->second.pool->options();
    if (live.frame_count != device.frame_count() || live.policy != policy) {
      return absl::FailedPreconditionError(absl::StrCat(
          "shared pool ", name, " is live with ", live.frame_count,
          " frames and policy ", v1::FramePolicy_Name(live.policy),
          "; this attach asks ", device.frame_count(), " frames and ",
          v1::FramePolicy_Name(policy), ": they must agree"));
    }
    it->second.session_ids.insert(session_id);
    return it->second.pool;
  }
  FramePool::Options options;
  options.name = name;
  options.path = PathFor(device.pool(), session_id, shared);
  options.frame_count = device.frame_count();
  options.policy = policy;
  options.sharing = shared ? v1::SHARING_SHARED : v1::SHARING_PRIVATE;
  options.remove_file_on_destruction = !shared;
  ASSIGN_OR_RETURN(std::unique_ptr<FramePool> created,
                   FramePool::Create(std::move(options)));
  Entry& entry = pools_[name];
  entry.pool = std::move(created);
  entry.session_ids.insert(session_id);
  return entry.pool;
}

void FramePoolRegistry::Release(const std::string& pool_name,
                                const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  auto it = pools_.find(pool_name);
  if (it == pools_.end()) return;
  it->second.session_ids.erase(session_id);
  if (it->second.session_ids.empty()) pools_.erase(it);
}

std::shared_ptr<FramePool> FramePoolRegistry::Find(
    const std::string& pool_name) const {
  absl::MutexLock lock(&mu_);
  auto it = pools_.find(pool_name);
  return it == pools_.end() ? nullptr : it->second.pool;
}

namespace {

// A file that is not there is a pool nobody has: NOT_FOUND naming both.
absl::Status NoSuchPool(const absl::Status& status, const std::string& name,
                        const std::string& path, bool creatable) {
  if (!absl::IsNotFound(status)) return status;
  return absl::NotFoundError(absl::StrCat(
      "no pool named ", Quoted(name), " (none is live and ", path,
      " does not exist",
      creatable ? "; set create_frame_count to create it" : "", ")"));
}

}  // namespace

absl::StatusOr<std::string> FramePoolRegistry::ReadFrames(
    const std::string& pool_name, uint64_t first, uint64_t count) const {
  if (count == 0 || count > (64u << 20) / v1::wire::kPageBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame count ", count, " must be between 1 and 16384 per read"));
  }
  if (auto pool = Find(pool_name)) return pool->ReadFrames(first, count);
  RETURN_IF_ERROR(ValidatePoolName(pool_name));
  const std::string path = PathFor(pool_name, "", true);
  absl::StatusOr<std::string> data = ReadPoolFile(path, first, count);
  if (!data.ok()) return NoSuchPool(data.status(), pool_name, path, false);
  return data;
}

absl::Status FramePoolRegistry::WriteFrames(const std::string& pool_name,
                                            uint64_t first,
                                            absl::string_view data,
                                            uint64_t create_frame_count) {
  if (auto pool = Find(pool_name)) return pool->WriteFrames(first, data);
  // Not live: the host is preparing a shared pool's frames before boot.
  RETURN_IF_ERROR(ValidatePoolName(pool_name));
  const std::string path = PathFor(pool_name, "", true);
  return NoSuchPool(WritePoolFile(path, first, data, create_frame_count),
                    pool_name, path, true);
}

std::vector<v1::PoolInfo> FramePoolRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::PoolInfo> pools;
  for (const auto& [name, entry] : pools_) {
    v1::PoolInfo info;
    info.set_pool(name);
    info.set_path(entry.pool->options().path);
    info.set_frame_count(entry.pool->options().frame_count);
    info.set_frames_in_use(entry.pool->frames_in_use());
    info.set_sharing(entry.pool->options().sharing);
    for (const auto& id : entry.session_ids) info.add_session_ids(id);
    pools.push_back(std::move(info));
  }
  return pools;
}

}  // namespace faultline::broker

#include "broker/policy/injection.h"

#include "absl/strings/str_cat.h"

namespace faultline::broker {

// An injected delay longer than this is a mistake, not a test.
constexpr uint64_t kMaxInjectedDelayUs = 60ull * 1000 * 1000;

absl::StatusOr<uint64_t> InjectionTable::Add(const v1::InjectionRule& rule) {
  switch (rule.action_case()) {
    case v1::InjectionRule::kRetry:
      break;
    case v1::InjectionRule::kError:
      break;
    case v1::InjectionRule::kDelayUs:
      if (rule.delay_us() == 0 || rule.delay_us() > kMaxInjectedDelayUs) {
        return absl::InvalidArgumentError(
            absl::StrCat("injected delay_us ", rule.delay_us(),
                         " must be between 1 and ", kMaxInjectedDelayUs));
      }
      break;
    case v1::InjectionRule::ACTION_NOT_SET:
      return absl::InvalidArgumentError(
          "injection rule needs an action: retry, error or delay_us");
  }
  if (rule.last_offset() < rule.first_offset()) {
    return absl::InvalidArgumentError(
        absl::StrCat("injection rule last_offset ", rule.last_offset(),
                     " is below first_offset ", rule.first_offset()));
  }
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  rules_[id] = rule;
  return id;
}

uint32_t InjectionTable::Clear(uint64_t rule_id) {
  absl::MutexLock lock(&mu_);
  if (rule_id == 0) {
    uint32_t cleared = rules_.size();
    rules_.clear();
    return cleared;
  }
  return rules_.erase(rule_id);
}

void InjectionTable::ClearSession(const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  for (auto it = rules_.begin(); it != rules_.end();) {
    if (it->second.session_id() == session_id) {
      it = rules_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<v1::InjectionRule> InjectionTable::Match(
    const std::string& session_id, uint32_t region_id, uint64_t offset) {
  absl::MutexLock lock(&mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    v1::InjectionRule& rule = it->second;
    if (rule.session_id() != session_id || rule.region_id() != region_id) {
      continue;
    }
    const bool whole_region =
        rule.first_offset() == 0 && rule.last_offset() == 0;
    if (!whole_region &&
        (offset < rule.first_offset() || offset > rule.last_offset())) {
      continue;
    }
    v1::InjectionRule matched = rule;
    if (rule.count() == 1) {
      rules_.erase(it);
    } else if (rule.count() > 1) {
      rule.set_count(rule.count() - 1);
    }
    return matched;
  }
  return std::nullopt;
}

}  // namespace faultline::broker

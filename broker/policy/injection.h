// Fault injection for tests: rules that make the next N faults of a
// session's region and page range answer retry or error, or be delayed.
//
// Thread-safe.
#ifndef FAULTLINE_BROKER_POLICY_INJECTION_H_
#define FAULTLINE_BROKER_POLICY_INJECTION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class InjectionTable {
 public:
  // Checks the rule's shape (an action set, a sane range); the caller
  // checked that the session and region exist. Returns the rule id.
  absl::StatusOr<uint64_t> Add(const v1::InjectionRule& rule)
      ABSL_LOCKS_EXCLUDED(mu_);
  // 0: every rule. Returns how many were removed.
  uint32_t Clear(uint64_t rule_id) ABSL_LOCKS_EXCLUDED(mu_);
  void ClearSession(const std::string& session_id) ABSL_LOCKS_EXCLUDED(mu_);

  // The first rule that matches the fault, with its count used up by one
  // (the rule goes when its count reaches zero). Oldest rule first.
  std::optional<v1::InjectionRule> Match(const std::string& session_id,
                                         uint32_t region_id, uint64_t offset)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Rules by id; remaining counts live in the rule's count (0 = unlimited).
  std::map<uint64_t, v1::InjectionRule> rules_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_POLICY_INJECTION_H_

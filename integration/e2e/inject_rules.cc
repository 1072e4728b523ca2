// Sets many retry injection rules on one session in one process. brokerctl
// sets one rule per run, and each run costs seconds inside the nested test
// host (process start and gRPC set-up under TCG); the retry case needs dozens
// of rules, each small enough that one fault's backoff stays short.
//
// inject_rules unix:SOCKET SESSION REGION COUNT REASON@FIRST-LAST...
//   REASON: interrupted, busy, not_yet_available or over_quota; FIRST and
//   LAST: region offsets (decimal or 0x hex), LAST inclusive. Each rule
//   answers the next COUNT faults in its range with that retry.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "proto/faultline/v1/broker.grpc.pb.h"

namespace {

namespace v1 = faultline::v1;

bool ParseNumber(const std::string& text, uint64_t* value) {
  if (text.empty() || text[0] == '-') return false;
  char* end = nullptr;
  *value = std::strtoull(text.c_str(), &end, 0);
  return end != nullptr && *end == '\0';
}

bool ParseReason(const std::string& text, v1::RetryReason* reason) {
  if (text == "interrupted") {
    *reason = v1::RETRY_REASON_INTERRUPTED;
  } else if (text == "busy") {
    *reason = v1::RETRY_REASON_BUSY;
  } else if (text == "not_yet_available") {
    *reason = v1::RETRY_REASON_NOT_YET_AVAILABLE;
  } else if (text == "over_quota") {
    *reason = v1::RETRY_REASON_OVER_QUOTA;
  } else {
    return false;
  }
  return true;
}

// "busy@0x800000-0x80f000" -> a rule; false if malformed.
bool ParseRule(const std::string& text, v1::InjectionRule* rule) {
  const size_t at = text.find('@');
  const size_t dash = text.find('-', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || dash == std::string::npos) return false;
  v1::RetryReason reason;
  uint64_t first = 0;
  uint64_t last = 0;
  if (!ParseReason(text.substr(0, at), &reason) ||
      !ParseNumber(text.substr(at + 1, dash - at - 1), &first) ||
      !ParseNumber(text.substr(dash + 1), &last) || last < first) {
    return false;
  }
  rule->set_first_offset(first);
  rule->set_last_offset(last);
  rule->mutable_retry()->set_reason(reason);
  rule->mutable_retry()->set_delay_hint_us(100);
  rule->mutable_retry()->set_detail("injected by the e2e retry case");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t region = 0;
  uint64_t count = 0;
  if (argc < 6 || !ParseNumber(argv[3], &region) ||
      !ParseNumber(argv[4], &count) || count == 0 || region > UINT32_MAX ||
      count > UINT32_MAX) {
    std::fprintf(stderr,
                 "usage: inject_rules unix:SOCKET SESSION REGION COUNT "
                 "REASON@FIRST-LAST...\n");
    return 2;
  }
  auto channel =
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::BrokerAdmin::Stub> admin =
      v1::BrokerAdmin::NewStub(channel);
  for (int i = 5; i < argc; ++i) {
    v1::InjectionRule rule;
    if (!ParseRule(argv[i], &rule)) {
      std::fprintf(stderr,
                   "inject_rules: bad rule '%s', want REASON@FIRST-LAST\n",
                   argv[i]);
      return 2;
    }
    rule.set_session_id(argv[2]);
    rule.set_region_id(static_cast<uint32_t>(region));
    rule.set_count(static_cast<uint32_t>(count));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::SetInjectionResponse response;
    const grpc::Status status = admin->SetInjection(&context, rule, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "inject_rules: rule '%s': %s\n", argv[i],
                   status.error_message().c_str());
      return 1;
    }
  }
  std::printf("inject_rules: set %d rules of %llu retries each\n", argc - 5,
              static_cast<unsigned long long>(count));
  return 0;
}

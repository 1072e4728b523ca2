// The value of `broker --store=redis://HOST:PORT[,HOST:PORT...]`: the seed
// nodes of a cluster, or one standalone server.
#ifndef FAULTLINE_BROKER_REDIS_STORE_URL_H_
#define FAULTLINE_BROKER_REDIS_STORE_URL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/redis/slot_map.h"

namespace faultline::broker::redis {

// INVALID_ARGUMENT, naming the part, for anything but redis:// and one or
// more HOST:PORT ([V6]:PORT too). Host names are resolved here, once (the
// client only connects to numeric addresses); NOT_FOUND for a name that
// does not resolve.
absl::StatusOr<std::vector<NodeAddress>> ParseStoreUrl(absl::string_view url);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_STORE_URL_H_

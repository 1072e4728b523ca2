// Which master serves each of the 16384 slots, as CLUSTER SLOTS reports it;
// a standalone server is a map with every slot on one node. Pure data: built
// from replies, so tests feed it made-up ones.
//
// Immutable after construction (the client swaps whole maps).
#ifndef FAULTLINE_BROKER_REDIS_SLOT_MAP_H_
#define FAULTLINE_BROKER_REDIS_SLOT_MAP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/reply.h"

namespace faultline::broker::redis {

struct NodeAddress {
  std::string host;  // numeric IPv4 or IPv6
  int port = 0;

  std::string ToString() const;
  bool operator==(const NodeAddress& other) const {
    return port == other.port && host == other.host;
  }
  bool operator!=(const NodeAddress& other) const { return !(*this == other); }
  bool operator<(const NodeAddress& other) const {
    return host != other.host ? host < other.host : port < other.port;
  }
};

// "HOST:PORT" or "[V6]:PORT"; the port 1-65535.
absl::StatusOr<NodeAddress> ParseNodeAddress(absl::string_view text);

class SlotMap {
 public:
  SlotMap() { owner_.assign(kSlotCount, -1); }

  // Every slot on `node`.
  static SlotMap Standalone(const NodeAddress& node);
  // From a CLUSTER SLOTS reply of node `asked` (whose host stands in for
  // an empty one). INVALID_ARGUMENT, naming the part, for a malformed reply.
  static absl::StatusOr<SlotMap> FromClusterSlots(const Reply& reply,
                                                  const NodeAddress& asked);

  bool standalone() const { return standalone_; }
  // The master of `slot`, or nullptr when no node serves it.
  const NodeAddress* MasterOf(int slot) const;
  // The same map with `slot` served by `node` (after a MOVED).
  SlotMap WithSlotOn(int slot, const NodeAddress& node) const;
  // Masters that serve at least one slot, and every node the map knows
  // (masters and replicas), each once.
  std::vector<NodeAddress> Masters() const;
  const std::vector<NodeAddress>& nodes() const { return nodes_; }
  int covered_slots() const;

 private:
  int IndexOf(const NodeAddress& node);

  bool standalone_ = false;
  std::vector<NodeAddress> nodes_;
  std::vector<int16_t> owner_;  // per slot, an index into nodes_ or -1
};

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_SLOT_MAP_H_

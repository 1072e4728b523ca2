#include "broker/redis/slot_map.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace faultline::broker::redis {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed CLUSTER SLOTS reply: ", what));
}

// One [host, port, id, ...] entry of a slot range.
absl::StatusOr<NodeAddress> NodeOf(const Reply& entry,
                                   const NodeAddress& asked) {
  if (entry.type != Reply::Type::kArray || entry.elements.size() < 2 ||
      entry.elements[0].type != Reply::Type::kString ||
      entry.elements[1].type != Reply::Type::kInteger) {
    return Malformed(absl::StrCat("a node entry is ", entry.Summary(),
                                  ", not [host, port, ...]"));
  }
  NodeAddress node;
  node.host = entry.elements[0].str;
  // An empty or "?" endpoint means "the address you reached me at".
  if (node.host.empty() || node.host == "?") node.host = asked.host;
  const long long port = entry.elements[1].integer;
  if (port <= 0 || port > 65535) {
    return Malformed(absl::StrCat("port ", port, " of ", node.host));
  }
  node.port = static_cast<int>(port);
  return node;
}

}  // namespace

std::string NodeAddress::ToString() const {
  if (host.find(':') != std::string::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<NodeAddress> ParseNodeAddress(absl::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not HOST:PORT"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port <= 0 ||
      port > 65535 || host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not HOST:PORT with a port from 1 to 65535"));
  }
  return NodeAddress{std::string(host), port};
}

SlotMap SlotMap::Standalone(const NodeAddress& node) {
  SlotMap map;
  map.standalone_ = true;
  map.nodes_.push_back(node);
  map.owner_.assign(kSlotCount, 0);
  return map;
}

int SlotMap::IndexOf(const NodeAddress& node) {
  auto it = std::find(nodes_.begin(), nodes_.end(), node);
  if (it != nodes_.end()) return static_cast<int>(it - nodes_.begin());
  nodes_.push_back(node);
  return static_cast<int>(nodes_.size() - 1);
}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(const Reply& reply,
                                                  const NodeAddress& asked) {
  if (reply.type != Reply::Type::kArray) {
    return Malformed(absl::StrCat("expected an array, got ", reply.Summary()));
  }
  SlotMap map;
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::kArray || range.elements.size() < 3 ||
        range.elements[0].type != Reply::Type::kInteger ||
        range.elements[1].type != Reply::Type::kInteger) {
      return Malformed(absl::StrCat("a range is ", range.Summary(),
                                    ", not [first, last, master, ...]"));
    }
    const long long first = range.elements[0].integer;
    const long long last = range.elements[1].integer;
    if (first < 0 || last < first || last >= kSlotCount) {
      return Malformed(absl::StrCat("slot range ", first, "-", last));
    }
    absl::StatusOr<NodeAddress> master = NodeOf(range.elements[2], asked);
    if (!master.ok()) return master.status();
    const int index = map.IndexOf(*master);
    for (size_t i = 3; i < range.elements.size(); ++i) {
      absl::StatusOr<NodeAddress> replica = NodeOf(range.elements[i], asked);
      if (!replica.ok()) return replica.status();
      map.IndexOf(*replica);
    }
    std::fill(map.owner_.begin() + first, map.owner_.begin() + last + 1,
              static_cast<int16_t>(index));
  }
  return map;
}

const NodeAddress* SlotMap::MasterOf(int slot) const {
  if (slot < 0 || slot >= kSlotCount || owner_[slot] < 0) return nullptr;
  return &nodes_[owner_[slot]];
}

SlotMap SlotMap::WithSlotOn(int slot, const NodeAddress& node) const {
  SlotMap map = *this;
  if (slot >= 0 && slot < kSlotCount) {
    map.owner_[slot] = static_cast<int16_t>(map.IndexOf(node));
  }
  return map;
}

std::vector<NodeAddress> SlotMap::Masters() const {
  std::vector<bool> serves(nodes_.size(), false);
  for (int16_t owner : owner_) {
    if (owner >= 0) serves[owner] = true;
  }
  std::vector<NodeAddress> masters;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (serves[i]) masters.push_back(nodes_[i]);
  }
  return masters;
}

int SlotMap::covered_slots() const {
  return static_cast<int>(std::count_if(owner_.begin(), owner_.end(),
                                        [](int16_t o) { return o >= 0; }));
}

}  // namespace faultline::broker::redis

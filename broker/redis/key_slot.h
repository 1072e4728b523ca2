// Redis Cluster's key-to-slot function: CRC16 (XMODEM) of the key, or of its
// hash tag, modulo 16384. Keys that share a tag share a slot, which is how a
// prefetch window's pages end up on one node.
#ifndef FAULTLINE_BROKER_REDIS_KEY_SLOT_H_
#define FAULTLINE_BROKER_REDIS_KEY_SLOT_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace faultline::broker::redis {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the cluster
// specification defines it.
uint16_t Crc16(absl::string_view data);

// The part of `key` that is hashed: the text between the first '{' and the
// first '}' after it when that text is not empty, otherwise the whole key.
absl::string_view HashTag(absl::string_view key);

// The slot of `key`, 0 to 16383.
int KeySlot(absl::string_view key);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_KEY_SLOT_H_

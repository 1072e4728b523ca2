#!/bin/sh
# Checks, from the host side, what the pcimem payload wrote through the PCI
# memory device: word 511 of each frame f holds "GUEST" + f
# (0x4755455354000000 | f). Seen here only if the guest's stores reached the
# broker's frames, i.e. the window mapped the frames rather than copies.
# Usage: check_pcimem_frames.sh FRAMES_FILE COUNT   (from brokerctl frames read)
set -eu
file=$1 count=$2
frame=0
while [ "$frame" -lt "$count" ]; do
  offset=$((frame * 4096 + 511 * 8))
  word=$(od -An -tx8 -j "$offset" -N8 "$file" | tr -d ' ')
  want=$(printf '47554553540000%02x' "$frame")
  if [ "$word" != "$want" ]; then
    echo "check_pcimem_frames: frame $frame word 511 is ${word:-missing}, want $want" >&2
    exit 1
  fi
  frame=$((frame + 1))
done
echo "check_pcimem_frames: the guest's signature is in all $count frames"

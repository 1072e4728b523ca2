#!/bin/bash
# Runs the static flmem binary against ordinary files standing in for the
# device: the commands, their output and exit statuses, a SIGBUS past the
# end of the file, and that the binary has no dynamic section.
set -euo pipefail
flmem=$1
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/flmem.XXXXXX")
trap 'rm -rf "$work"' EXIT
device=$work/device
truncate -s $((16 * 4096)) "$device"

fail() { echo "flmem_binary_test: $*" >&2; exit 1; }
# expect STATUS LINE-REGEX ARGS...: runs flmem, checks status and output.
expect() {
  local want=$1 pattern=$2 status=0
  shift 2
  "$flmem" "$@" >"$work/out" 2>&1 || status=$?
  if [[ $status -ne $want ]] || ! grep -Eq "$pattern" "$work/out"; then
    cat "$work/out" >&2
    fail "flmem $* exited $status (want $want) or printed no /$pattern/"
  fi
}

readelf -d "$flmem" | grep -q "There is no dynamic section" ||
  fail "flmem has a dynamic section"
readelf -l "$flmem" | grep -q INTERP && fail "flmem has an interpreter"

expect 0 '^flmem: pass fill: 16 pages' --device="$device" fill --count=16 \
  --pattern_seed=5 --pool_frames=8
expect 0 '^flmem: pass check: 16 pages from page 0, 0 words' \
  --device="$device" check --count=16 --pattern_seed=5 --pool_frames=8
expect 0 '^flmem: first touch: n=4 p50=' --device="$device" check --first=4 \
  --count=4 --pattern_seed=5 --pool_frames=8
expect 0 '^flmem: page 12 frame 4 first_touch_ns=' --device="$device" check \
  --first=12 --count=1 --pattern_seed=5 --pool_frames=8 --per_page
expect 1 '^flmem: fail check: 16 pages from page 0, 8192 words' \
  --device="$device" check --count=16 --pattern_seed=6
expect 0 '^flmem: pass sign: 16 pages' --device="$device" sign --count=16 \
  --pool_frames=8
expect 1 ', 16 words mismatched$' --device="$device" check --count=16 \
  --pattern_seed=5 --pool_frames=8
expect 0 '^flmem: pass check: .* 0 words' --device="$device" check \
  --count=16 --pattern_seed=5 --pool_frames=8 --signed
# The host reads the signature back: "GUEST" and frame 3 at word 511 of page 11.
[[ $(od -An -tx8 -j $((11 * 4096 + 511 * 8)) -N8 "$device" | tr -d ' ') == 4755455354000003 ]] ||
  fail "page 11 lacks frame 3's signature"
expect 0 '^flmem: pass share: two processes saw each other.s stores on all 16' \
  --device="$device" share --count=16
expect 0 '^flmem: pass check: .* 0 words' --device="$device" check \
  --count=16 --pattern_seed=5 --pool_frames=8 --signed
expect 0 '^flmem: signals: [1-9][0-9]* sent, [1-9][0-9]* handled' \
  --device="$device" touch --count=16 --threads=3 --seconds=1 \
  --signal_every_ms=10 --pattern_seed=5 --pool_frames=8
expect 0 'touches of 2 pages, [0-9]* slower than 250000us' --device="$device" \
  touch --count=2 --seconds=1 --slow_us=250000
expect 1 'no mark on page 0' --device="$device" touch --count=2 --seconds=1 \
  --mark_seed=99
expect 0 '^flmem: pass expect_sigbus: page 16 raised SIGBUS' \
  --device="$device" expect_sigbus --count=17 --page=16
expect 3 '^flmem: SIGBUS \(BUS_ADRERR\) at .* mapped page 16' \
  --device="$device" check --count=17 --pattern_seed=5 --pool_frames=8
expect 4 '^flmem: fail expect_sigbus: page 3 was read' --device="$device" \
  expect_sigbus --count=4 --page=3
expect 2 '^flmem: bad device: cannot open' --device="$work/none" share
expect 2 '^flmem: bad usage: unknown command' dance
expect 2 '^flmem: fail info: no attributes in /sys/class/misc/device' \
  --device="$device" info
expect 0 'expect_sigbus --page=P' --help
echo "flmem_binary_test: all commands behave"

#!/bin/sh
# Runs inside the Linux test guest (busybox sh, in the driver image's /bin):
# the guest's side of linux_driver_test. faultline_mem.ko is loaded at boot
# and has bound the PCI memory device; the host filled the broker's 64
# frames with pattern 5 and answers for the window's pages as driver_steps.py
# says. Prints "driver_checks: ..." lines (the host waits for some of them)
# and exits 0 when every check passed, 10+ at the first that failed.
#   driver_checks.sh   (no arguments)
set -u
say() { echo "driver_checks: $*"; }
fail() { say "FAIL: $2"; dmesg | grep faultline | tail -n 20; exit "$1"; }
sys=/sys/class/misc/faultline-mem0
attr() { cat "$sys/$1"; }
flmem() { /bin/flmem "$@"; }

[ -c /dev/faultline-mem0 ] || fail 10 "no /dev/faultline-mem0"
mode=$(attr mode)
say "bound: /dev/faultline-mem0, $(attr pages) pages, mode $mode"
[ "$mode" = events ] || fail 11 "mode is $mode, want events (page events by MSI)"

# 1. 64 pages the host filled, each first touch through both levels.
flmem check --count=64 --pattern_seed=5 --pool_frames=64 ||
  fail 12 "the host's frames are not what the guest reads"
# 2. The guest signs them; the host reads the signatures from the broker.
flmem sign --count=64 --pool_frames=64 || fail 13 "sign"
flmem check --count=64 --pattern_seed=5 --pool_frames=64 --signed ||
  fail 14 "the signatures did not stay"
say "signed 64 frames"
# 3. Two processes map the same frames and see each other's writes.
flmem share --count=64 || fail 15 "two processes do not share the frames"

# 4. The host revokes frames while two threads touch every page and
#    SIGUSR1 interrupts their waits; it marks page 0 once the frames are
#    back, which ends the touch.
before=$(attr retries_by_reason/revoked)
flmem touch --count=64 --threads=2 --seconds=240 --signal_every_ms=20 \
  --pattern_seed=5 --pool_frames=64 --mark_seed=77 &
touch_pid=$!
sleep 1
say "touching: revoke now"
wait "$touch_pid" || fail 16 "touch during revocations"
revoked=$(($(attr retries_by_reason/revoked) - before))
say "retries after revocations: $revoked; revocations acknowledged $(attr revocations); waits $(attr waits), retries $(attr retries), wait_signals $(attr wait_signals)"
[ "$revoked" -ge 1 ] || fail 17 "no VM_FAULT_RETRY counted for a revoked page"
[ "$(attr revocations)" -ge 1 ] || fail 18 "no revocation acknowledged"
# The host's mark replaced frame 0: give it back its pattern and signature.
restore() {
  flmem fill --first="$1" --count=1 --pattern_seed=5 --pool_frames=64 >/dev/null &&
    flmem sign --first="$1" --count=1 --pool_frames=64 >/dev/null
}
restore 0 || fail 33 "restoring frame 0"

# The revocation round trip as the guest sees it: one thread touches page
# 8 alone, no signals, while the host revokes it 4 times (each time once
# the VMM mapped it again) and then marks it. The touches slower than 5 ms
# are those waits (and the emulator's stalls): the zap, the
# acknowledgement, the VMM's unmap, then PREPARE and a new frame answer.
# The driver times each such wait (revoked_round_trip_us).
trips=$(attr revoked_round_trips) trip_us=$(attr revoked_round_trip_us)
say "round trip: revoke page 8 now"
flmem touch --first=8 --count=1 --seconds=240 --slow_us=5000 \
  --pattern_seed=5 --pool_frames=64 --mark_seed=78 ||
  fail 39 "touch of page 8 while the host revoked it"
trips=$(($(attr revoked_round_trips) - trips))
trip_us=$(($(attr revoked_round_trip_us) - trip_us))
[ "$trips" -ge 1 ] || fail 41 "no wait on the revoked page 8 ended with its frame"
say "round trips: $trips waits on revoked page 8 ended with its frame, $((trip_us / trips)) us each on average"
restore 8 || fail 40 "restoring frame 8"

# 5. The broker is SIGKILLed and started again while two processes touch
#    pages 64-95 for the first time (frames 0-31 again: the identity
#    policy). The host delays the broker's answers for those pages, kills
#    it while the processes wait in the driver, and only the new broker's
#    answers to the VMM's resent requests let them go on: every word must
#    be right.
say "restart: delay pages? waiting for the host"
read -r -t 300 line || fail 34 "the host did not answer"
say "host: $line"
flmem check --first=64 --count=16 --pattern_seed=5 --pool_frames=64 --signed &
first_half=$!
flmem check --first=80 --count=16 --pattern_seed=5 --pool_frames=64 --signed &
second_half=$!
wait "$first_half" || fail 35 "pages 64-79 across the broker's restart"
wait "$second_half" || fail 36 "pages 80-95 across the broker's restart"
say "the broker restarted under the touches: 32 pages right"

# 6. Page 100: the broker answers retry (not yet available) for longer
#    than wait_ms; page 101: the broker answers error. Each is SIGBUS for
#    the process that touches it, and the guest goes on.
say "injected? waiting for the host"
read -r -t 300 line || fail 19 "the host did not answer"
say "host: $line"
echo 1500 > /sys/module/faultline_mem/parameters/wait_ms
flmem expect_sigbus --first=100 --count=1 --page=0 || fail 20 "no SIGBUS after wait_ms"
# The driver logs the page's state and the broker's reason as words.
dmesg | grep "faultline-mem0: page 100 " | tail -n 1
dmesg | grep -q "faultline-mem0: page 100 still has no frame after wait_ms (pending, not yet available): SIGBUS for flmem" ||
  fail 37 "the retry's reason is not in the kernel log"
[ "$(attr sigbus_timeout)" -ge 1 ] || fail 21 "sigbus_timeout not counted"
[ "$(attr retries_by_reason/not_yet_available)" -ge 1 ] ||
  [ "$(attr broker_retries/not_yet_available)" -ge 1 ] ||
  fail 22 "the broker's retry reason was not counted"
flmem expect_sigbus --first=101 --count=1 --page=0 || fail 23 "no SIGBUS for an error answer"
dmesg | grep "faultline-mem0: page 101 " | tail -n 1
dmesg | grep -q "faultline-mem0: page 101 has no frame: the broker answered error (error, bus error): SIGBUS for flmem" ||
  fail 24 "the error's kind is not in the kernel log"
[ "$(attr errors/bus_error)" -ge 1 ] || fail 25 "errors/bus_error not counted"
flmem check --count=64 --pattern_seed=5 --pool_frames=64 --signed >/dev/null ||
  fail 26 "the other pages broke"
say "SIGBUS for the process only; the guest goes on"
flmem info

# 7. rmmod is refused while mapped, works without; binding again works.
# The binary itself, not the flmem function: $! must be its pid to kill.
/bin/flmem touch --count=1 --seconds=600 >/dev/null &
touch_pid=$!
for _ in $(seq 600); do
  [ "$(attr mappings)" -ge 1 ] && break
  sleep 0.1
done
[ "$(attr mappings)" -ge 1 ] || fail 38 "flmem touch did not map the device in 60 s"
if rmmod faultline_mem 2>/dev/null; then fail 27 "rmmod while mapped"; fi
say "rmmod refused while mapped"
kill "$touch_pid"
wait "$touch_pid"
rmmod faultline_mem || fail 28 "rmmod"
[ ! -e /dev/faultline-mem0 ] || fail 29 "/dev/faultline-mem0 stayed"
insmod /lib/modules/faultline_mem.ko || fail 30 "insmod again"
[ "$(attr mode)" = events ] || fail 31 "rebound in mode $(attr mode)"
flmem check --count=64 --pattern_seed=5 --pool_frames=64 --signed ||
  fail 32 "the frames after binding again"
say "rmmod and rebinding work"
say "all checks passed"

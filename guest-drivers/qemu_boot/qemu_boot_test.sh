#!/usr/bin/env bash
# Boots each payload under plain QEMU (TCG) through the boot shim and checks
# its exit status and final RESULT line: passes, mismatches the checks must
# catch, bad parameters, an absent device, one vCPU too few, and a CPU
# exception. Usage: qemu_boot_test.sh SHIM RAMTOUCH PCIMEM MEMWORK SMP CPU_EXCEPTION
set -uo pipefail

readonly SHIM=$1 RAMTOUCH=$2 PCIMEM=$3 MEMWORK=$4 SMP=$5 CPU_EXCEPTION=$6
readonly WORK=${TEST_TMPDIR:-$(mktemp -d)}
QEMU=$(command -v qemu-system-x86_64) || {
  echo "qemu-system-x86_64 not found: run tools/setup (package qemu-system-x86)"
  exit 1
}
failures=0
case_number=0

# boot NAME PAYLOAD "PAYLOAD ARGS" "SHIM ARGS" CPUS EXPECTED_STATUS EXPECTED_TEXT
boot() {
  local name=$1 payload=$2 args=$3 shim_args=$4 cpus=$5 expected=$6 text=$7
  case_number=$((case_number + 1))
  local serial="$WORK/serial.$case_number.log"
  # QEMU splits -initrd at commas and takes the file name up to a space.
  cp -L "$payload" "$WORK/payload.$case_number"
  timeout 120 "$QEMU" -accel tcg -cpu max -m 128M -smp "$cpus" \
    -display none -nographic -no-reboot -monitor none \
    -kernel "$SHIM" -append "vcpus=$cpus $shim_args" \
    -initrd "$WORK/payload.$case_number $args" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -serial "file:$serial" </dev/null >"$WORK/qemu.$case_number.log" 2>&1
  local rc=$?
  # isa-debug-exit turns the guest's value v into QEMU's status 2v+1.
  local status=-1
  ((rc % 2 == 1)) && status=$(((rc - 1) / 2))
  local last
  last=$(tr -d '\r' <"$serial" | grep -a . | tail -n 1)
  if ((status != expected)); then
    echo "FAIL $name: status $status (QEMU $rc), expected $expected"
    tr -d '\r' <"$serial" | grep -a . | tail -n 15 | sed 's/^/    /'
    failures=$((failures + 1))
  elif [[ "$last" != RESULT:* || "$last" != *"$text"* ]]; then
    echo "FAIL $name: last line '$last' lacks 'RESULT:' or '$text'"
    failures=$((failures + 1))
  else
    echo "ok   $name: $last"
  fi
}

boot memwork "$MEMWORK" "mib=4" "" 1 0 "pass memwork: mib=4 checksum=0x"
boot ramtouch-random-both "$RAMTOUCH" "order=random access=both seed=7" \
  "pattern_seed=11" 4 0 "pass ramtouch: 15993 pages order=random access=both vcpus=4"
boot ramtouch-strided-read "$RAMTOUCH" "order=strided stride=33" \
  "pattern_seed=12" 2 0 "pass ramtouch: 15993 pages order=strided access=read"
boot ramtouch-write "$RAMTOUCH" "access=write pattern_seed=3" "" 1 0 \
  "pass ramtouch: 15993 pages order=sequential access=write"
# Zeroed RAM is not the pattern: every page must be caught.
boot ramtouch-catches-mismatch "$RAMTOUCH" "pattern_seed=3" "" 2 1 \
  "fail ramtouch: 15993 of 15993 pages mismatched"
boot ramtouch-bad-order "$RAMTOUCH" "order=sideways" "pattern_seed=1" 1 2 \
  "bad parameters: order=sideways is not one of sequential|strided|random"
boot ramtouch-unknown-key "$RAMTOUCH" "strid=4" "pattern_seed=1" 1 2 \
  "bad parameters: unknown argument 'strid'"
boot ramtouch-no-pattern "$RAMTOUCH" "" "" 1 2 "bad environment: no pattern_seed"
boot smp "$SMP" "" "pattern_seed=5" 2 0 "pass smp: 2 vCPUs"
boot smp-one-vcpu "$SMP" "" "pattern_seed=5" 1 2 "needs at least 2 vCPUs, has 1"
boot pcimem-absent "$PCIMEM" "host_seed=1 pool_frames=8" "" 1 2 \
  "PCI memory device fa17:0001 not found on bus 0"
boot pcimem-missing-args "$PCIMEM" "host_seed=1" "" 1 2 \
  "missing required argument pool_frames=N"
boot cpu-exception "$CPU_EXCEPTION" "" "" 2 3 \
  "cpu exception on vCPU 0: page fault (vector 14)"

if ((failures > 0)); then
  echo "$failures of $case_number boots failed"
  exit 1
fi
echo "all $case_number boots behaved"

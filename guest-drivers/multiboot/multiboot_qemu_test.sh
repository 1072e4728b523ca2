#!/usr/bin/env bash
# Boots the multiboot test kernels under plain QEMU (TCG): the reference
# behaviour `vmm --kernel` must match (integration/e2e runs them there).
# Usage: multiboot_qemu_test.sh MB_ARGS MB_SMP MODULE
set -uo pipefail
readonly MB_ARGS=$1 MB_SMP=$2 MODULE=$3
readonly WORK=${TEST_TMPDIR:-$(mktemp -d)}
QEMU=$(command -v qemu-system-x86_64) || { echo "no qemu-system-x86_64: run tools/setup"; exit 1; }
failures=0

# boot NAME WANT_STATUS WANT_TEXT QEMU_ARGS...
boot() {
  local name=$1 want=$2 text=$3
  shift 3
  timeout 120 "$QEMU" -accel tcg -m 64M -display none -nographic -no-reboot \
    -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -serial "file:$WORK/$name.log" "$@" </dev/null >"$WORK/$name.qemu" 2>&1
  local status=$?
  if [[ $status -ne $want ]] || ! grep -qF "$text" "$WORK/$name.log"; then
    echo "FAIL $name: QEMU status $status (want $want), serial:"
    sed 's/^/    /' "$WORK/$name.log"
    failures=$((failures + 1))
  else
    echo "ok   $name: $(grep -F RESULT "$WORK/$name.log")"
  fi
}

cp "$MODULE" "$WORK/module.txt"
# status=3: QEMU exits (3 << 1) | 1 = 7.
boot mb_args 7 "RESULT: pass mb_args: module arg=5, exiting with status=3" \
  -kernel "$MB_ARGS" -append "status=3" -initrd "$WORK/module.txt arg=5"
boot mb_smp 1 "RESULT: pass mb_smp: 2 CPUs up through INIT/SIPI" \
  -smp 2 -kernel "$MB_SMP"
boot mb_smp_one 199 "needs at least 2 CPUs" -kernel "$MB_SMP"
((failures == 0)) || exit 1
echo "PASS"

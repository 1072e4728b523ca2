#!/bin/bash
# Loads the module in the nested test host, whose kernel is the guest's
# (Debian 6.12.117): insmod, the PCI driver registered, the wait_ms
# parameter, rmmod and a second load, flmem's answer with no device bound,
# and no kernel warning. Always in the test host: this machine's own kernel
# is another.
set -uo pipefail
readonly RUNFILES="${TEST_SRCDIR:?run me with bazel test}/faultline"
testhost=$RUNFILES/integration/testhost/testhost
ko=$(readlink -f "$RUNFILES/guest-drivers/linux/faultline_mem.ko")
flmem=$(readlink -f "$RUNFILES/guest-drivers/linux/flmem/flmem")

out=$("$testhost" run --where=testhost --timeout=300s -- /bin/sh -c "
  fail() { echo \"module_load: FAILED: \$*\"; exit 1; }
  insmod $ko wait_ms=2000 || fail insmod
  [ -d /sys/bus/pci/drivers/faultline-mem ] || fail 'no PCI driver'
  [ \"\$(cat /sys/module/faultline_mem/parameters/wait_ms)\" = 2000 ] ||
    fail 'wait_ms not set'
  echo 4000 > /sys/module/faultline_mem/parameters/wait_ms || fail 'wait_ms not writable'
  $flmem share > /tmp/flmem.out; status=\$?
  grep -q 'cannot open /dev/faultline-mem0' /tmp/flmem.out && [ \$status = 2 ] ||
    fail \"flmem without a device: status \$status, \$(cat /tmp/flmem.out)\"
  rmmod faultline_mem || fail rmmod
  [ ! -d /sys/module/faultline_mem ] || fail 'still loaded'
  insmod $ko || fail 'insmod again'
  rmmod faultline_mem || fail 'rmmod again'
  if dmesg | grep -E 'WARNING|BUG|Oops|Call Trace'; then
    fail 'kernel log'
  fi
  echo module_load: loaded, unloaded and loaded again
")
status=$?
echo "$out"
[[ $status -eq 0 ]] || { echo "FAIL: testhost exited $status" >&2; exit 1; }
grep -q '^module_load: loaded, unloaded and loaded again' <<<"$out" ||
  { echo "FAIL: no success line" >&2; exit 1; }

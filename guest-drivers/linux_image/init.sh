#!/bin/busybox sh
# PID 1 of faultline's Linux test guest (guest-drivers/linux_image). Mounts
# the basics, prints the init marker, loads the image's kernel modules, runs
# what the kernel command line asks, reports its status to the VMM and ends
# the VM the way the command line says.
#
# Kernel command line (the kernel hands unknown key=value words to init as
# environment variables; quote values with spaces):
#   fl_run="CMD"       a shell command to run; without it, an interactive
#                      shell on the console (a person types into it)
#   fl_end=poweroff    how to end afterwards: poweroff (the default) or
#                      reboot; both end the VM (vmm/README.md)
# Output: "fl-init: started" once user space runs, then the command's
# output, then "fl-init: status N" and a "RESULT: pass|fail" line.
# The status goes to the VMM's status latch (1-byte write to port 0xF4,
# proto/pc_machine.h), so the VMM exits with it after the power off or
# reboot.
/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "fl-init: started"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run

status=0
# Modules in the order the image lists them (linux_image.bzl).
if [ -r /etc/fl-modules ]; then
  while read -r module; do
    [ -n "$module" ] || continue
    if ! insmod "/lib/modules/$module"; then
      echo "fl-init: insmod $module failed"
      status=1
    fi
  done </etc/fl-modules
fi

if [ "$status" -eq 0 ]; then
  if [ -n "${fl_run:-}" ]; then
    echo "fl-init: running: $fl_run"
    sh -c "$fl_run"
    status=$?
  else
    echo "fl-init: no fl_run on the command line: a shell on the console" \
         "(exit it to end the VM)"
    setsid cttyhack sh
    status=$?
  fi
fi

echo "fl-init: status $status"
if [ "$status" -eq 0 ]; then
  echo "RESULT: pass fl-init: status 0"
else
  echo "RESULT: fail fl-init: status $status"
fi
# The status latch: one byte at port 0xF4 (244).
printf "\\$(printf '%03o' $((status & 255)))" |
  dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null ||
  echo "fl-init: could not report the status to the VMM"
sync
case "${fl_end:-poweroff}" in
  reboot) reboot -f ;;
  *) poweroff -f ;;
esac
# Neither returned: exiting PID 1 panics, and panic=-1 reboots.
exit "$status"

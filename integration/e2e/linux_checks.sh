#!/bin/sh
# Runs inside the Linux test guest (in the e2e image's /bin, busybox sh): the
# guest's side of the Linux end-to-end cases. Prints what it sees; exits
# non-zero (10+) when a check fails, else with the status the case asked
# for, which init.sh reports to the VMM.
#   linux_checks.sh machine STATUS ONLINE   the vCPUs online are ONLINE, the
#                  PCI memory device is on bus 0 with the VMM's BAR, and a
#                  line typed into the console arrives
#   linux_checks.sh boot STATUS             just the uptime
set -u
say() { echo "linux_checks: $*"; }

case "${1:-}" in
  machine)
    online=$(cat /sys/devices/system/cpu/online)
    say "cpus online: $online"
    [ "$online" = "$3" ] || { say "want $3 online"; exit 10; }
    say "pci devices: $(ls /sys/bus/pci/devices | tr '\n' ' ')"
    dev=/sys/bus/pci/devices/0000:00:01.0
    id="$(cat $dev/vendor 2>/dev/null):$(cat $dev/device 2>/dev/null)"
    [ "$id" = "0xfa17:0x0001" ] || { say "no PCI memory device at 00:01.0 ($id)"; exit 11; }
    bar0=$(head -n 1 $dev/resource | cut -d' ' -f1)
    say "PCI memory device $id, BAR0 at $bar0"
    [ "$bar0" = "0x00000000c0000000" ] || { say "BAR0 moved"; exit 12; }
    say "waiting for a line on the console"
    if ! read -r -t 600 line; then say "nothing typed"; exit 13; fi
    say "read '$line'"
    [ "$line" = "hello from the host" ] || exit 14
    exit "$2"
    ;;
  boot)
    say "up $(cut -d' ' -f1 /proc/uptime) s"
    exit "$2"
    ;;
  *)
    say "usage: linux_checks.sh machine STATUS ONLINE | boot STATUS"
    exit 2
    ;;
esac

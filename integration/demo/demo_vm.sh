#!/bin/bash
# The demo's inside part, run where /dev/kvm exists (tools/demo runs it
# through integration/testhost): starts a broker in a fresh work folder, fills
# a shared device frame pool, runs three VMs whose memory the broker serves
# (ramtouch over pattern RAM; pcimem on the PCI memory device; Linux booting
# to its init on zero pages, its flmem mapping the same frames through the
# guest driver), reads the frames back through the broker, and prints the
# summary table. Everything it
# starts is stopped and its work folder removed on every way out.
#
# demo_vm.sh --bin=DIR [--out=DIR] [--ram=64M]
#   --bin: a folder with broker, brokerctl, vmm, ramtouch, pcimem,
#          vmlinuz and flmem_image.cpio (the Linux guest, with the
#          guest driver and flmem),
#          check_pcimem_frames.sh and summary.py (tools/demo copies them);
#   --out: where the logs and statistics are kept for the caller (default:
#          $TESTHOST_RESULTS, the test host's results folder, if set).
set -euo pipefail

bin="" out=${TESTHOST_RESULTS:-} ram=64M
for arg in "$@"; do
  case "$arg" in
    --bin=*) bin=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    --ram=*) ram=${arg#*=} ;;
    *) echo "demo_vm: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
[[ -d "$bin" ]] || { echo "demo_vm: --bin must be a folder" >&2; exit 2; }
[[ -z "$out" || -d "$out" ]] || { echo "demo_vm: --out must be a folder" >&2; exit 2; }

readonly READY_TIMEOUT=30 VMM_TIMEOUT=600 POOL=demo POOL_FRAMES=8 HOST_SEED=5
work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-demo-XXXXXX")
socket="$work/broker.sock"
broker_pid=""

say() { echo "demo: $*"; }

cleanup() {
  if [[ -n "$broker_pid" ]]; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
  fi
  [[ -z "$out" ]] || cp "$work"/*.log "$work"/*.json "$out"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "demo: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [[ -s "$log" ]] && { echo "----- $(basename "$log")"; tail -n 20 "$log"; } >&2
  done
  exit 1
}

brokerctl() { "$bin/brokerctl" --broker="unix:$socket" --timeout=10s "$@"; }

say "starting the broker on $socket"
mkdir "$work/device_memory"
"$bin/broker" --socket="$socket" --device_memory_dir="$work/device_memory" \
  >"$work/broker_stdout.log" 2>"$work/broker.log" &
broker_pid=$!
deadline=$((SECONDS + READY_TIMEOUT))
until grep -qxF "broker: serving on unix:$socket" "$work/broker_stdout.log"; do
  kill -0 "$broker_pid" 2>/dev/null || fail "the broker exited before it was ready"
  ((SECONDS < deadline)) || fail "the broker was not ready within ${READY_TIMEOUT}s"
  sleep 0.2
done

# run_vm NAME VMM_FLAGS...: one VM, its log and statistics in $work.
run_vm() {
  local name=$1 status=0
  shift
  timeout --kill-after=5 "$VMM_TIMEOUT" "$bin/vmm" \
    --broker="unix:$socket" --vm_name="demo-$name" \
    --serial="$work/$name-serial.log" --stats_json="$work/$name-stats.json" \
    "$@" >"$work/$name-vmm.log" 2>&1 || status=$?
  if [[ $status -eq 124 || $status -eq 137 ]]; then
    fail "the $name VM did not finish within ${VMM_TIMEOUT}s"
  fi
  [[ $status -eq 0 ]] || fail "the $name VM exited with status $status: $(grep -h RESULT "$work/$name-serial.log" || tail -n 3 "$work/$name-vmm.log")"
  say "  $(grep -h 'RESULT:' "$work/$name-serial.log" | tail -n 1)"
}

say "VM 1: ramtouch reads all $ram of its RAM; every page comes from the broker's"
say "  pattern source on first touch and every word is checked (1-3 minutes"
say "  under nested virtualization)"
run_vm ramtouch --guest="$bin/ramtouch" --memory="$ram" --ram_source=pattern:42

say "VM 2: pcimem uses the PCI memory device; the host fills $POOL_FRAMES device frames"
say "  through the broker first, the guest maps them (no copy), checks them and signs them"
brokerctl frames write "$POOL" 0 --pattern_seed="$HOST_SEED" --count="$POOL_FRAMES" \
  --create_frames="$POOL_FRAMES" \
  >>"$work/brokerctl.log" 2>&1 || fail "brokerctl frames write failed"
run_vm pcimem --guest="$bin/pcimem" --memory=16M --pcimem=64K --pcimem_pool="$POOL" \
  --pcimem_frames="$POOL_FRAMES" --pcimem_sharing=shared \
  --guest_args="host_seed=$HOST_SEED pool_frames=$POOL_FRAMES"
brokerctl frames read "$POOL" 0 "$POOL_FRAMES" --out="$work/frames.bin" \
  >>"$work/brokerctl.log" 2>&1 || fail "brokerctl frames read failed"
frames_check=$("$bin/check_pcimem_frames.sh" "$work/frames.bin" "$POOL_FRAMES" 2>&1) \
  || fail "the guest's writes are not in the broker's frames: $frames_check"
say "  read back through the broker: ${frames_check#check_pcimem_frames: }"

say "VM 3: Debian's Linux kernel boots to its init with 2 vCPUs; every RAM page the"
say "  loader did not install is a zero page from the broker on first touch (2-4 minutes"
say "  under nested virtualization). faultline_mem.ko binds the same PCI memory device;"
say "  flmem maps the $POOL_FRAMES frames the host filled and VM 2 signed, and checks every"
say "  word: each first touch is the driver's fault, the VMM's request and the broker's"
say "  frame, mapped without a copy at either level"
run_vm linux --kernel="$bin/vmlinuz" --initrd="$bin/flmem_image.cpio" \
  --memory=128M --vcpus=2 --serial_input=none --pcimem=64K --pcimem_pool="$POOL" \
  --pcimem_frames="$POOL_FRAMES" --pcimem_sharing=shared \
  --cmdline="console=ttyS0 earlyprintk=serial reboot=k panic=-1 nokaslr quiet pci=noearly fl_run=\"echo hello from Linux, \$(nproc) CPUs, \$(uname -r) && flmem check --count=$POOL_FRAMES --pattern_seed=$HOST_SEED --pool_frames=$POOL_FRAMES --signed && flmem info\""
say "  $(grep -h 'hello from Linux' "$work/linux-serial.log" | grep -v running | tail -n 1)"
say "  $(grep -h 'flmem: pass check' "$work/linux-serial.log" | tail -n 1)"

brokerctl --json stats >"$work/broker_stats.json" 2>>"$work/brokerctl.log" \
  || fail "brokerctl stats failed"
echo
/usr/bin/python3 "$bin/summary.py" --broker_stats="$work/broker_stats.json" \
  "ramtouch ($ram pattern RAM)=$work/ramtouch" "pcimem (PCI memory device)=$work/pcimem" \
  "Linux (128 MiB, 2 vCPUs)=$work/linux" \
  || fail "could not print the summary"

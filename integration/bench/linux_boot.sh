#!/usr/bin/env bash
# The Linux boot benchmark, run where KVM can boot Linux (inside the nested
# test host here): Debian's 6.12 kernel with the project's initramfs boots
# to its init ("fl-init: started") and powers off, with RAM served lazily
# by the broker (zero pages, fault by fault, the kernel's prefetch default)
# and preloaded before the vCPUs start (vmm --preload_ram), at each RAM
# size. Per boot: VMM wall time to the init marker and to exit, the VMM's
# time from starting the vCPUs to user-space output, faults by answer kind,
# prefetched pages, pages loaded before start, pages per second. Writes a
# Markdown table to $TESTHOST_RESULTS/linux_boot.md and stdout.
# Usage: linux_boot.sh BROKER VMM KERNEL INITRD [RUNS] [SIZES]
#   SIZES: comma-separated, default 128M,512M
set -uo pipefail

broker=$1 vmm=$2 kernel=$3 initrd=$4
runs=${5:-1} sizes=${6:-128M,512M}
out="${TESTHOST_RESULTS:-.}/linux_boot.md"
readonly CMDLINE='console=ttyS0 earlyprintk=serial reboot=k panic=-1 nokaslr quiet pci=noearly fl_run=true'

bench_name=linux_boot
# shellcheck source=bench_broker.sh
source "$(dirname "$(realpath "$0")")/bench_broker.sh"

# A number from the stats JSON: json KEY PATH (python3, as the e2e steps).
json() {
  /usr/bin/python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d if d is not None else "-")' "$1" "$2"
}

# One boot; prints the table row's cells.
run_once() {
  local memory=$1 mode=$2 i=$3
  local tag="$memory-$mode-$i"
  local flags=(--kernel="$kernel" --initrd="$initrd" --cmdline="$CMDLINE"
               --memory="$memory" --broker="unix:$socket" --vm_name="linux-$tag"
               --serial="$work/serial-$tag" --stats_json="$work/stats-$tag.json"
               --serial_input=none)
  # Preloading 512 MiB page by page under emulation takes minutes, and
  # --fault_deadline bounds the whole preload.
  [[ "$mode" == preloaded ]] && flags+=(--preload_ram --fault_deadline=15m)
  : >"$work/serial-$tag"
  local started marker="" ended
  started=$(date +%s%N)
  timeout --kill-after=5 900 "$vmm" "${flags[@]}" 2>"$work/vmm-$tag.log" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [[ -z "$marker" ]] && grep -qF "fl-init: started" "$work/serial-$tag"; then
      marker=$(date +%s%N)
    fi
    sleep 0.1
  done
  wait "$pid"
  local status=$?
  ended=$(date +%s%N)
  ((status == 0)) || fail "vmm ($tag) exited $status: $(tail -5 "$work/vmm-$tag.log")"
  [[ -n "$marker" ]] || fail "no init marker in the $tag serial output"
  local s="$work/stats-$tag.json"
  printf '| %s | %s | %s | %.1f | %.1f | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$memory" "$mode" "$i" \
    "$(awk -v a="$marker" -v b="$started" 'BEGIN { print (a - b) / 1e9 }')" \
    "$(awk -v a="$ended" -v b="$started" 'BEGIN { print (a - b) / 1e9 }')" \
    "$(json "$s" guest.first_user_output_seconds)" \
    "$(json "$s" faults)" "$(json "$s" answers.zero)" "$(json "$s" answers.page)" \
    "$(json "$s" extra_pages)" "$(json "$s" loaded_pages)" \
    "$(json "$s" pages_per_second)"
}

{
  echo "| RAM | RAM served | run | s to init marker | s to exit | s vCPUs to user output | faults | zero answers | page answers | prefetched | pages loaded before start | pages/s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$out"
IFS=, read -r -a memories <<<"$sizes"
for memory in "${memories[@]}"; do
  for mode in lazy preloaded; do
    for i in $(seq "$runs"); do
      row=$(run_once "$memory" "$mode" "$i") || exit 1
      echo "$row" >>"$out"
      echo "linux_boot: $row" >&2
    done
  done
done
cat "$out"

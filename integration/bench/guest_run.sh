#!/usr/bin/env bash
# The in-guest benchmark, run where /dev/kvm exists (inside the nested test
# host): memwork with RAM served lazily by the broker, fault by fault, and
# the same run with RAM preloaded from the broker before the vCPUs start
# (vmm --preload_ram, when the VMM has it). Under TCG absolute times mean
# little; the ratio is the figure. Writes a Markdown table to
# $TESTHOST_RESULTS/guest.md (the test host's results folder) and stdout.
# Usage: guest_run.sh BROKER VMM MEMWORK [RUNS] [MEMORY] [WORK_MIB]
set -uo pipefail

broker=$1 vmm=$2 payload=$3
runs=${4:-2} memory=${5:-48M} work_mib=${6:-16}
out="${TESTHOST_RESULTS:-.}/guest.md"

bench_name=guest_run
# shellcheck source=bench_broker.sh
source "$(dirname "$(realpath "$0")")/bench_broker.sh"

modes=(lazy)
# --helpfull exits non-zero, so its output is taken whole, not piped.
vmm_help=$("$vmm" --helpfull 2>&1 || true)
if [[ "$vmm_help" == *--preload_ram* ]]; then
  modes+=(preloaded)
else
  echo "guest_run: this VMM has no --preload_ram; measuring lazy runs only" >&2
fi

# One run: prints "cycles wall_ms faults loaded_pages".
run_once() {
  local mode=$1 i=$2
  local flags=(--guest="$payload" --memory="$memory" --ram_source=pattern:7
               --broker="unix:$socket" --vm_name="memwork-$mode-$i"
               --guest_args="mib=$work_mib" --serial="$work/serial-$mode-$i"
               --stats_json="$work/stats-$mode-$i.json")
  [[ "$mode" == preloaded ]] && flags+=(--preload_ram)
  local started ended
  started=$(date +%s%N)
  timeout --kill-after=5 600 "$vmm" "${flags[@]}" 2>"$work/vmm-$mode-$i.log"
  local status=$?
  ended=$(date +%s%N)
  ((status == 0)) || fail "vmm ($mode) exited $status: $(tail -5 "$work/vmm-$mode-$i.log")"
  local cycles faults loaded
  cycles=$(grep -o 'cycles=[0-9]*' "$work/serial-$mode-$i" | tail -1 | cut -d= -f2)
  faults=$(grep -o '"faults": *[0-9]*' "$work/stats-$mode-$i.json" | head -1 | grep -o '[0-9]*$')
  loaded=$(grep -o '"loaded_pages": *[0-9]*' "$work/stats-$mode-$i.json" | head -1 | grep -o '[0-9]*$')
  [[ -n "$cycles" ]] || fail "no cycles= in the $mode serial output"
  echo "$cycles $(((ended - started) / 1000000)) ${faults:-?} ${loaded:-?}"
}

{
  echo "| RAM | run | memwork cycles (guest TSC) | VMM wall ms | faults | pages loaded before start |"
  echo "|---|---|---|---|---|---|"
} >"$out"
declare -A best
for mode in "${modes[@]}"; do
  for i in $(seq "$runs"); do
    # No process substitution: the test host has no /dev/fd.
    line=$(run_once "$mode" "$i") || exit 1
    read -r cycles wall faults loaded <<<"$line"
    echo "| $mode | $i | $cycles | $wall | $faults | $loaded |" >>"$out"
    if [[ -z "${best[$mode]:-}" ]] || ((cycles < best[$mode])); then
      best[$mode]=$cycles
    fi
  done
done
if [[ -n "${best[preloaded]:-}" ]]; then
  ratio=$(awk -v a="${best[lazy]}" -v b="${best[preloaded]}" 'BEGIN { printf "%.2f", a / b }')
  echo >>"$out"
  echo "lazy / preloaded memwork cycles (best of $runs each): **$ratio**" >>"$out"
else
  echo >>"$out"
  echo "preloaded: not measured (this VMM has no --preload_ram)" >>"$out"
fi
cat "$out"

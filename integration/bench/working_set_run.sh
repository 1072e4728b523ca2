#!/usr/bin/env bash
# Working-set record and replay (issue 15 item 5), run where /dev/kvm
# exists (inside the nested test host): each payload lazily served (the
# first lazy run records its working set with --record_working_set), with
# that record replayed (--replay_working_set: the recorded pages installed
# ahead of the guest, in order, in the background), with background fill
# in address order (--background_fill=on), and preloaded (--preload_ram).
# The figure is the guest's run time (vCPUs started to exit, the VMM's
# stats JSON), the faults and the pages installed ahead of the guest.
# Writes $TESTHOST_RESULTS/working_set.md and stdout.
# Usage: working_set_run.sh BROKER VMM MEMWORK RAMTOUCH [RUNS]
set -uo pipefail

broker=$1 vmm=$2 memwork=$3 ramtouch=$4
runs=${5:-3}
out="${TESTHOST_RESULTS:-.}/working_set.md"

bench_name=working_set
# shellcheck source=bench_broker.sh
source "$(dirname "$(realpath "$0")")/bench_broker.sh"

# One run: prints "run_seconds faults fill_pages loaded_pages".
run_once() {
  local payload=$1 mode=$2 i=$3 memory=$4 args=$5
  local name="$payload_name-$mode-$i"
  local flags=(--guest="$payload" --memory="$memory" --ram_source=pattern:7
               --broker="unix:$socket" --vm_name="$name"
               --guest_args="$args" --serial="$work/serial-$name"
               --stats_json="$work/stats-$name.json")
  case "$mode" in
    record) flags+=(--record_working_set="$work/ws-$payload_name") ;;
    replay) flags+=(--replay_working_set="$work/ws-$payload_name") ;;
    fill) flags+=(--background_fill=on) ;;
    preloaded) flags+=(--preload_ram) ;;
  esac
  timeout --kill-after=5 900 "$vmm" "${flags[@]}" 2>"$work/vmm-$name.log"
  local status=$?
  ((status == 0)) || fail "vmm ($name) exited $status: $(tail -5 "$work/vmm-$name.log")"
  /usr/bin/python3 - "$work/stats-$name.json" <<'PY' || fail "no stats for $name"
import json, sys
s = json.load(open(sys.argv[1]))
fill = s.get("background_fill", {})
print("%.3f %d %d %d" % (s["guest"]["run_seconds"], s["faults"],
                         fill.get("pages", 0) + fill.get("zero_pages", 0),
                         s["loaded_pages"]))
PY
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

{
  echo "| payload | RAM | runs | guest run s (median) | faults (median) | pages installed ahead (median) | loaded before start |"
  echo "|---|---|---|---|---|---|---|"
} >"$out"
summary=""
for spec in "memwork:$memwork:48M:mib=16" "ramtouch:$ramtouch:32M:order=sequential"; do
  IFS=: read -r payload_name payload memory args <<<"$spec"
  declare -A seconds=() faults=() ahead=() loaded=()
  # The record run is a lazy run too; its record feeds the replays.
  for mode in record lazy replay fill preloaded; do
    count=$runs
    [[ "$mode" == record ]] && count=1
    for i in $(seq "$count"); do
      line=$(run_once "$payload" "$mode" "$i" "$memory" "$args") || exit 1
      read -r s f a l <<<"$line"
      key=$mode
      [[ "$mode" == record ]] && key=lazy
      seconds[$key]+="$s "; faults[$key]+="$f "; ahead[$key]+="$a "; loaded[$key]+="$l "
      echo "working_set: $payload_name $mode $i: ${s}s, $f faults, $a ahead, $l loaded" >&2
    done
  done
  recorded=$(($(wc -l <"$work/ws-$payload_name") - 1))
  declare -A med_s=() med_f=()
  for mode in lazy replay fill preloaded; do
    n=$(wc -w <<<"${seconds[$mode]}")
    med_s[$mode]=$(tr ' ' '\n' <<<"${seconds[$mode]}" | grep . | median)
    med_f[$mode]=$(tr ' ' '\n' <<<"${faults[$mode]}" | grep . | median)
    a=$(tr ' ' '\n' <<<"${ahead[$mode]}" | grep . | median)
    l=$(tr ' ' '\n' <<<"${loaded[$mode]}" | grep . | median)
    label=$mode
    [[ "$mode" == lazy ]] && label="lazy (one run also records)"
    echo "| $payload_name | $label | $n | ${med_s[$mode]} | ${med_f[$mode]} | $a | $l |" >>"$out"
  done
  summary+=$(awk -v name="$payload_name" -v rec="$recorded" \
    -v rs="${med_s[replay]}" -v ps="${med_s[preloaded]}" -v ls="${med_s[lazy]}" \
    -v lf="${med_f[lazy]}" -v rf="${med_f[replay]}" 'BEGIN {
      time_ratio = rs / ps; fault_ratio = (rf > 0) ? lf / rf : lf
      printf "- %s: working set %d pages; replay / preloaded run time **%.2fx** (goal <= 1.1x: %s); lazy / replay faults **%.1fx** (goal >= 3x: %s); lazy / preloaded %.2fx\n",
        name, rec, time_ratio, time_ratio <= 1.1 ? "met" : "missed",
        fault_ratio, fault_ratio >= 3 ? "met" : "missed", ls / ps }')
  summary+=$'\n'
  unset seconds faults ahead loaded med_s med_f
done
{ echo; printf '%s' "$summary"; } >>"$out"
cat "$out"

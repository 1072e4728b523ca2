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
# Usage: working_set_run.sh BROKER VMM MEMWORK RAMTOUCH [RUNS] [RUN_TIMEOUT_S]
set -uo pipefail

broker=$1 vmm=$2 memwork=$3 ramtouch=$4
runs=${5:-3}
run_timeout=${6:-600}
out="${TESTHOST_RESULTS:-.}/working_set.md"

bench_name=working_set
# shellcheck source=bench_broker.sh
source "$(dirname "$(realpath "$0")")/bench_broker.sh"

# One run: prints "run_seconds wall_seconds faults fill_pages loaded_pages".
run_once() {
  local payload=$1 mode=$2 i=$3 memory=$4 args=$5
  local name="$payload_name-$mode-$i"
  local flags=(--guest="$payload" --memory="$memory" --ram_source=pattern:7
               --broker="unix:$socket" --vm_name="$name"
               --guest_args="$args" --serial="$work/serial-$name"
               --stats_json="$work/stats-$name.json" --fault_deadline=600s)
  case "$mode" in
    record) flags+=(--record_working_set="$work/ws-$payload_name") ;;
    replay) flags+=(--replay_working_set="$work/ws-$payload_name") ;;
    fill) flags+=(--background_fill=on) ;;
    preloaded) flags+=(--preload_ram) ;;
  esac
  local started ended
  started=$(date +%s%N)
  timeout --kill-after=5 "$run_timeout" "$vmm" "${flags[@]}" 2>"$work/vmm-$name.log"
  local status=$?
  ended=$(date +%s%N)
  if ((status != 0)); then
    # Kept for a look; the run is left out of the figures.
    cp "$work/vmm-$name.log" "${TESTHOST_RESULTS:-.}/failed-vmm-$name.log" 2>/dev/null
    echo "working_set: vmm ($name) exited $status: $(tail -3 "$work/vmm-$name.log")" >&2
    return 1
  fi
  /usr/bin/python3 - "$work/stats-$name.json" "$(((ended - started) / 1000000))" <<'PY' || fail "no stats for $name"
import json, sys
s = json.load(open(sys.argv[1]))
fill = s.get("background_fill", {})
print("%.3f %.3f %d %d %d" % (s["guest"]["run_seconds"], int(sys.argv[2]) / 1000.0, s["faults"],
                         fill.get("pages", 0) + fill.get("zero_pages", 0),
                         s["loaded_pages"]))
PY
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

{
  echo "| payload | RAM | runs | guest run s (median) | VMM wall s (median) | faults (median) | pages installed ahead (median) | loaded before start |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$out"
summary=""
for spec in "memwork:$memwork:48M:mib=16" "ramtouch:$ramtouch:32M:order=sequential"; do
  IFS=: read -r payload_name payload memory args <<<"$spec"
  declare -A seconds=() walls=() faults=() ahead=() loaded=()
  # The record run is a lazy run too; its record feeds the replays.
  for mode in record lazy replay preloaded fill; do
    count=$runs
    [[ "$mode" == record ]] && count=1
    for i in $(seq "$count"); do
      if ! line=$(run_once "$payload" "$mode" "$i" "$memory" "$args"); then
        [[ "$mode" == record ]] && fail "the record run failed"
        continue
      fi
      read -r s w f a l <<<"$line"
      key=$mode
      [[ "$mode" == record ]] && key=lazy
      seconds[$key]+="$s "; walls[$key]+="$w "; faults[$key]+="$f "
      ahead[$key]+="$a "; loaded[$key]+="$l "
      echo "working_set: $payload_name $mode $i: ${s}s run, ${w}s wall, $f faults, $a ahead, $l loaded" >&2
    done
  done
  recorded=$(($(wc -l <"$work/ws-$payload_name") - 1))
  declare -A med_s=() med_w=() med_f=()
  for mode in lazy replay fill preloaded; do
    n=$(wc -w <<<"${seconds[$mode]}")
    med_s[$mode]=$(tr ' ' '\n' <<<"${seconds[$mode]}" | grep . | median)
    med_w[$mode]=$(tr ' ' '\n' <<<"${walls[$mode]}" | grep . | median)
    med_f[$mode]=$(tr ' ' '\n' <<<"${faults[$mode]}" | grep . | median)
    a=$(tr ' ' '\n' <<<"${ahead[$mode]}" | grep . | median)
    l=$(tr ' ' '\n' <<<"${loaded[$mode]}" | grep . | median)
    label=$mode
    [[ "$mode" == lazy ]] && label="lazy (one run also records)"
    echo "| $payload_name | $label | $n | ${med_s[$mode]} | ${med_w[$mode]} | ${med_f[$mode]} | $a | $l |" >>"$out"
  done
  summary+=$(awk -v name="$payload_name" -v rec="$recorded" \
    -v rs="${med_s[replay]}" -v ps="${med_s[preloaded]}" -v ls="${med_s[lazy]}" \
    -v rw="${med_w[replay]}" -v pw="${med_w[preloaded]}" \
    -v lf="${med_f[lazy]}" -v rf="${med_f[replay]}" 'BEGIN {
      time_ratio = rs / ps; fault_ratio = (rf > 0) ? lf / rf : lf
      printf "- %s: working set %d pages; replay / preloaded guest run time **%.2fx** (goal <= 1.1x: %s), VMM wall time %.2fx (the preload counted); lazy / replay faults **%.1fx** (goal >= 3x: %s); lazy / preloaded run time %.2fx\n",
        name, rec, time_ratio, (time_ratio <= 1.1) ? "met" : "missed", rw / pw,
        fault_ratio, (fault_ratio >= 3) ? "met" : "missed", ls / ps }')
  summary+=$'\n'
  unset seconds walls faults ahead loaded med_s med_w med_f
done
{ echo; printf '%s' "$summary"; } >>"$out"
cat "$out"

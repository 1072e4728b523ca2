#!/bin/bash
# The broker-kill soak, run where /dev/kvm exists (inside the test host, via
# tools/soak or soak_test): one broker, two VMs at once, the broker killed
# with SIGKILL at random intervals and started again on the same socket and
# device-memory folder, N times.
#   VM A: ramtouch over RAM from the pattern source, every word checked, run
#         again each time it finishes;
#   VM B: the PCI memory device (pcimem: shared frames the host filled, read
#         through the BAR and signed by the guest), run again each time it
#         ends, each run on a fresh copy of the host's frames (its own
#         shared pool, made with pattern_image), and itself killed
#         with SIGKILL every few broker kills (same --vm_name, so the new
#         VMM takes its session over).
# Then it prints a report (also WORK/soak.report, key=value lines):
#   kills, reconnects and faults resent (the VMMs' --stats_json, summed),
#   pages checked (ramtouch's RESULT lines), faults lost and doubled, the
#   longest stall, sessions and files left. How lost and doubled are known:
#   a fault that is never answered leaves its vCPU waiting until the VMM's
#   fault deadline (--fault_deadline), which ends the VMM with status 67 and
#   the run fails; a wrong or missing page fails ramtouch's check of every
#   word (RESULT fail, status 1). A page answered twice meets UFFDIO_COPY's
#   EEXIST, which the VMM counts as already_resolved: with one vCPU and no
#   coalesced fault that is only ever a doubled answer.
# Every wait is bounded; the loop ends at --kills or --max_seconds.
#
# soak.sh --broker=BIN --vmm=BIN --brokerctl=BIN --pattern_image=BIN
#         --payload=RAMTOUCH --second_payload=PCIMEM [--kills=N] [--max_seconds=S] [--seed=N]
#         [--memory=16M] [--min_interval_ms=500] [--max_interval_ms=3000]
#         [--kill_vm_every=4]
# Exit: 0 when every run passed and nothing was lost or doubled, 1
# otherwise, 2 usage.
set -uo pipefail

broker="" vmm="" brokerctl="" pattern_image="" payload="" second_payload=""
kills=5 max_seconds=600 seed=$$ memory=16M
min_interval_ms=500 max_interval_ms=3000 kill_vm_every=4
readonly READY_TIMEOUT=30 VMM_TIMEOUT=300 FAULT_TIMEOUT=60

usage() { echo "soak: $*" >&2; exit 2; }
for arg in "$@"; do
  case "$arg" in
    --broker=*) broker=${arg#*=} ;;
    --vmm=*) vmm=${arg#*=} ;;
    --brokerctl=*) brokerctl=${arg#*=} ;;
    --pattern_image=*) pattern_image=${arg#*=} ;;
    --payload=*) payload=${arg#*=} ;;
    --second_payload=*) second_payload=${arg#*=} ;;
    --kills=*) kills=${arg#*=} ;;
    --max_seconds=*) max_seconds=${arg#*=} ;;
    --seed=*) seed=${arg#*=} ;;
    --memory=*) memory=${arg#*=} ;;
    --min_interval_ms=*) min_interval_ms=${arg#*=} ;;
    --max_interval_ms=*) max_interval_ms=${arg#*=} ;;
    --kill_vm_every=*) kill_vm_every=${arg#*=} ;;
    *) usage "unknown argument: $arg" ;;
  esac
done
for pair in "broker:$broker" "vmm:$vmm" "brokerctl:$brokerctl" \
  "pattern_image:$pattern_image"; do
  [[ -x "${pair#*:}" ]] || usage "--${pair%%:*} must name an executable"
done
[[ -r "$payload" && -r "$second_payload" ]] || usage "--payload and --second_payload must name ELF files"
for n in "$kills" "$max_seconds" "$seed" "$min_interval_ms" "$max_interval_ms" "$kill_vm_every"; do
  [[ "$n" =~ ^[0-9]+$ ]] || usage "counts, seconds and intervals are whole numbers"
done
((max_interval_ms >= min_interval_ms && kill_vm_every > 0)) || usage "bad intervals"
RANDOM=$seed

work=$(mktemp -d "${TMPDIR:-/tmp}/soak-XXXXXX") || usage "cannot create a work folder"
socket="$work/broker.sock"
devmem="$work/device_memory"
mkdir -p "$devmem"
broker_pid="" a_pid="" b_pid=""
broker_starts=0 kills_done=0 vm_kills=0 failures=0 lost_runs=0
a_runs=0 b_runs=0 a_passed=0 b_passed=0 pages_checked=0
longest_down_ms=0 longest_latency_us=0

now_ms() { date +%s%3N; }
log() { echo "soak: $*" | tee -a "$work/soak.log" >&2; }

start_broker() {
  "$broker" --socket="$socket" --device_memory_dir="$devmem" \
    >"$work/broker.out" 2>>"$work/broker.log" &
  broker_pid=$!
  broker_starts=$((broker_starts + 1))
  local ready="broker: serving on unix:$socket"
  for _ in $(seq $((READY_TIMEOUT * 20))); do
    grep -qxF "$ready" "$work/broker.out" && return 0
    kill -0 "$broker_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# A VM: $1 = a or b, its run number in $2; writes WORK/<vm>.<n>.{log,json,serial}.
start_vm() {
  local vm=$1 n=$2 guest args=()
  if [[ $vm == a ]]; then
    guest=$payload
    args=(--memory="$memory" --ram_source=pattern:7 --vm_name=soak-a)
  else
    guest=$second_payload
    # A shared pool's file outlives its sessions and broker restarts, so a
    # pool created from the host's frames is exactly what the guest checks.
    cp "$work/pcimem.frames" "$devmem/faultline-soak-b$n"
    args=(--memory=16M --pcimem=64K --pcimem_frames=8 --pcimem_sharing=shared
          --pcimem_pool="soak-b$n" "--guest_args=host_seed=5 pool_frames=8"
          --vm_name=soak-b)
  fi
  timeout --kill-after=5 "$VMM_TIMEOUT" "$vmm" --guest="$guest" \
    --broker="unix:$socket" --serial="$work/$vm.$n.serial" \
    --stats_json="$work/$vm.$n.json" --fault_deadline="${FAULT_TIMEOUT}s" \
    "${args[@]}" >"$work/$vm.$n.log" 2>&1 &
  if [[ $vm == a ]]; then a_pid=$!; else b_pid=$!; fi
}

# A finished VM run: status 0 and a passing RESULT line, or a failure.
check_vm() {
  local vm=$1 n=$2 status=$3 result
  result=$(grep -a 'RESULT:' "$work/$vm.$n.serial" 2>/dev/null | tail -n 1)
  if ((status == 0)) && [[ "$result" == *"RESULT: pass"* ]]; then
    if [[ $vm == a ]]; then
      a_passed=$((a_passed + 1))
      local pages
      pages=$(sed -n 's/.*ramtouch: \([0-9]*\) pages order=.*/\1/p' <<<"$result")
      pages_checked=$((pages_checked + ${pages:-0}))
    else
      b_passed=$((b_passed + 1))
    fi
  else
    failures=$((failures + 1))
    ((status == 67)) && lost_runs=$((lost_runs + 1))
    log "FAIL: VM $vm run $n ended with status $status, ${result:-no RESULT line}"
    sed 's/^/    /' "$work/$vm.$n.log" | tail -n 20 >&2
    cp "$work/$vm.$n."* "${TESTHOST_RESULTS:-$work}/" 2>/dev/null
  fi
}

# Restarts whichever VM ended (checking its run) and keeps both running.
tend_vms() {
  if [[ -n "$a_pid" ]] && ! kill -0 "$a_pid" 2>/dev/null; then
    wait "$a_pid"; check_vm a "$a_runs" $?
    a_pid=""
  fi
  if [[ -z "$a_pid" && "${1:-}" != final ]]; then
    a_runs=$((a_runs + 1)); start_vm a "$a_runs"
  fi
  if [[ -n "$b_pid" ]] && ! kill -0 "$b_pid" 2>/dev/null; then
    wait "$b_pid"; check_vm b "$b_runs" $?
    b_pid=""
  fi
  if [[ -z "$b_pid" && "${1:-}" != final ]]; then
    b_runs=$((b_runs + 1)); start_vm b "$b_runs"
  fi
}

cleanup() {
  [[ -n "$a_pid" ]] && kill -KILL "$a_pid" 2>/dev/null
  [[ -n "$b_pid" ]] && kill -KILL "$b_pid" 2>/dev/null
  [[ -n "$broker_pid" ]] && kill -KILL "$broker_pid" 2>/dev/null
}
trap 'cleanup; exit 1' INT TERM

start_broker || { cat "$work/broker.log" >&2; usage "the broker did not start"; }
# VM B's guest checks frames the host filled with the pattern (seed 5) and
# signs them, so each of its runs gets a fresh copy.
"$pattern_image" 5 $((8 * 4096)) "$work/pcimem.frames" >>"$work/soak.log" 2>&1 \
  || usage "could not write the host's frames"

started_s=$(date +%s)
tend_vms
while ((kills_done < kills && $(date +%s) - started_s < max_seconds)); do
  wait_ms=$((min_interval_ms + RANDOM % (max_interval_ms - min_interval_ms + 1)))
  end_ms=$(($(now_ms) + wait_ms))
  # Every --kill_vm_every kills, VM B is killed too, halfway through the
  # interval, while the broker lives: its next VMM takes the session over.
  kill_b_ms=0
  (((kills_done + 1) % kill_vm_every == 0)) && kill_b_ms=$((end_ms - wait_ms / 2))
  while (($(now_ms) < end_ms)); do
    tend_vms
    if ((kill_b_ms > 0 && $(now_ms) >= kill_b_ms)) && [[ -n "$b_pid" ]]; then
      kill -KILL "$b_pid" 2>/dev/null
      wait "$b_pid" 2>/dev/null
      b_pid="" kill_b_ms=0
      vm_kills=$((vm_kills + 1))
    fi
    sleep 0.1
  done
  kill_ms=$(now_ms)
  kill -KILL "$broker_pid" 2>/dev/null
  wait "$broker_pid" 2>/dev/null
  kills_done=$((kills_done + 1))
  cat "$work/broker.out" >>"$work/broker.out.all"
  if ! start_broker; then
    failures=$((failures + 1))
    log "FAIL: the broker did not come back after kill $kills_done"
    break
  fi
  down_ms=$(($(now_ms) - kill_ms))
  ((down_ms > longest_down_ms)) && longest_down_ms=$down_ms
  log "kill $kills_done: broker back in ${down_ms} ms (VM A run $a_runs, VM B run $b_runs)"
done

# Let VM A's run in progress finish (bounded by its own timeout); stop B's.
if [[ -n "$b_pid" ]]; then
  kill -KILL "$b_pid" 2>/dev/null; wait "$b_pid" 2>/dev/null; b_pid=""
  vm_kills=$((vm_kills + 1))
fi
if [[ -n "$a_pid" ]]; then
  wait "$a_pid"; check_vm a "$a_runs" $?; a_pid=""
fi

# Sums over every VMM run's statistics.
sum_stat() {
  local key=$1 total=0 value f
  for f in "$work"/[ab].*.json; do
    [[ -s "$f" ]] || continue
    value=$(grep -o "\"$key\":[0-9]*" "$f" | head -n 1 | cut -d: -f2)
    total=$((total + ${value:-0}))
  done
  echo "$total"
}
for f in "$work"/[ab].*.json; do
  [[ -s "$f" ]] || continue
  p999=$(grep -o '"p999":[0-9]*' "$f" | cut -d: -f2)
  ((${p999:-0} > longest_latency_us)) && longest_latency_us=$p999
done
reconnects=$(sum_stat reconnects)
resent=$(sum_stat resent)
doubled=$(sum_stat already_resolved)
rejected=$(sum_stat rejected_answers)
stale=$(sum_stat stale_answers)

# What is left: sessions (VM B's killed VMMs; VM A's ended runs detached)
# while the broker runs, and files in the device-memory folder after it
# stopped (shared pools stay by design: listed apart).
sessions_json=$(timeout 120 "$brokerctl" --broker="unix:$socket" --json sessions 2>/dev/null)
sessions_left=$(grep -oE '"session(_id|Id)"' <<<"$sessions_json" | wc -l)
kill -TERM "$broker_pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$broker_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$broker_pid" 2>/dev/null
wait "$broker_pid" 2>/dev/null
broker_pid=""
files_left=$(find "$devmem" -type f ! -name 'faultline-soak-b*' | wc -l)
shared_pools=$(find "$devmem" -type f -name 'faultline-soak-b*' | wc -l)

{
  echo "kills=$kills_done"
  echo "broker_starts=$broker_starts"
  echo "vm_b_kills=$vm_kills"
  echo "vm_a_runs=$a_runs vm_a_passed=$a_passed"
  echo "vm_b_runs=$b_runs vm_b_passed=$b_passed"
  echo "reconnects=$reconnects"
  echo "faults_resent=$resent"
  echo "pages_checked=$pages_checked"
  echo "runs_failed=$failures"
  echo "runs_with_a_lost_fault=$lost_runs"
  echo "faults_doubled=$doubled"
  echo "answers_rejected=$rejected answers_stale=$stale"
  echo "longest_broker_down_ms=$longest_down_ms"
  echo "longest_fault_p999_us=$longest_latency_us"
  echo "sessions_left=$sessions_left"
  echo "files_left_after_stop=$files_left shared_pools_kept=$shared_pools"
  echo "seconds=$(($(date +%s) - started_s))"
} | tee "$work/soak.report"
cp "$work/soak.report" "$work/soak.log" "$work/broker.log" \
  "${TESTHOST_RESULTS:-$work}/" 2>/dev/null
if ((failures == 0 && doubled == 0 && kills_done > 0)); then
  echo "soak: PASS: $kills_done broker kills, 0 lost, 0 doubled"
  rm -rf "$work"
  exit 0
fi
echo "soak: FAIL: $failures failed runs, $doubled doubled answers (work folder $work)"
exit 1

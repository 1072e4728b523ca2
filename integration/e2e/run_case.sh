#!/bin/bash
# Runs one end-to-end case where /dev/kvm exists (inside the test host): starts
# the broker on a Unix socket in a fresh work folder, waits for its ready line,
# runs the VMM with a guest payload against it, stops the broker, and checks
# the VMM's exit status (the guest's) and the payload's RESULT line (a
# kernel guest prints one too: the Linux image's init, the multiboot test
# kernels). --kernel boots a kernel instead of a payload; its command line
# is a --vmm_arg=--cmdline=.... On any
# failure it prints the serial output, the broker's and the VMM's logs.
#
# run_case.sh --broker=BIN --vmm=BIN (--payload=ELF | --kernel=FILE
#             [--initrd=FILE]) [--expect_exit=N]
#             [--expect_result=pass|fail|any] [--ready_timeout=SECONDS]
#             [--vmm_timeout=SECONDS] [--hook_timeout=SECONDS]
#             [--broker_arg=ARG]... [--vmm_arg=ARG]...
#             [--before_broker=SHELL] [--before_vmm=SHELL]
#             [--during_vmm=SHELL] [--after_vmm=SHELL]
# In broker and VMM arguments, @WORK@ stands for the work folder (e.g.
# --vmm_arg=--control=@WORK@/control.sock). The hooks are sh -c commands run
# once the broker is ready, while the VMM runs (started with it, in the
# background, with VMM_PID set) and after the VMM ended (with VMM_STATUS
# set), within --hook_timeout (120) s each, with BROKER (unix:SOCKET) and WORK set; a hook
# that fails fails the case. The VMM's log is WORK/vmm.log.
# While the VMM runs, a hook may ask for the broker to be killed (SIGKILL)
# and started again on the same socket by creating WORK/broker.restart: the
# request file disappears once the new broker printed its ready line (and
# WORK/broker.restarts counts the restarts), or WORK/broker.restart.failed
# says why not. A before_broker hook (run first, before the broker starts)
# can start what the broker needs: it may write WORK/broker.args, extra
# broker flags one a line, used by every start of the broker, and append
# the pids of services it leaves running (a Redis cluster, a second broker)
# to WORK/services.pids; any hook may. Those get SIGTERM (SIGKILL 10 s
# later) when the case ends, however it ends. Exit: 0 pass, 1 fail, 2 usage.
set -uo pipefail

broker="" vmm="" payload="" kernel="" initrd=""
expect_exit=0 expect_result=pass ready_timeout=30 vmm_timeout=300
broker_args=() vmm_args=()
before_broker="" before_vmm="" during_vmm="" after_vmm=""
hook_timeout=120
# How long the during_vmm hook may go on once the VMM has ended.
readonly DURING_HOOK_GRACE=30

usage() { echo "run_case: $*" >&2; exit 2; }

for arg in "$@"; do
  case "$arg" in
    --broker=*) broker=${arg#*=} ;;
    --vmm=*) vmm=${arg#*=} ;;
    --payload=*) payload=${arg#*=} ;;
    --kernel=*) kernel=${arg#*=} ;;
    --initrd=*) initrd=${arg#*=} ;;
    --expect_exit=*) expect_exit=${arg#*=} ;;
    --expect_result=*) expect_result=${arg#*=} ;;
    --ready_timeout=*) ready_timeout=${arg#*=} ;;
    --vmm_timeout=*) vmm_timeout=${arg#*=} ;;
    --hook_timeout=*) hook_timeout=${arg#*=} ;;
    --broker_arg=*) broker_args+=("${arg#*=}") ;;
    --vmm_arg=*) vmm_args+=("${arg#*=}") ;;
    --before_broker=*) before_broker=${arg#*=} ;;
    --before_vmm=*) before_vmm=${arg#*=} ;;
    --during_vmm=*) during_vmm=${arg#*=} ;;
    --after_vmm=*) after_vmm=${arg#*=} ;;
    *) usage "unknown argument: $arg" ;;
  esac
done
for pair in "broker:$broker" "vmm:$vmm"; do
  [[ -x "${pair#*:}" ]] || usage "--${pair%%:*} must name an executable, got '${pair#*:}'"
done
if [[ -n "$kernel" ]]; then
  [[ -z "$payload" ]] || usage "give --payload or --kernel, not both"
  [[ -r "$kernel" ]] || usage "--kernel must name a readable file, got '$kernel'"
  [[ -z "$initrd" || -r "${initrd%% *}" ]] || usage "--initrd must name a readable file, got '$initrd'"
  guest_args=(--kernel="$kernel")
  [[ -n "$initrd" ]] && guest_args+=(--initrd="$initrd")
else
  [[ -r "$payload" ]] || usage "--payload must name a readable ELF, got '$payload'"
  [[ -z "$initrd" ]] || usage "--initrd goes with --kernel"
  guest_args=(--guest="$payload")
fi
[[ "$expect_exit" =~ ^[0-9]+$ ]] || usage "--expect_exit must be a number"
[[ "$expect_result" =~ ^(pass|fail|any)$ ]] || usage "--expect_result must be pass, fail or any"
[[ "$ready_timeout" =~ ^[0-9]+$ && "$vmm_timeout" =~ ^[0-9]+$ &&
   "$hook_timeout" =~ ^[0-9]+$ ]] \
  || usage "timeouts are whole seconds"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-XXXXXX") || usage "cannot create a work folder"
socket="$work/broker.sock"
mkdir -p "$work/device_memory"
broker_args=("${broker_args[@]/@WORK@/$work}")
vmm_args=("${vmm_args[@]/@WORK@/$work}")
broker_pid="" vmm_pid="" during_pid=""
broker_starts=0

show() {
  echo "----- $1 ($2)"
  if [[ -s "$2" ]]; then cat "$2"; else echo "(empty or missing)"; fi
}

# Stops the broker: SIGTERM, then SIGKILL if it lingers past 10 s.
stop_broker() {
  [[ -n "$broker_pid" ]] || return 0
  kill -TERM "$broker_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$broker_pid" 2>/dev/null; then
    echo "run_case: broker ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$broker_pid" 2>/dev/null
  fi
  wait "$broker_pid" 2>/dev/null
  broker_status=$?
  broker_pid=""
  return 0
}

# Stops the services hooks listed in WORK/services.pids (not our children:
# polled, not waited for).
stop_services() {
  [[ -s "$work/services.pids" ]] || return 0
  local pids
  pids=$(grep -E '^[0-9]+$' "$work/services.pids")
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
  : >"$work/services.pids"
}

# Keeps the logs where testhost's --results folder shows them, if any.
save_logs() {
  if [[ -n "${TESTHOST_RESULTS:-}" && -d "$TESTHOST_RESULTS" ]]; then
    cp "$work"/*.log "$work"/*.json "$work"/broker.out "$work"/broker.out.* \
      "$work"/broker.log.* "$TESTHOST_RESULTS"/ 2>/dev/null
  fi
}

fail() {
  echo "run_case: FAIL: $*" >&2
  # TERM reaches timeout(1), which passes it on to the hook or the VMM.
  [[ -n "$during_pid" ]] && kill -TERM "$during_pid" 2>/dev/null
  [[ -n "$vmm_pid" ]] && kill -TERM "$vmm_pid" 2>/dev/null
  stop_broker
  stop_services
  save_logs
  {
    show "guest serial" "$work/serial.log"
    show "broker stdout" "$work/broker.out"
    show "broker log" "$work/broker.log"
    show "vmm log" "$work/vmm.log"
    for earlier in "$work"/broker.out.* "$work"/broker.log.*; do
      [[ -e "$earlier" ]] && show "killed broker's output" "$earlier"
    done
    [[ -e "$work/hooks.log" ]] && show "hooks" "$work/hooks.log"
  } >&2
  rm -rf "$work"
  exit 1
}

# Runs hook $2 (named $1) with the case's environment; fails the case if it
# fails or outlives --hook_timeout.
run_hook() {
  [[ -n "$2" ]] || return 0
  echo "+ $1: $2" >>"$work/hooks.log"
  BROKER="unix:$socket" WORK="$work" VMM_STATUS="${vmm_status:-}" \
    timeout --kill-after=5 "$hook_timeout" sh -c "$2" >>"$work/hooks.log" 2>&1
  local status=$?
  [[ $status -eq 0 ]] || fail "the $1 hook exited with status $status"
}

trap 'fail "interrupted"' INT TERM

# Starts the broker and waits for its ready line; returns 1 with $start_error
# set if it does not come.
start_broker() {
  local hook_args=()
  [[ -s "$work/broker.args" ]] && mapfile -t hook_args <"$work/broker.args"
  "$broker" --socket="$socket" --device_memory_dir="$work/device_memory" \
    "${broker_args[@]}" "${hook_args[@]}" >"$work/broker.out" 2>"$work/broker.log" &
  broker_pid=$!
  broker_starts=$((broker_starts + 1))
  local ready_line="broker: serving on unix:$socket"
  for _ in $(seq $((ready_timeout * 10))); do
    grep -qxF "$ready_line" "$work/broker.out" && return 0
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -qxF "$ready_line" "$work/broker.out" && return 0
  if kill -0 "$broker_pid" 2>/dev/null; then
    start_error="the broker did not print '$ready_line' within ${ready_timeout}s"
    return 1
  fi
  wait "$broker_pid"
  local status=$?
  broker_pid=""
  start_error="the broker exited with status $status before it was ready"
  return 1
}

# Serves a hook's WORK/broker.restart request: SIGKILL the broker (no clean
# shutdown, as in a crash), keep its output aside, start it again.
restart_broker() {
  echo "run_case: killing the broker (SIGKILL) and starting it again" >&2
  kill -KILL "$broker_pid" 2>/dev/null
  wait "$broker_pid" 2>/dev/null
  broker_pid=""
  mv "$work/broker.out" "$work/broker.out.$broker_starts"
  mv "$work/broker.log" "$work/broker.log.$broker_starts"
  if start_broker; then
    echo "$((broker_starts - 1))" >"$work/broker.restarts"
    rm -f "$work/broker.restart"
  else
    echo "$start_error" >"$work/broker.restart.failed"
    fail "restarting the broker: $start_error"
  fi
}

run_hook before_broker "$before_broker"
start_broker || fail "$start_error"

run_hook before_vmm "$before_vmm"
timeout --kill-after=5 "$vmm_timeout" "$vmm" "${guest_args[@]}" \
  --broker="unix:$socket" --serial="$work/serial.log" \
  --stats_json="$work/stats.json" "${vmm_args[@]}" >"$work/vmm.log" 2>&1 &
vmm_pid=$!
if [[ -n "$during_vmm" ]]; then
  echo "+ during_vmm: $during_vmm" >>"$work/hooks.log"
  BROKER="unix:$socket" WORK="$work" VMM_PID="$vmm_pid" \
    timeout --kill-after=5 "$hook_timeout" sh -c "$during_vmm" \
    >>"$work/hooks.log" 2>&1 &
  during_pid=$!
fi
# The VMM's own deadline is timeout(1)'s; meanwhile serve restart requests,
# and fail at once if the during_vmm hook fails.
while kill -0 "$vmm_pid" 2>/dev/null; do
  [[ -e "$work/broker.restart" ]] && restart_broker
  if [[ -n "$during_pid" ]] && ! kill -0 "$during_pid" 2>/dev/null; then
    wait "$during_pid"
    during_status=$?
    during_pid=""
    [[ $during_status -eq 0 ]] \
      || fail "the during_vmm hook exited with status $during_status while the VMM ran"
  fi
  sleep 0.2
done
wait "$vmm_pid"
vmm_status=$?
vmm_pid=""
if [[ $vmm_status -eq 124 || $vmm_status -eq 137 ]]; then
  fail "the VMM did not finish within ${vmm_timeout}s"
fi
if [[ -n "$during_pid" ]]; then
  for _ in $(seq $((DURING_HOOK_GRACE * 10))); do
    kill -0 "$during_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$during_pid" 2>/dev/null; then
    fail "the during_vmm hook still ran ${DURING_HOOK_GRACE}s after the VMM ended (status $vmm_status)"
  fi
  wait "$during_pid"
  during_status=$?
  during_pid=""
  [[ $during_status -eq 0 ]] \
    || fail "the during_vmm hook exited with status $during_status (VMM status $vmm_status)"
fi

run_hook after_vmm "$after_vmm"
result=$(grep -o 'RESULT: [a-z]*' "$work/serial.log" 2>/dev/null | tail -1)
[[ $vmm_status -eq $expect_exit ]] \
  || fail "the VMM exited with status $vmm_status, want $expect_exit"
if [[ "$expect_result" != any && "$result" != "RESULT: $expect_result" ]]; then
  fail "the payload's last result is '${result:-none}', want 'RESULT: $expect_result'"
fi

stop_broker
[[ $broker_status -eq 0 ]] || fail "the broker exited with status $broker_status after SIGTERM, want 0"
stop_services
save_logs
echo "run_case: PASS (vmm exit $vmm_status, ${result:-no RESULT line})"
rm -rf "$work"
exit 0

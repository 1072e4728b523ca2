#!/bin/bash
# Tests run_case.sh itself with stand-in broker and VMM programs written
# below (no VM, no KVM): that it waits for the ready line, enforces its
# deadlines, checks exit status and RESULT line, and reports logs on failure.
set -uo pipefail

readonly RUN_CASE="${TEST_SRCDIR:?}/faultline/integration/e2e/run_case.sh"
readonly DIR="${TEST_TMPDIR:?}"
export TMPDIR="$DIR"
export STANDIN_ARGS_FILE="$DIR/vmm.args"
failures=0

# Stand-in broker: STANDIN_BROKER=ready|silent|die.
cat >"$DIR/broker" <<'STANDIN'
#!/bin/bash
for arg; do case "$arg" in --socket=*) socket=${arg#*=} ;; esac; done
echo "stand-in broker log line" >&2
case "$STANDIN_BROKER" in
  die) exit 3 ;;
  ready) echo "broker: serving on unix:$socket" ;;
esac
trap 'exit 0' TERM
while :; do sleep 0.1; done
STANDIN
# Stand-in VMM: STANDIN_VMM=pass|slow|fail|hang (slow: passes after 1 s).
cat >"$DIR/vmm" <<'STANDIN'
#!/bin/bash
for arg; do case "$arg" in --serial=*) serial=${arg#*=} ;; esac; done
echo "stand-in vmm args: $*"
echo "$*" >"$STANDIN_ARGS_FILE"
case "$STANDIN_VMM" in
  pass) echo "RESULT: pass pages=4" >"$serial"; exit 0 ;;
  slow) sleep 1; echo "RESULT: pass pages=4" >"$serial"; exit 0 ;;
  fail) echo "RESULT: fail page 3 differs" >"$serial"; exit 1 ;;
  hang) exec sleep 600 ;;
esac
STANDIN
chmod +x "$DIR/broker" "$DIR/vmm"
echo "not really an ELF" >"$DIR/payload"

# expect NAME BROKER_MODE VMM_MODE WANT_STATUS WANT_TEXT [run_case args...]
expect() {
  local name=$1 broker_mode=$2 vmm_mode=$3 want_status=$4 want_text=$5
  shift 5
  local output status
  output=$(STANDIN_BROKER=$broker_mode STANDIN_VMM=$vmm_mode "$RUN_CASE" \
    --broker="$DIR/broker" --vmm="$DIR/vmm" --payload="$DIR/payload" \
    --ready_timeout=2 --vmm_timeout=2 "$@" 2>&1)
  status=$?
  if [[ $status -ne $want_status ]] || ! grep -qF -- "$want_text" <<<"$output"; then
    echo "FAIL $name: status $status (want $want_status), output:"
    echo "$output"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

expect passing ready pass 0 "run_case: PASS (vmm exit 0, RESULT: pass)"
expect work_folder_substituted ready pass 0 "run_case: PASS" \
  --vmm_arg=--control=@WORK@/control.sock
if grep -q -- "--control=$DIR/e2e-[A-Za-z0-9]*/control.sock" "$STANDIN_ARGS_FILE"; then
  echo "ok   work_folder_in_vmm_args"
else
  echo "FAIL work_folder_in_vmm_args: $(cat "$STANDIN_ARGS_FILE")"
  failures=$((failures + 1))
fi
expect failing_guest ready fail 1 "RESULT: fail page 3 differs"
expect failure_shows_broker_log ready fail 1 "stand-in broker log line"
expect failure_shows_vmm_log ready fail 1 "stand-in vmm args:"
expect expected_failure ready fail 0 "run_case: PASS (vmm exit 1" \
  --expect_exit=1 --expect_result=fail
expect silent_broker silent pass 1 "did not print 'broker: serving on unix:"
expect dying_broker die pass 1 "broker exited with status 3 before it was ready"
expect hanging_vmm ready hang 1 "the VMM did not finish within 2s"
expect missing_payload ready pass 2 "--payload must name a readable ELF" \
  --payload="$DIR/nothing-here"
expect hooks_see_the_broker ready pass 0 "run_case: PASS" \
  --before_vmm='echo "$BROKER" >"$WORK/../before.txt"' \
  --after_vmm='echo "vmm=$VMM_STATUS" >"$WORK/../after.txt"'
if grep -q "^unix:$DIR/e2e-.*/broker.sock$" "$DIR/before.txt" \
    && grep -qx "vmm=0" "$DIR/after.txt"; then
  echo "ok   hooks_environment"
else
  echo "FAIL hooks_environment: $(cat "$DIR/before.txt" "$DIR/after.txt")"
  failures=$((failures + 1))
fi
expect failing_before_hook ready pass 1 "the before_vmm hook exited with status 3" \
  --before_vmm='echo hook output; exit 3'
expect failing_hook_output_shown ready pass 1 "hook output" \
  --before_vmm='echo hook output; exit 3'
expect failing_after_hook ready pass 1 "the after_vmm hook exited with status 4" \
  --after_vmm='exit 4'
expect bad_flag ready pass 2 "unknown argument: --frobnicate" --frobnicate

# The during_vmm hook runs beside the VMM, sees VMM_PID, and its failure
# fails the case; it may have the broker restarted.
expect during_hook_sees_the_vmm ready slow 0 "run_case: PASS" \
  --during_vmm='kill -0 "$VMM_PID" && echo "$VMM_PID" >"$WORK/../during.txt"'
if grep -qx "[0-9][0-9]*" "$DIR/during.txt"; then
  echo "ok   during_hook_environment"
else
  echo "FAIL during_hook_environment: $(cat "$DIR/during.txt")"
  failures=$((failures + 1))
fi
expect failing_during_hook ready slow 1 "the during_vmm hook exited with status 5" \
  --during_vmm='exit 5'
expect failing_during_hook_stops_the_vmm ready hang 1 "status 6 while the VMM ran" \
  --during_vmm='sleep 0.5; exit 6'
expect broker_restarted ready slow 0 "run_case: PASS" \
  --during_vmm='touch "$WORK/broker.restart"
    for i in $(seq 50); do [ -e "$WORK/broker.restart" ] || break; sleep 0.1; done
    [ ! -e "$WORK/broker.restart" ] && cat "$WORK/broker.restarts" >"$WORK/../restarts.txt"'
if grep -qx "1" "$DIR/restarts.txt"; then
  echo "ok   broker_restart_counted"
else
  echo "FAIL broker_restart_counted: $(cat "$DIR/restarts.txt" 2>&1)"
  failures=$((failures + 1))
fi

# A before_broker hook runs before the broker, gives it flags through
# WORK/broker.args, and the services it lists are stopped at the end,
# whether the case passes or fails.
cat >"$DIR/service" <<'STANDIN'
#!/bin/bash
trap 'echo stopped >"$1"; exit 0' TERM
while :; do sleep 0.1; done
STANDIN
chmod +x "$DIR/service"
service_hook() {
  echo "--before_broker=[ ! -e \"\$WORK/broker.sock\" ] && printf '%s\n' --flag_one '--flag two' >\"\$WORK/broker.args\"
    \"$DIR/service\" \"$DIR/$1\" >/dev/null 2>&1 & echo \$! >>\"\$WORK/services.pids\""
}
cat >"$DIR/args_broker" <<'STANDIN'
#!/bin/bash
printf '%s\n' "$@" >"$STANDIN_BROKER_ARGS"
exec "$(dirname "$0")/broker" "$@"
STANDIN
chmod +x "$DIR/args_broker"
export STANDIN_BROKER_ARGS="$DIR/broker.args.seen"
output=$(STANDIN_BROKER=ready STANDIN_VMM=pass "$RUN_CASE" --broker="$DIR/args_broker" \
  --vmm="$DIR/vmm" --payload="$DIR/payload" --ready_timeout=2 --vmm_timeout=2 \
  "$(service_hook stopped.pass)" 2>&1)
if grep -qF "run_case: PASS" <<<"$output" && grep -qx -- "--flag_one" "$STANDIN_BROKER_ARGS" \
    && grep -qx -- "--flag two" "$STANDIN_BROKER_ARGS" && grep -qx stopped "$DIR/stopped.pass"; then
  echo "ok   before_broker_args_and_services"
else
  echo "FAIL before_broker_args_and_services: $output / $(cat "$STANDIN_BROKER_ARGS" "$DIR/stopped.pass" 2>&1)"
  failures=$((failures + 1))
fi
expect services_stopped_on_failure ready fail 1 "RESULT: fail" "$(service_hook stopped.fail)"
if grep -qx stopped "$DIR/stopped.fail"; then
  echo "ok   services_stopped_on_failure_file"
else
  echo "FAIL services_stopped_on_failure_file: $(cat "$DIR/stopped.fail" 2>&1)"
  failures=$((failures + 1))
fi
expect failing_before_broker_hook ready pass 1 "the before_broker hook exited with status 7" \
  --before_broker='exit 7'

# check_pcimem_frames.sh: signatures in place pass, a missing one fails.
readonly CHECK_FRAMES="${TEST_SRCDIR:?}/faultline/integration/e2e/check_pcimem_frames.sh"
for frame in 0 1 2; do
  head -c 4088 /dev/zero
  printf "\\$(printf '%03o' "$frame")\\000\\000\\124\\123\\105\\125\\107"
done >"$DIR/frames.bin"
if "$CHECK_FRAMES" "$DIR/frames.bin" 3 >/dev/null; then
  echo "ok   frames_signed"
else
  echo "FAIL frames_signed: the checker refused correct frames"
  failures=$((failures + 1))
fi
head -c 12288 /dev/zero >"$DIR/zeros.bin"
if "$CHECK_FRAMES" "$DIR/zeros.bin" 3 2>"$DIR/check.err"; then
  echo "FAIL frames_unsigned: the checker accepted zero frames"
  failures=$((failures + 1))
elif grep -q "frame 0 word 511 is 0000000000000000, want 4755455354000000" "$DIR/check.err"; then
  echo "ok   frames_unsigned"
else
  echo "FAIL frames_unsigned: unclear message: $(cat "$DIR/check.err")"
  failures=$((failures + 1))
fi

leftovers=$(find "$DIR" -maxdepth 1 -name 'e2e-*' | wc -l)
if [[ $leftovers -ne 0 ]]; then
  echo "FAIL: run_case.sh left $leftovers work folders behind"
  failures=$((failures + 1))
fi
[[ $failures -eq 0 ]] || exit 1
echo "PASS: run_case.sh"

#!/bin/bash
# Runs a command through the testhost CLI and checks one behaviour, named by
# the first argument. The second is testhost's --where: "testhost" (the
# default) always boots the nested test host through libvirt, so the launcher
# is tested even on machines with /dev/kvm; "auto" runs directly there.
set -uo pipefail

readonly WHERE="${2:-testhost}"

readonly RUNFILES="${TEST_SRCDIR:?run me with bazel test}/faultline/integration/testhost"
readonly TESTHOST="$RUNFILES/testhost"
readonly LOG="${TEST_TMPDIR:?}/testhost.stderr"

fail() {
  echo "FAIL: $*" >&2
  echo "--- testhost stderr:" >&2
  cat "$LOG" >&2 2>/dev/null
  exit 1
}

ran_directly() { grep -q "running directly" "$LOG"; }

# Runs testhost with the given arguments; sets $status, keeps stdout in $out.
run_testhost() {
  out=$("$TESTHOST" run --where="$WHERE" "$@" 2>"$LOG")
  status=$?
  echo "$out"
  cat "$LOG" >&2
}

case "${1:-}" in
  true)
    run_testhost --timeout=300s -- /bin/true
    [[ $status -eq 0 ]] || fail "testhost run -- /bin/true exited $status, want 0"
    ;;
  exit_status)
    run_testhost --timeout=300s -- /bin/sh -c 'exit 7'
    [[ $status -eq 7 ]] || fail "exit 7 came back as $status"
    ;;
  timeout)
    run_testhost --timeout=20s -- /bin/sh -c 'echo sleeping; sleep 600'
    [[ $status -eq 124 ]] || fail "a command past --timeout exited $status, want 124"
    grep -q "timed out after 20s" "$LOG" || fail "no timeout message"
    ran_directly && exit 0  # there is no domain
    domain=$(sed -n 's/^testhost: started domain \(faultline-testhost-[0-9a-f-]*\) in .*$/\1/p' "$LOG")
    [[ -n "$domain" ]] || fail "testhost did not name its domain"
    domains=$(virsh -c qemu:///system list --all --name) || fail "virsh list failed"
    if grep -qx "$domain" <<<"$domains"; then
      fail "domain $domain still exists after the timeout"
    fi
    ;;
  sigterm)
    # SIGTERM (as from Ctrl-C or a test runner) must destroy the domain.
    "$TESTHOST" run --where="$WHERE" --timeout=300s -- /bin/sh -c 'echo sleeping; sleep 600' \
      >"$TEST_TMPDIR/out" 2>"$LOG" &
    launcher=$!
    for _ in $(seq 600); do  # bounded: at most about 5 minutes
      grep -q sleeping "$TEST_TMPDIR/out" && break
      kill -0 "$launcher" 2>/dev/null || break
      sleep 0.5
    done
    grep -q sleeping "$TEST_TMPDIR/out" || { kill -KILL "$launcher"; fail "the command never started"; }
    kill -TERM "$launcher"
    wait "$launcher"
    status=$?
    cat "$LOG" >&2
    [[ $status -eq 143 ]] || fail "after SIGTERM testhost exited $status, want 143"
    ran_directly && exit 0
    domain=$(sed -n 's/^testhost: started domain \(faultline-testhost-[0-9a-f-]*\) in .*$/\1/p' "$LOG")
    [[ -n "$domain" ]] || fail "testhost did not name its domain"
    if virsh -c qemu:///system list --all --name | grep -qx "$domain"; then
      fail "domain $domain still exists after SIGTERM"
    fi
    ;;
  kvm_probe)
    probe=$(realpath "$RUNFILES/kvm_probe")
    run_testhost --timeout=300s -- "$probe"
    [[ $status -eq 0 ]] || fail "kvm_probe exited $status inside the test host"
    grep -q "kvm_probe: ok" <<<"$out" || fail "kvm_probe did not report success"
    if [[ "$WHERE" == testhost ]] && ran_directly; then
      fail "--where=testhost ran directly"
    fi
    echo "kvm_probe ran $(ran_directly && echo directly || echo 'in the nested test host')"
    ;;
  *)
    echo "usage: boot_test.sh true|exit_status|timeout|sigterm|kvm_probe [testhost|auto]" >&2
    exit 2
    ;;
esac
echo "PASS: $1"

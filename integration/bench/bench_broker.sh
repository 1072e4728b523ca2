# Sourced by the in-guest benchmark scripts (guest_run.sh, linux_boot.sh):
# starts a broker in a fresh work folder under /tmp and waits for its ready
# line; stops it on exit. Needs $broker (the binary) and the caller's name
# in $bench_name; sets $work and $socket, and defines fail().
work=$(mktemp -d "/tmp/fl-$bench_name-XXXXXX")
socket="$work/broker.sock"
broker_pid=""
cleanup() {
  if [[ -n "$broker_pid" ]]; then
    kill -TERM "$broker_pid" 2>/dev/null
    wait "$broker_pid" 2>/dev/null
  fi
}
trap cleanup EXIT
fail() { echo "$bench_name: FAILED: $*" >&2; exit 1; }

"$broker" --socket="$socket" --device_memory_dir="$work" \
  >"$work/broker.out" 2>"$work/broker.log" &
broker_pid=$!
ready="broker: serving on unix:$socket"
for _ in $(seq 300); do
  grep -qxF "$ready" "$work/broker.out" && break
  kill -0 "$broker_pid" 2>/dev/null || fail "the broker exited: $(cat "$work/broker.log")"
  sleep 0.1
done
grep -qxF "$ready" "$work/broker.out" || fail "the broker was not ready in 30 s"

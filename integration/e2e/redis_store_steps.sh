#!/bin/bash
# Hook steps of the Redis store case, in shell (a Python start costs seconds
# in the test host). WORK is the case's work folder.
#   redis_store_steps.sh cluster REDIS_CLUSTER [MASTERS [REPLICAS]]
#       (before_broker) starts a Redis Cluster (default 3+3) for the case, lists it in
#       WORK/services.pids, and gives the case's broker --store=redis://...
#   redis_store_steps.sh fill BROKER BROKERCTL PATTERN_IMAGE SEED BYTES STORE
#       (before_vmm) starts a second broker, B, on the same cluster, puts
#       BYTES of pattern SEED into STORE through it with brokerctl, lists
#       the stores through the case's broker (A), and stops B.
set -euo pipefail
: "${WORK:?}"
step=${1:?step}
shift

wait_for() {  # wait_for SECONDS DESCRIPTION TEST...
  local seconds=$1 what=$2
  shift 2
  # A deadline by the clock, not a count of tries: under TCG each try costs
  # far more than its sleep.
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    "$@" && return 0
    sleep 0.1
  done
  echo "redis_store_steps: $what did not happen within ${seconds}s" >&2
  return 1
}

case "$step" in
  cluster)
    tool=${1:?REDIS_CLUSTER} masters=${2:-3} replicas=${3:-1}
    # The test host starts with loopback down; the servers listen on it.
    ip link set lo up || { echo "redis_store_steps: cannot bring loopback up" >&2; exit 1; }
    mkdir -p "$WORK/redis"
    TEST_TMPDIR="$WORK/redis" "$tool" "$WORK/redis.seeds" "$masters" "$replicas" \
      >"$WORK/redis_cluster.log" 2>&1 </dev/null &
    echo $! >>"$WORK/services.pids"
    wait_for 300 "the Redis cluster" test -s "$WORK/redis.seeds" \
      || { cat "$WORK/redis_cluster.log" >&2; exit 1; }
    printf '%s\n' "--store=redis://$(cat "$WORK/redis.seeds")" \
      --store_cache_mib=16 >"$WORK/broker.args"
    echo "redis cluster: $(cat "$WORK/redis.seeds")"
    ;;
  fill)
    broker=${1:?} brokerctl=${2:?} pattern_image=${3:?} seed=${4:?} bytes=${5:?} store=${6:?}
    mapfile -t store_args <"$WORK/broker.args"
    mkdir -p "$WORK/b_device_memory"
    "$broker" --socket="$WORK/b.sock" --device_memory_dir="$WORK/b_device_memory" \
      "${store_args[@]}" >"$WORK/broker_b.out" 2>"$WORK/broker_b.log" </dev/null &
    b_pid=$!
    echo "$b_pid" >>"$WORK/services.pids"
    wait_for 60 "broker B's ready line" \
      grep -qxF "broker: serving on unix:$WORK/b.sock" "$WORK/broker_b.out" \
      || { cat "$WORK/broker_b.log" >&2; exit 1; }
    "$pattern_image" "$seed" "$bytes" "$WORK/store.img"
    "$brokerctl" --broker="unix:$WORK/b.sock" --timeout=100s put "$store" "$WORK/store.img"
    rm -f "$WORK/store.img"
    kill -TERM "$b_pid"
    wait_for 20 "broker B's exit" sh -c "! kill -0 $b_pid 2>/dev/null"
    # What broker A sees of it: the store filled through B.
    "$brokerctl" --broker="$BROKER" --timeout=60s stores | tee "$WORK/stores.txt"
    grep -q "^$store  *$((bytes / 4096)) " "$WORK/stores.txt"
    ;;
  *)
    echo "redis_store_steps: unknown step $step" >&2
    exit 2
    ;;
esac

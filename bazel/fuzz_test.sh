#!/usr/bin/env bash
# A fuzz target's run under `bazel test`: the seeds first (each must pass),
# then a bounded number of new inputs, whichever of runs or seconds ends
# first. Crash inputs go to the test's undeclared outputs.
# Usage: fuzz_test.sh FUZZER RUNS MAX_SECONDS SEED...
set -euo pipefail
fuzzer=$1 runs=$2 max_seconds=$3
shift 3

corpus="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
mkdir -p "$corpus"
cp "$@" "$corpus/"
artifacts="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}/"
mkdir -p "$artifacts"

exec "$fuzzer" -runs="$runs" -max_total_time="$max_seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts" "$corpus"

#!/usr/bin/env bash
# Runs each benchmark binary once with tiny sizes so `bazel test //...` keeps
# them building and working. Checks that they finish and print their tables;
# it asserts nothing about speed.
set -euo pipefail

bench_dir="${TEST_SRCDIR}/faultline/integration/bench"
out="${TEST_TMPDIR:-/tmp}/bench_smoke"
mkdir -p "$out"

fail() { echo "bench_smoke_test: FAILED: $*" >&2; exit 1; }

if [[ ! -w /dev/userfaultfd ]]; then
  echo "bench_smoke_test: /dev/userfaultfd is not writable here (needs root);"\
       "running the broker benchmark only"
else
  timeout 120 "$bench_dir/fault_path_bench" --region_kib=256 --threads=1,2 \
    --deadline=30s --csv="$out/fault_path.csv" >"$out/fault_path.md" \
    || fail "fault_path_bench exited $?"
  grep -q '^| sequential | 1 | local |' "$out/fault_path.md" \
    || fail "no limit row in the fault-path table"
  grep -q '^| random | 2 | stream+prefetch/tcp |' "$out/fault_path.md" \
    || fail "no stream+prefetch/tcp row in the fault-path table"
  grep -q '^| random | 2 | stream+staging+prefetch/unix |' "$out/fault_path.md" \
    || fail "no stream+staging+prefetch/unix row in the fault-path table"
  grep -q '^| random | 2 | ring+prefetch/unix |' "$out/fault_path.md" \
    || fail "no ring+prefetch/unix row in the fault-path table"
  # Header plus 3 orders x 2 thread counts x (1 local + 3 modes x 2
  # transports + 2 staging and 2 ring modes on the Unix socket).
  rows=$(wc -l <"$out/fault_path.csv")
  ((rows == 1 + 3 * 2 * 11)) || fail "fault_path.csv has $rows lines"

  timeout 180 "$bench_dir/store_path_bench" --region_kib=256 --repetitions=1 \
    --stores=memory,cluster --deadline=30s --csv="$out/store_path.csv" \
    >"$out/store_path.md" || fail "store_path_bench exited $?"
  grep -q '^| redis cluster | 15 | warm |' "$out/store_path.md" \
    || fail "no warm cluster prefetch row in the store table"
  grep -q '^- cold single fault: p50' "$out/store_path.md" \
    || fail "no goal verdicts in the store table"
  rows=$(wc -l <"$out/store_path.csv")
  ((rows == 1 + 2 * 2 * 2)) || fail "store_path.csv has $rows lines"
fi

timeout 120 "$bench_dir/broker_load_bench" --sessions=2 --in_flight=4 \
  --region_mib=1 --duration=300ms --storm_in_flight=8 --repetitions=1 \
  --csv="$out/broker_load.csv" >"$out/broker_load.md" \
  || fail "broker_load_bench exited $?"
grep -q '^| \*\*all 2\*\* |' "$out/broker_load.md" \
  || fail "no total row in the throughput table"
grep -q '^| beside a retry storm |' "$out/broker_load.md" \
  || fail "no retry-storm row in the fairness table"

echo "bench_smoke_test: PASSED"

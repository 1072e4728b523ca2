#!/usr/bin/env bash
# The CRIU peer end to end in the nested test host, tiny (1 MiB, one
# repetition): the limit, one faultline row and both CRIU rows. For each CRIU
# row that means a dump, a lazy restore (local lazy-pages, and the page
# server over TCP), every page touched and every page's content checked by
# the restored toucher (peer_bench fails on a wrong byte). No timing
# assertions. Always boots the test host: CRIU does not work on the
# development machines' kernel.
set -euo pipefail

bench="${TEST_SRCDIR}/faultline/integration/bench"
testhost="${TEST_SRCDIR}/faultline/integration/testhost/testhost"
broker="${TEST_SRCDIR}/faultline/broker/broker"
results="${TEST_TMPDIR}/peer_results"
mkdir -p "$results"

fail() {
  echo "criu_peer_smoke_test: FAILED: $*" >&2
  [[ -s "$results/console.log" ]] && tail -40 "$results/console.log" >&2
  exit 1
}

inside=/tmp/testhost-results
"$testhost" run --where=testhost --timeout=8m --results="$results" \
  --console="$results/console.log" -- \
  "$bench/peer_run.sh" "$bench/peer_bench" \
  --rows=local,stream+staging+prefetch/unix,criu/lazy-pages,criu/page-server \
  --orders=random --region_kib=1024 --repetitions=1 --deadline=2m \
  --broker_binary="$broker" --toucher_binary="$bench/criu_toucher" \
  --markdown="$inside/peer.md" --csv="$inside/peer.csv" \
  --cdf_dir="$inside/cdf" \
  || fail "peer_bench in the test host exited $?"

for row in local stream+staging+prefetch/unix criu/lazy-pages criu/page-server; do
  grep -qF "| random | $row |" "$results/peer.md" || fail "no $row row"
done
# Header plus one line per row; every row touched all 256 pages.
lines=$(wc -l <"$results/peer.csv")
((lines == 5)) || fail "peer.csv has $lines lines"
awk -F, 'NR > 1 && $3 != 256 { exit 1 }' "$results/peer.csv" \
  || fail "a row did not touch 256 pages"
for i in 1 2 3 4; do
  [[ -s "$results/cdf/cdf_random_$i.dat" ]] || fail "no CDF points for row $i"
done
echo "criu_peer_smoke_test: PASSED"
cat "$results/peer.md"

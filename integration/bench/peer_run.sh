#!/usr/bin/env bash
# Prepares the nested test host for CRIU and runs the side-by-side
# benchmark there: loopback up (TCP rows, CRIU's kerndat and page server),
# the kernel modules CRIU's kerndat needs (nf_tables and the socket *_diag
# modules, from the unpacked test host kernel that tools/setup indexed with
# depmod), `criu check`, then the command given.
# Usage (inside the test host): peer_run.sh PEER_BENCH [FLAGS...]
# PEER_BENCH gets --work_dir in /tmp; when it fails, the CRIU and broker
# logs are copied to $TESTHOST_RESULTS/peer-logs.
set -euo pipefail

readonly KERNEL_DIR=/var/cache/faultline/kernel
readonly CRIU_MODULES=(nf_tables inet_diag tcp_diag udp_diag raw_diag
                       unix_diag netlink_diag af_packet_diag)

fail() { echo "peer_run: FAILED: $*" >&2; exit 1; }

(($# >= 1)) || fail "usage: peer_run.sh PEER_BENCH [FLAGS...]"
ip link set lo up || fail "cannot bring loopback up"
release=$(uname -r)
if [[ -d "$KERNEL_DIR/lib/modules/$release" ]]; then
  [[ -s "$KERNEL_DIR/lib/modules/$release/modules.dep" ]] \
    || fail "no modules.dep for $release in $KERNEL_DIR: run tools/setup"
  modprobe -d "$KERNEL_DIR" -S "$release" -a "${CRIU_MODULES[@]}" \
    || fail "loading ${CRIU_MODULES[*]} failed"
fi
command -v criu >/dev/null || fail "criu is not installed: run tools/setup"
criu check >"${TMPDIR:-/tmp}/criu-check.log" 2>&1 \
  || fail "criu check: $(tail -3 "${TMPDIR:-/tmp}/criu-check.log")"
if [[ -n "${TESTHOST_RESULTS:-}" ]]; then
  {
    echo "- test host: kernel $(uname -r), $(nproc) vCPUs, $(free -m | awk '/^Mem:/ {print $2}') MiB, criu $(criu --version | sed -n 's/^Version: //p')"
    echo "- test host load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$TESTHOST_RESULTS/test_host.md"
fi
work=$(mktemp -d /tmp/fl-peer-XXXXXX)
status=0
"$@" --work_dir="$work" || status=$?
if ((status != 0)) && [[ -n "${TESTHOST_RESULTS:-}" ]]; then
  (cd "$work" && find . -name '*.log' | cpio -pdm "$TESTHOST_RESULTS/peer-logs" 2>/dev/null)
  echo "peer_run: logs in $TESTHOST_RESULTS/peer-logs" >&2
fi
rm -rf "$work"
[[ -n "${TESTHOST_RESULTS:-}" ]] \
  && echo "- test host load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TESTHOST_RESULTS/test_host.md"
exit "$status"

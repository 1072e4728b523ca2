"""BrokerAdmin: list sessions and print the broker's statistics.

    python3 admin_stats.py unix:/tmp/faultline/broker.sock
"""

import sys

import faultline_client as fl


def main(address):
    with fl.Broker(address) as broker:
        for session in broker.sessions():
            regions = ",".join(f"{r.region_id}:{r.name}"
                               for r in session.regions)
            print(f"session {session.session_id} vm={session.vm_name} "
                  f"peer={session.peer} regions={regions}")
        stats = broker.stats()
        total = stats.total
        print(f"total: faults={total.faults} pages={total.pages} "
              f"zeros={total.zeros} frames={total.frames} "
              f"retries={total.retries} errors={total.errors} "
              f"invalid={total.invalid_requests} "
              f"p50us={total.latency.p50_us}")
        for retry in total.retries_by_reason:
            print(f"  retries {fl.pb.RetryReason.Name(retry.reason)}: "
                  f"{retry.count}")


if __name__ == "__main__":
    main(sys.argv[1])

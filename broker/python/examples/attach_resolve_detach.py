"""FaultBroker: attach a VM with pattern RAM, resolve faults, detach.

    python3 attach_resolve_detach.py unix:/tmp/faultline/broker.sock
"""

import sys

import faultline_client as fl


def main(address):
    with fl.Broker(address) as broker:
        session = broker.attach(
            "py-example", [fl.pattern_region(1, 0x100000, 64, seed=7)])
        print(f"attached session {session.session_id}")
        first = broker.resolve(session, 1, 0)
        again = broker.resolve(session, 1, 0, fault_id=2)
        print(f"offset 0x0: {fl.answer_kind(first)} of "
              f"{len(first.page.data)} bytes, "
              f"same again: {first.page.data == again.page.data}")
        ahead = broker.resolve(session, 1, 0x1000, fault_id=3,
                               prefetch_hint=3)
        print(f"offset 0x1000: {fl.answer_kind(ahead)} with "
              f"{len(ahead.extra_pages)} prefetched pages")
        try:
            broker.resolve(session, 1, 64 * 4096, fault_id=4)
        except fl.BrokerError as error:
            print(f"offset past the region: {error.code.name}")
        broker.detach(session)
        print("detached")


if __name__ == "__main__":
    main(sys.argv[1])

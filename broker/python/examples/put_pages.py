"""BrokerAdmin page stores: fill one with PutPages, serve a VM's RAM from it,
list the stores, delete it.

    python3 put_pages.py unix:/tmp/faultline/broker.sock
"""

import sys

import faultline_client as fl
from faultline.v1 import wire


def main(address):
    with fl.Broker(address) as broker:
        pages = b"".join(bytes([page]) * wire.kPageBytes for page in range(8))
        written = broker.put_pages("pystore", pages)
        print(f"put {written} pages into store pystore")
        session = broker.attach("py-store", [
            fl.store_region(1, 0x100000, 16, "pystore")])
        answer = broker.resolve(session, 1, 3 * wire.kPageBytes)
        print(f"offset 0x3000: {fl.answer_kind(answer)} filled with "
              f"{answer.page.data[0]}, matches: "
              f"{answer.page.data == pages[3 * wire.kPageBytes:4 * wire.kPageBytes]}")
        missing = broker.resolve(session, 1, 12 * wire.kPageBytes, fault_id=2)
        print(f"offset 0xc000 (never put): {fl.answer_kind(missing)} "
              f"{fl.pb.RetryReason.Name(missing.retry.reason)}")
        listed = broker.stores()
        for store in listed.stores:
            print(f"store {store.store}: {store.pages} pages "
                  f"(backend {listed.backend})")
        print(f"deleted pystore: {broker.delete_store('pystore')} pages")
        gone = broker.resolve(session, 1, 3 * wire.kPageBytes, fault_id=3)
        print(f"offset 0x3000 after the delete: {fl.answer_kind(gone)}")
        broker.detach(session)


if __name__ == "__main__":
    main(sys.argv[1])

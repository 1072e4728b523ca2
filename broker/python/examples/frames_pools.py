"""BrokerAdmin frames and pools: fill a shared pool before a VM attaches,
attach a device region on it, fault a BAR page (a frame answer), read the
frame back and list the pools.

    python3 frames_pools.py unix:/tmp/faultline/broker.sock
"""

import sys

import faultline_client as fl
from faultline.v1 import wire


def main(address):
    with fl.Broker(address) as broker:
        frames = bytes([0x5A]) * wire.kPageBytes + bytes([0xA5]) * wire.kPageBytes
        broker.write_frames("pyframes", 0, frames, create_frame_count=2)
        print("wrote 2 frames to pool pyframes before any attach")
        session = broker.attach("py-frames", [
            fl.device_region(2, 0xC0000000, 4, "pyframes", 2)])
        answer = broker.resolve(session, 2, 1 * wire.kPageBytes)
        print(f"BAR page 1: {fl.answer_kind(answer)} {answer.frame.frame}")
        data = broker.read_frames("pyframes", answer.frame.frame, 1)
        print(f"frame {answer.frame.frame} reads 0x{data[0]:02X} "
              f"x{len(data)}")
        for pool in broker.pools():
            print(f"pool {pool.pool}: {pool.frames_in_use}/{pool.frame_count}"
                  f" frames in use, sessions {list(pool.session_ids)}")
        broker.detach(session)


if __name__ == "__main__":
    main(sys.argv[1])

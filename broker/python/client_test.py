"""The Python client and its examples against the real broker binary, over
its Unix socket: each example runs as a person would run it, and its output
is checked; the client's errors carry the broker's status."""

import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import faultline_client as fl
from faultline.v1 import wire

ARGS = None
# Generous for a loaded 2-core machine; only a bound, never a measurement.
DEADLINE_S = 60


class BrokerProcess:
    """The broker binary on a fresh socket; stopped with SIGTERM."""

    def __init__(self, binary, workdir):
        self.socket = os.path.join(workdir, "broker.sock")
        # A file, not a pipe, so a chatty broker never blocks on its stderr.
        self.log_path = os.path.join(workdir, "broker.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--socket={self.socket}",
                 f"--device_memory_dir={workdir}", "--worker_threads=2"],
                stdout=subprocess.PIPE, stderr=log)
        ready, _, _ = select.select([self.process.stdout], [], [], DEADLINE_S)
        line = self.process.stdout.readline().decode() if ready else ""
        if not line.startswith("broker: serving on unix:"):
            self.stop()
            with open(self.log_path) as log:
                raise RuntimeError(
                    f"broker did not get ready: {line!r} {log.read()}")
        self.address = f"unix:{self.socket}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return self.process.returncode


class ClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # A short path: a Unix socket's is at most 107 bytes.
        cls.workdir = tempfile.mkdtemp(prefix="faultline-py-", dir="/tmp")
        cls.broker = BrokerProcess(ARGS.broker_binary, cls.workdir)

    @classmethod
    def tearDownClass(cls):
        stopped = cls.broker.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)
        assert stopped == 0, f"broker exited {stopped}"

    def run_example(self, name):
        result = subprocess.run(
            [sys.executable, os.path.join(ARGS.examples, name),
             self.broker.address],
            capture_output=True, text=True, timeout=DEADLINE_S, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_attach_resolve_detach(self):
        out = self.run_example("attach_resolve_detach.py")
        self.assertRegex(out, r"attached session [0-9a-f]{16}\n")
        self.assertIn("offset 0x0: page of 4096 bytes, same again: True", out)
        self.assertIn("offset 0x1000: page with 3 prefetched pages", out)
        self.assertIn("offset past the region: INVALID_ARGUMENT", out)
        self.assertTrue(out.endswith("detached\n"), out)

    def test_admin_stats(self):
        with fl.Broker(self.broker.address) as broker:
            session = broker.attach(
                "py-stats", [fl.pattern_region(1, 0, 4, seed=3, name="low")])
            broker.resolve(session, 1, 0)
            out = self.run_example("admin_stats.py")
            self.assertIn(f"session {session.session_id} vm=py-stats peer=uid=",
                          out)
            self.assertIn("regions=1:low", out)
            self.assertRegex(out, r"total: faults=[1-9]")
            broker.detach(session)

    def test_frames_and_pools(self):
        out = self.run_example("frames_pools.py")
        self.assertIn("wrote 2 frames to pool pyframes", out)
        self.assertIn("BAR page 1: frame 1", out)
        self.assertIn("frame 1 reads 0xA5 x4096", out)
        self.assertRegex(out, r"pool pyframes: 1/2 frames in use, sessions "
                              r"\['[0-9a-f]{16}'\]")

    def test_put_pages(self):
        out = self.run_example("put_pages.py")
        self.assertIn("put 8 pages into store pystore", out)
        self.assertIn("offset 0x3000: page filled with 3, matches: True", out)
        self.assertIn("offset 0xc000 (never put): retry "
                      "RETRY_REASON_NOT_YET_AVAILABLE", out)
        self.assertIn("store pystore: 8 pages (backend memory)", out)
        self.assertIn("deleted pystore: 8 pages", out)
        self.assertIn("offset 0x3000 after the delete: retry", out)

    def test_refusals_carry_the_brokers_status(self):
        with fl.Broker(self.broker.address) as broker:
            session = broker.attach(
                "py-refused", [fl.pattern_region(1, 0, 4, seed=1)])
            stolen = fl.pb.AttachResponse(session_id=session.session_id,
                                          session_token="0" * 32)
            with self.assertRaises(fl.BrokerError) as refused:
                broker.resolve(stolen, 1, 0)
            self.assertEqual(refused.exception.code.name, "PERMISSION_DENIED")
            self.assertIn(wire.kSessionTokenKey, refused.exception.details)
            # The same owner attaching the name again, with no stream open,
            # takes it over: the first session is gone.
            again = broker.attach("py-refused",
                                  [fl.pattern_region(1, 0, 4, seed=1)])
            with self.assertRaises(fl.BrokerError) as gone:
                broker.resolve(session, 1, 0)
            self.assertEqual(gone.exception.code.name, "NOT_FOUND")
            broker.detach(again)
            with self.assertRaises(ValueError):
                broker.put_pages("pystore", b"short")
            with self.assertRaises(ConnectionError):
                fl.Broker("unix:" + os.path.join(self.workdir, "nobody.sock"),
                          timeout=0.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker_binary", required=True)
    parser.add_argument("--examples", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

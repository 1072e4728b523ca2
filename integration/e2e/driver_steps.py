#!/usr/bin/python3
"""The host's side of linux_driver_test (the guest's is driver_checks.sh):
steps on a Linux guest whose faultline_mem driver maps the PCI memory
device's frames. Run from run_case.sh's hooks like steps.py, whose Case,
StepError and waits they share:

  driver_steps.py --brokerctl=PATH --control=SOCKET STEP [options]

During the run:
  drive         follows the guest through driver_checks.sh: reads back the
                signatures the guest wrote (through the broker), revokes
                frames while guest threads touch them and marks page 0 once
                the VMM mapped them again; revokes page 8 four times, one
                at a time, under one touching thread, and marks it; delays
                the broker's answers for pages 64-95 and SIGKILLs and
                restarts the broker while guest processes wait for them;
                then makes page 100 answer retry and page 101 answer error
                and tells the guest
After the VMM ended:
  check-driver  the VMM completed the revocations, reconnected to the
                restarted broker and resent what the killed one held, and
                the guest passed
"""

import argparse
import os
import socket
import struct
import sys
import time

from steps import (PAGE, StepError, log, request_broker_restart, run_step,
                   wait_serial)

SIGNATURE_BASE = 0x4755455354000000  # proto/guest_abi.h PciMemFrameSignature
SIGNATURE_WORD = 511


def type_line(case, line, socket_name="console.sock"):
    path = os.path.join(case.work, socket_name)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                conn.sendall((line + "\n").encode())
            log("typed %r into the guest's console" % line)
            return
        except OSError as e:
            if time.monotonic() > deadline:
                raise StepError("cannot type into %s: %s" % (path, e))
            time.sleep(0.2)


def check_signatures(case, pool, frames):
    out = os.path.join(case.work, "signed.bin")
    case.brokerctl("frames", "read", pool, "0", str(frames), "--out=" + out)
    with open(out, "rb") as f:
        data = f.read()
    for frame in range(frames):
        at = frame * PAGE + SIGNATURE_WORD * 8
        (word,) = struct.unpack_from("<Q", data, at)
        if word != SIGNATURE_BASE | frame:
            raise StepError("frame %d word 511 is %#x, want the guest's %#x"
                            % (frame, word, SIGNATURE_BASE | frame))
    log("the guest's signature is in all %d frames of pool %s" % (frames, pool))


def revoke_and_wait(case, args, window, session, pages):
    """Revokes the pages' frames and waits until the VMM has mapped as many
    frames again: the guest touched each page after the revocation."""
    before = case.status()
    for page in pages:
        out = case.brokerctl("revoke", "--session=" + session["session_id"],
                             "--region=%d" % window["region_id"],
                             "--offset=%d" % (page * PAGE)).stdout
        log("brokerctl revoke page %d: %s" % (page, out.strip()))
    # Each revoked page the guest touches again is a PREPARE and a new frame
    # answer, with no vCPU waiting.
    deadline = time.monotonic() + args.timeout
    while True:
        now = case.status()
        if now["frames"] >= before["frames"] + len(pages):
            log("mapped again: %s" % now["line"])
            return
        if time.monotonic() > deadline:
            raise StepError("%d revoked frames were not mapped again within "
                            "%d s: %s" % (len(pages), args.timeout, now["line"]))
        time.sleep(0.2)


def mark(case, args, frame, seed):
    case.brokerctl("frames", "write", args.pool, str(frame),
                   "--pattern_seed=%d" % seed, "--count=1")
    log("frame %d marked with pattern %d: the guest's touch ends" % (frame, seed))


def revoke_while_touched(case, args, window, session):
    log("before the revocations: %s" % case.status()["line"])
    revoke_and_wait(case, args, window, session, range(args.revoke_pages))
    mark(case, args, 0, args.mark_seed)


def revocation_round_trips(case, args, window, session):
    # One at a time: each revocation's wait is one slow touch in the guest.
    for _ in range(args.round_trips):
        revoke_and_wait(case, args, window, session, [args.round_trip_page])
    mark(case, args, args.round_trip_page, args.round_trip_mark_seed)


def wait_in_flight(case, timeout):
    """Waits until the VMM has a request in flight for a device page the
    broker holds (the delayed pages), with no other answer for a second."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        case.check_vmm_alive("waiting for the delayed device pages")
        now = case.status()
        key = (now["faults"], now["frames"])
        if now["in_flight"] >= 1 and key == last:
            if time.monotonic() - since >= 1:
                return now
        else:
            last, since = key, time.monotonic()
        time.sleep(0.1)
    raise StepError("no device page stayed in flight within %d s" % timeout)


def restart_under_touch(case, args, session, window):
    # The killed broker holds the answers for pages 64-95 (frames 0-31 of
    # the identity policy) past the kill: the guest's processes wait in the
    # driver across it, and only the new broker's answers to the VMM's
    # resent requests can end their waits.
    first, last = args.restart_first, args.restart_first + args.restart_pages - 1
    log(case.inject(session, window, first * PAGE, last * PAGE,
                    "--delay_us=%d" % (args.restart_delay * 1000000), count=0))
    type_line(case, "pages %d-%d delayed by %d s" % (first, last, args.restart_delay))
    held = wait_in_flight(case, args.timeout)
    log("the guest waits for delayed pages: %s; killing the broker" % held["line"])
    request_broker_restart(case)


def drive(case, args):
    # The boot comes first: under load, TCG takes many minutes.
    wait_serial(case, "driver_checks: signed 64 frames", args.boot_timeout)
    check_signatures(case, args.pool, args.frames)
    wait_serial(case, "driver_checks: touching: revoke now", args.timeout)
    session = case.wait_session()
    window = case.region(session, "pcimem")
    revoke_while_touched(case, args, window, session)
    wait_serial(case, "driver_checks: round trip: revoke page", args.timeout)
    revocation_round_trips(case, args, window, session)
    wait_serial(case, "driver_checks: restart: delay pages?", args.timeout)
    restart_under_touch(case, args, session, window)
    # The VMM attached again: the new broker's session, rules and all.
    wait_serial(case, "driver_checks: injected? waiting for the host", args.timeout)
    session = case.wait_session()
    window = case.region(session, "pcimem")
    log(case.inject(session, window, 100 * PAGE, 100 * PAGE,
                    "--retry=not_yet_available", "--delay_us=100000", count=0))
    log(case.inject(session, window, 101 * PAGE, 101 * PAGE, "--error=bus_error",
                    "--message=e2e injected error", count=0))
    type_line(case, "page 100 answers retry, page 101 error")


def check_driver(case, args):
    vmm = case.vmm_stats()
    log("VMM: revocations %d, frame answers %d, errors %d" % (
        vmm["revocations"], vmm["answers"]["frame"], vmm["answers"]["error"]))
    want = args.revoke_pages + args.round_trips
    if vmm["revocations"] < want:
        raise StepError("the VMM completed %d revocations, want %d"
                        % (vmm["revocations"], want))
    restarts = int(case.read("broker.restarts"))
    log("broker restarts %d; VMM reconnects %d, resent %d" % (
        restarts, vmm["reconnects"], vmm["resent"]))
    if restarts != 1 or vmm["reconnects"] < 1 or vmm["resent"] < 1:
        raise StepError("want one broker restart, a VMM reconnect, and the "
                        "delayed pages' requests resent to the new broker")
    serial = case.read("serial.log")
    for line in serial.splitlines():
        if ("flmem: first touch" in line or "flmem: second touch" in line
                or "flmem: slow touches" in line):
            log("guest: " + line.strip())
    if "driver_checks: all checks passed" not in serial:
        raise StepError("the guest's checks did not all pass")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokerctl", required=True)
    parser.add_argument("--control", default="")
    parser.add_argument("--pool", default="pcimem")
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--revoke_pages", type=int, default=8)
    parser.add_argument("--mark_seed", type=int, default=77)
    parser.add_argument("--round_trip_page", type=int, default=8)
    parser.add_argument("--round_trips", type=int, default=4)
    parser.add_argument("--round_trip_mark_seed", type=int, default=78)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--boot_timeout", type=int, default=600)
    parser.add_argument("--restart_first", type=int, default=64)
    parser.add_argument("--restart_pages", type=int, default=32)
    # Past the kill, well within the VMM's 30 s fault deadline.
    parser.add_argument("--restart_delay", type=int, default=20)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("drive").set_defaults(run=drive)
    steps.add_parser("check-driver").set_defaults(run=check_driver)
    return run_step(parser.parse_args(), "driver_steps")


if __name__ == "__main__":
    sys.exit(main())

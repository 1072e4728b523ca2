#!/usr/bin/python3
"""Steps of end-to-end cases that boot kernels (vmm --kernel): Linux and
multiboot test kernels. Run from run_case.sh's hooks like steps.py, whose
Case, StepError and waits they share:

  kernel_steps.py --brokerctl=PATH [--control=SOCKET] STEP [options]

During the run:
  send-serial   once the guest printed a text, type a line into its console
                through the VMM's --serial_input socket
After the VMM ended:
  check-boot    the VMM's statistics say the guest booted lazily (its format,
                how it ended, the loader's pages, at least N faults, zero
                answers only when asked, the time to user-space output) and
                the serial output holds the given lines
"""

import argparse
import os
import socket
import sys
import time

from steps import StepError, log, run_step, wait_serial


def send_serial(case, args):
    wait_serial(case, args.wait_for, args.timeout)
    path = os.path.join(case.work, args.socket)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                conn.sendall((args.line + "\n").encode())
            break
        except OSError as e:
            if time.monotonic() > deadline:
                raise StepError("cannot type into %s: %s" % (path, e))
            time.sleep(0.2)
    log("typed %r into the guest's console" % args.line)


def check_boot(case, args):
    stats = case.vmm_stats()
    guest = stats.get("guest", {})
    log("guest: %s; faults %d, answers %s, extra pages %d" % (
        guest, stats["faults"], stats["answers"], stats["extra_pages"]))
    if guest.get("format") != args.format:
        raise StepError("the guest's format is %r, want %r" % (guest.get("format"), args.format))
    if args.end and guest.get("end") != args.end:
        raise StepError("the run ended with %r, want %r" % (guest.get("end"), args.end))
    if guest.get("loader_pages", 0) < args.min_loader_pages:
        raise StepError("the loader installed %d pages, want at least %d"
                        % (guest.get("loader_pages", 0), args.min_loader_pages))
    if stats["faults"] < args.min_faults:
        raise StepError("%d faults, want at least %d: RAM was not served lazily"
                        % (stats["faults"], args.min_faults))
    if args.zero_only and (stats["answers"]["page"] or stats["answers"]["error"]):
        raise StepError("a zero-source boot got page or error answers: %s" % stats["answers"])
    if args.user_output and guest.get("first_user_output_seconds") is None:
        raise StepError("no user-space output was timed")
    serial = case.read("serial.log")
    for line in args.serial:
        if line not in serial:
            raise StepError("the serial output lacks %r" % line)
    log("booted %s, ended %s, %d faults, first user-space output after %ss" % (
        args.format, guest.get("end"), stats["faults"],
        guest.get("first_user_output_seconds")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokerctl", required=True)
    parser.add_argument("--control", default="")
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("send-serial")
    p.add_argument("--wait_for", required=True)
    p.add_argument("--line", required=True)
    p.add_argument("--socket", default="console.sock", help="in WORK")
    p.add_argument("--timeout", type=int, default=600)
    p.set_defaults(run=send_serial)
    p = steps.add_parser("check-boot")
    p.add_argument("--format", required=True)
    p.add_argument("--end", default="")
    p.add_argument("--min_loader_pages", type=int, default=1)
    p.add_argument("--min_faults", type=int, default=0)
    p.add_argument("--zero_only", action="store_true")
    p.add_argument("--user_output", action="store_true")
    p.add_argument("--serial", action="append", default=[])
    p.set_defaults(run=check_boot)
    return run_step(parser.parse_args(), "kernel_steps")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Steps of end-to-end cases that act on a running VM or check its numbers.

Run from run_case.sh's hooks (inside the test host), which set BROKER
(unix:SOCKET), WORK (the case's work folder) and, during the run, VMM_PID:

  steps.py --brokerctl=PATH [--control=SOCKET] STEP [options]

Steps while the VMM runs (during_vmm):
  (steps that inject pause the VM first, so the guest cannot pass the
  ranges before the rules are set, and resume it after)
  retry-storm     pause the VM, inject retry rules of every reason on ranges
                  the guest touches later, resume
  pause-blocked   delay a page, wait until the vCPU is blocked on it, pause and
                  resume through the control socket, checking `status`
  stop-blocked    delay a page, wait until blocked, `stop`, wait for the VMM
  restart-broker  once the guest is partway through its RAM (page answers, or
                  faults for a kernel's boot), ask run_case.sh to SIGKILL
                  the broker and start it again on the same socket
  bus-error       pause the VM, make a page range answer error bus_error
  expect-source   check the session's RAM region is served by a given source
  revoke-frame    once pcimem reads BAR page 0 in a loop, revoke frame 0, wait
                  until the VMM maps it again (the guest's next read faulted),
                  then mark the frame so the guest finishes
Steps after the VMM ended (after_vmm):
  fault-count     broker's and VMM's resident pages == pages ramtouch touched
  check-retries   retries of every reason in broker and VMM statistics
  check-restart   the VMM reconnected and attached again after the restart
  check-error     the VMM stopped on a broker error for a page inside the
                  error range
  check-stop      the VMM stopped for the given kind (and message)
  check-revoked   the VMM completed one revocation and mapped the frame again
  check-machine-check
                  the VMM poisoned a page of the error range, and the guest's
                  machine-check bank names that same page

The VMM's side of every check comes from its --stats_json (WORK/stats.json):
counters, "stop" {kind, message, page} and "poisoned_pages" [{page, kind,
message}], never from its log lines.

Every wait has a deadline; a failed check prints what it saw and exits 1.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

PAGE = 4096
RETRY_REASONS = ("interrupted", "busy", "not_yet_available", "over_quota")


class StepError(Exception):
    pass


def log(message):
    print("steps: " + message, flush=True)


def size(text):
    """'12M' / '64K' / '4096' / '0x1000' -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1].upper() in units:
        return int(text[:-1], 0) * units[text[-1].upper()]
    return int(text, 0)


class Case:
    def __init__(self, args):
        self.brokerctl_path = args.brokerctl
        self.control_path = args.control
        self.broker = os.environ.get("BROKER", "")
        self.work = os.environ.get("WORK", "")
        if not self.broker or not self.work:
            raise StepError("BROKER and WORK must be set (run from a run_case.sh hook)")

    # -- the broker, through brokerctl --------------------------------------
    def brokerctl(self, *args, check=True):
        command = [self.brokerctl_path, "--broker=" + self.broker, "--timeout=10s"]
        command += list(args)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired:
            raise StepError("brokerctl %s did not finish within 30 s" % " ".join(args))
        if check and done.returncode != 0:
            raise StepError("brokerctl %s exited %d: %s" % (
                " ".join(args), done.returncode, done.stderr.strip()))
        return done

    def json_lines(self, *args):
        out = self.brokerctl("--json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_session(self, timeout=60):
        """The one attached VM's session, once its fault stream is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_vmm_alive("waiting for its broker session")
            for response in self.json_lines("sessions"):
                for session in response.get("sessions", []):
                    if session.get("stream_connected"):
                        return session
            time.sleep(0.2)
        raise StepError("no session with a connected stream within %d s" % timeout)

    @staticmethod
    def region(session, name):
        for region in session.get("regions", []):
            if region.get("name") == name:
                return region
        raise StepError("session %s has no region %r: %s" % (
            session.get("session_id"), name, json.dumps(session.get("regions"))))

    def inject(self, session, region, first, last, *action, count=1):
        out = self.brokerctl(
            "inject", "--session=" + session["session_id"],
            "--region=%d" % region["region_id"], "--first=%d" % first,
            "--last=%d" % last, "--count=%d" % count, *action).stdout.strip()
        return out

    def total_counters(self):
        responses = self.json_lines("stats")
        if len(responses) != 1:
            raise StepError("brokerctl --json stats printed %d objects" % len(responses))
        return responses[0].get("total", {})

    # -- the VMM -------------------------------------------------------------
    def check_vmm_alive(self, doing):
        pid = os.environ.get("VMM_PID")
        if pid and not os.path.exists("/proc/" + pid):
            raise StepError("the VMM exited while %s" % doing)

    def control(self, command):
        if not self.control_path:
            raise StepError("this step needs --control=SOCKET")
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(10)
                    conn.connect(self.control_path)
                    conn.sendall((command + "\n").encode())
                    reply = b""
                    while not reply.endswith(b"\n"):
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        reply += chunk
                    return reply.decode().strip()
            except (FileNotFoundError, ConnectionRefusedError):
                # The VMM creates the socket while it builds the VM.
                self.check_vmm_alive("waiting for its control socket")
                if time.monotonic() > deadline:
                    raise StepError("control socket %s did not answer within 30 s"
                                    % self.control_path)
                time.sleep(0.2)

    def status(self):
        """`status` as a dict: {'state': 'running', 'faults': 12, ...}."""
        reply = self.control("status")
        words = reply.split()
        if not words or words[0] not in ("running", "paused"):
            raise StepError("unexpected status reply: %r" % reply)
        fields = {"state": words[0], "line": reply}
        for word in words[1:]:
            key, _, value = word.partition("=")
            fields[key] = int(value)
        return fields

    def expect_control(self, command, want):
        reply = self.control(command)
        log("control %s -> %s" % (command, reply))
        if reply != want:
            raise StepError("control %s answered %r, want %r" % (command, reply, want))
        if command == "pause":
            # How far the guest got shows the margin before injected ranges.
            log("at pause: %s" % self.status()["line"])

    def wait_blocked(self, timeout=60, quiet_seconds=1.5):
        """Waits until a fault stays in flight with no other fault answered
        for quiet_seconds (faults take milliseconds when nothing is delayed),
        and the broker holds it too; returns the last status."""
        deadline = time.monotonic() + timeout
        last = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            self.check_vmm_alive("waiting for the vCPU to block on the delayed page")
            now = self.status()
            key = (now["faults"], now["pages"])
            if now["in_flight"] >= 1 and last == key:
                if time.monotonic() - since >= quiet_seconds:
                    held = self.wait_session()["faults_in_flight"]
                    if held >= 1:
                        log("blocked: %s; the broker holds %d fault(s)" % (now["line"], held))
                        return now
            else:
                last, since = key, time.monotonic()
            time.sleep(0.1)
        raise StepError("the vCPU did not block on the delayed page within %d s" % timeout)

    # -- the work folder -----------------------------------------------------
    def read(self, name):
        path = os.path.join(self.work, name)
        try:
            with open(path) as f:
                return f.read()
        except OSError as e:
            raise StepError("cannot read %s: %s" % (path, e))

    def vmm_stats(self):
        return json.loads(self.read("stats.json"))

    def touched_pages(self):
        found = re.findall(r"ramtouch: total (\d+) pages touched of (\d+)", self.read("serial.log"))
        if not found:
            raise StepError("the serial log has no 'ramtouch: total ... pages touched' line")
        return int(found[-1][0])


def broker_reason_counts(counters):
    counts = {}
    for entry in counters.get("retries_by_reason", []):
        reason = entry.get("reason", "").replace("RETRY_REASON_", "").lower()
        counts[reason] = int(entry.get("count", 0))
    return counts


# -- steps while the VMM runs ------------------------------------------------

def retry_storm(case, args):
    # Paused first, so the guest is still far below the ranges once they are set.
    case.expect_control("pause", "ok paused")
    session = case.wait_session()
    ram = case.region(session, "ram")
    first = size(args.from_offset)
    span = args.range_pages * PAGE
    rules = []
    for index in range(args.rules_per_reason * len(RETRY_REASONS)):
        reason = RETRY_REASONS[index % len(RETRY_REASONS)]
        start = first + index * span
        rules.append("%s@0x%x-0x%x" % (reason, start, start + span - PAGE))
    # Small rules, each used up by about one fault, keep each fault's backoff
    # short; one process sets them all (a brokerctl run per rule is slow here).
    command = [args.inject_rules, case.broker, session["session_id"],
               str(ram["region_id"]), str(args.count)] + rules
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise StepError("inject_rules did not finish within 60 s")
    if done.returncode != 0:
        raise StepError("inject_rules exited %d: %s" % (done.returncode, done.stderr.strip()))
    log("%d retry rules of %d answers each on [0x%x, 0x%x) of region ram" % (
        len(rules), args.count, first, first + len(rules) * span))
    case.expect_control("resume", "ok running")


def delay_and_wait_blocked(case, args):
    case.expect_control("pause", "ok paused")
    session = case.wait_session()
    ram = case.region(session, "ram")
    first = size(args.at)
    # A range of pages so that a fault (not a prefetched page) lands in it.
    case.inject(session, ram, first, first + args.range_pages * PAGE - PAGE,
                "--delay_us=%d" % args.delay_us, count=1)
    log("first fault in [0x%x, +%d pages) of region ram delayed by %.1f s" % (
        first, args.range_pages, args.delay_us / 1e6))
    case.expect_control("resume", "ok running")
    return case.wait_blocked()


def pause_blocked(case, args):
    blocked = delay_and_wait_blocked(case, args)
    case.expect_control("pause", "ok paused")
    paused = case.status()
    if paused["state"] != "paused":
        raise StepError("status after pause: %s" % paused["line"])
    # Paused for longer than the delay: the answer arrives while paused and
    # the guest must not run on (no new faults) until it is resumed.
    hold = args.delay_us / 1e6 + 1
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        now = case.status()
        if now["state"] != "paused" or now["faults"] != paused["faults"]:
            raise StepError("while paused: %s (at pause: %s)" % (now["line"], paused["line"]))
        time.sleep(0.25)
    log("paused %.1f s past the delay: %s" % (hold, case.status()["line"]))
    case.expect_control("resume", "ok running")
    running = case.status()
    if running["state"] != "running":
        raise StepError("status after resume: %s" % running["line"])
    log("resumed: %s (blocked at faults=%d)" % (running["line"], blocked["faults"]))


def stop_blocked(case, args):
    delay_and_wait_blocked(case, args)
    case.expect_control("stop", "ok stopping")
    pid = os.environ.get("VMM_PID", "")
    deadline = time.monotonic() + args.stop_within
    while pid and os.path.exists("/proc/" + pid):
        if time.monotonic() > deadline:
            raise StepError("the VMM still ran %d s after stop" % args.stop_within)
        time.sleep(0.1)
    log("the VMM ended after stop")


def restart_broker(case, args):
    case.wait_session()
    # Payloads count page answers; a kernel's boot mostly gets zero pages, so
    # it counts faults (--after_faults).
    counter, target = ("faults", args.after_faults) if args.after_faults else (
        "pages", args.after_pages)
    deadline = time.monotonic() + args.timeout
    while True:
        now = case.status()
        if now[counter] >= target:
            break
        if time.monotonic() > deadline:
            raise StepError("the guest did not reach %d %s within %d s: %s"
                            % (target, counter, args.timeout, now["line"]))
        time.sleep(0.2)
    log("requesting the broker restart at %s" % now["line"])
    request_broker_restart(case)
    with open(os.path.join(case.work, "restart_at_" + counter), "w") as f:
        f.write(str(now[counter]))


def request_broker_restart(case, timeout=60):
    """Asks run_case.sh to SIGKILL the broker and start it again; returns
    once the new one printed its ready line."""
    request = os.path.join(case.work, "broker.restart")
    open(request, "w").close()
    deadline = time.monotonic() + timeout
    while os.path.exists(request):
        failed = os.path.join(case.work, "broker.restart.failed")
        if os.path.exists(failed):
            raise StepError("the broker restart failed: " + case.read("broker.restart.failed"))
        if time.monotonic() > deadline:
            raise StepError("the broker was not restarted within %d s" % timeout)
        time.sleep(0.2)
    log("the broker runs again; VMM: %s" % case.status()["line"])


def error_range(args):
    """The injected error range [first, last] (page addresses) of --at and
    --range_pages."""
    first = size(args.at)
    return first, first + args.range_pages * PAGE - PAGE


def check_in_error_range(what, page, first, last):
    # RAM is region 'ram' at guest-physical 0, so its offsets are addresses.
    if not first <= page <= last:
        raise StepError("%s 0x%x is outside the injected range [0x%x, 0x%x]"
                        % (what, page, first, last))


def bus_error(case, args):
    case.expect_control("pause", "ok paused")
    session = case.wait_session()
    ram = case.region(session, "ram")
    first, last = error_range(args)
    case.inject(session, ram, first, last, "--error=bus_error",
                "--message=e2e injected bus error", count=0)
    log("region ram [0x%x, 0x%x] answers error bus_error" % (first, last))
    case.expect_control("resume", "ok running")


def wait_serial(case, text, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case.check_vmm_alive("waiting for %r on the serial console" % text)
        try:
            if text in case.read("serial.log"):
                return
        except StepError:
            pass  # not created yet
        time.sleep(0.2)
    raise StepError("the guest did not print %r within %d s" % (text, timeout))


def revoke_frame(case, args):
    wait_serial(case, "pcimem: revisit:", args.timeout)
    session = case.wait_session()
    window = case.region(session, "pcimem")
    before = case.status()
    log("before: %s" % before["line"])
    out = case.brokerctl("revoke", "--session=" + session["session_id"],
                         "--region=%d" % window["region_id"], "--offset=0").stdout
    log("brokerctl revoke: %s" % out.strip())
    # The guest reads page 0 in a loop: once the VMM has unmapped the frame,
    # the next read faults and the broker maps it again.
    deadline = time.monotonic() + args.timeout
    while True:
        now = case.status()
        if now["frames"] > before["frames"]:
            log("mapped again: %s" % now["line"])
            break
        if time.monotonic() > deadline:
            raise StepError("no new frame answer within %d s of the revocation: %s"
                            % (args.timeout, now["line"]))
        time.sleep(0.1)
    case.brokerctl("frames", "write", args.pool, "0",
                   "--pattern_seed=%d" % args.mark_seed, "--count=1")
    log("frame 0 marked with the pattern for seed %d" % args.mark_seed)


def check_revoked(case, args):
    vmm = case.vmm_stats()
    log("VMM: revocations %d, frame answers %d" % (vmm["revocations"],
                                                   vmm["answers"]["frame"]))
    if vmm["revocations"] != 1:
        raise StepError("the VMM completed %d revocations, want 1" % vmm["revocations"])
    if "frame 0 seen again after the host's mark" not in case.read("serial.log"):
        raise StepError("the guest did not see the mark written after the revocation")


def expect_source(case, args):
    session = case.wait_session()
    ram = case.region(session, "ram")
    source = ram.get("source", {})
    if args.kind not in source:
        raise StepError("region ram's source is %s, want %s" % (json.dumps(source), args.kind))
    log("region ram is served by %s" % json.dumps(source))


# -- steps after the VMM ended -------------------------------------------------

def fault_count(case, args):
    touched = case.touched_pages()
    if touched < args.min_pages:
        raise StepError("ramtouch touched %d pages, want at least %d" % (touched, args.min_pages))
    broker = case.total_counters()
    broker_pages = int(broker.get("pages", 0)) + int(broker.get("extra_pages", 0))
    vmm = case.vmm_stats()
    vmm_pages = int(vmm["answers"]["page"]) + int(vmm["extra_pages"])
    log("ramtouch touched %d pages; broker served %s faults: %s page answers + %s "
        "prefetched = %d pages; VMM installed %d + %d = %d pages" % (
            touched, broker.get("faults", 0), broker.get("pages", 0),
            broker.get("extra_pages", 0), broker_pages, vmm["answers"]["page"],
            vmm["extra_pages"], vmm_pages))
    if broker_pages != touched or vmm_pages != touched:
        raise StepError("pages served (broker %d, VMM %d) differ from pages touched (%d)"
                        % (broker_pages, vmm_pages, touched))
    if int(broker.get("zeros", 0)) != 0 or int(broker.get("retries", 0)) != 0:
        raise StepError("unexpected zero or retry answers: %s" % json.dumps(broker))


def fill_check(case, args):
    # Background fill: pages came ahead of the guest, the guest saw every
    # page right (ramtouch checks each word), and no page was installed
    # twice: fill + fault installs, less those that met a present page,
    # never exceed RAM.
    touched = case.touched_pages()
    vmm = case.vmm_stats()
    fill = vmm["background_fill"]
    filled = int(fill["pages"]) + int(fill["zero_pages"])
    installed = (filled + int(vmm["answers"]["page"]) + int(vmm["answers"]["zero"])
                 + int(vmm["extra_pages"]) - int(vmm["already_resolved"]))
    ram_pages = args.ram_mib * 256
    log("ramtouch touched %d pages; VMM: %d faults, fill %s; %d pages installed "
        "of %d" % (touched, vmm["faults"], json.dumps(fill), installed, ram_pages))
    if filled < args.min_fill_pages:
        raise StepError("background fill installed %d pages, want at least %d"
                        % (filled, args.min_fill_pages))
    if installed + int(vmm["loaded_pages"]) > ram_pages:
        raise StepError("%d pages installed and %d loaded: more than the %d of RAM"
                        % (installed, vmm["loaded_pages"], ram_pages))
    if vmm["faults"] >= touched:
        raise StepError("%d faults for %d pages touched: nothing came ahead"
                        % (vmm["faults"], touched))


def check_retries(case, args):
    broker = broker_reason_counts(case.total_counters())
    # Both name reasons by the protocol's enum (not_yet_available, ...).
    vmm = case.vmm_stats()["retries_by_reason"]
    log("retries by reason: broker %s; VMM %s" % (json.dumps(broker), json.dumps(vmm)))
    for reason in RETRY_REASONS:
        if broker.get(reason, 0) <= 0:
            raise StepError("the broker answered no %s retry" % reason)
        if vmm.get(reason, 0) <= 0:
            raise StepError("the VMM saw no %s retry" % reason)
    total = sum(broker.get(reason, 0) for reason in RETRY_REASONS)
    if total < args.min_total:
        raise StepError("%d retries in total, want at least %d" % (total, args.min_total))
    log("%d retries in total" % total)


def check_restart(case, args):
    vmm = case.vmm_stats()
    restarts = int(case.read("broker.restarts"))
    counter = "faults" if os.path.exists(
        os.path.join(case.work, "restart_at_faults")) else "pages"
    at = int(case.read("restart_at_" + counter))
    total = vmm["faults"] if counter == "faults" else vmm["answers"]["page"]
    log("broker restarts %d (at %d %s of %d); VMM reconnects %d, resent %d" % (
        restarts, at, counter, total, vmm["reconnects"], vmm["resent"]))
    if restarts != 1 or vmm["reconnects"] < 1:
        raise StepError("want one broker restart and a VMM reconnect")
    if at >= total:
        raise StepError("the restart did not land mid-run")


def must_find(pattern, text, missing):
    """The first match of `pattern` in `text`; StepError(missing) if none."""
    match = re.search(pattern, text)
    if not match:
        raise StepError(missing)
    return match


def vmm_stop(case):
    """The VMM's stop from its stats JSON: {kind, message, page?, ...}."""
    stop = case.vmm_stats().get("stop")
    if not stop:
        raise StepError("the VMM's stats.json has no stop")
    return stop


def check_stop(case, args):
    stop = vmm_stop(case)
    log("the VMM stopped: %s" % json.dumps(stop))
    if stop.get("kind") != args.kind:
        raise StepError("the VMM stopped for %s, want %s" % (stop.get("kind"), args.kind))
    if args.message and args.message not in stop.get("message", ""):
        raise StepError("the VMM's stop message lacks %r" % args.message)


def check_error(case, args):
    first, last = error_range(args)
    stop = vmm_stop(case)
    log("the VMM stopped: %s" % json.dumps(stop))
    if stop.get("kind") != "broker_error_answer" or "page" not in stop:
        raise StepError("the VMM did not stop on a broker error for a page")
    check_in_error_range("the page it stopped on", int(stop["page"]), first, last)
    if "bus_error: e2e injected bus error" not in stop.get("message", ""):
        raise StepError("the stop names no bus error with the broker's message")
    errors = {e.get("kind", ""): int(e.get("count", 0))
              for e in case.total_counters().get("errors_by_kind", [])}
    log("the broker counted errors %s" % json.dumps(errors))
    if errors.get("ERROR_KIND_BUS_ERROR", 0) < 1:
        raise StepError("the broker counted no bus_error answer")


def check_machine_check(case, args):
    first, last = error_range(args)
    vmm = case.vmm_stats()
    poisoned = {int(p["page"]): p for p in vmm.get("poisoned_pages", [])}
    log("the VMM poisoned %s" % json.dumps(vmm.get("poisoned_pages", [])))
    if vmm["poisoned"] < 1 or vmm["answers"]["error"] < vmm["poisoned"]:
        raise StepError("the VMM counted %d error answers and %d poisoned pages"
                        % (vmm["answers"]["error"], vmm["poisoned"]))
    seen = must_find(r"RESULT: fail machine check on vCPU \d+: action-required "
                     r"memory error at guest-physical (0x[0-9a-f]+)",
                     case.read("serial.log"),
                     "the guest did not report an action-required machine check")
    log("the guest said: %s" % seen.group(0))
    guest_page = int(seen.group(1), 16)
    check_in_error_range("the machine check's page", guest_page, first, last)
    page = poisoned.get(guest_page)
    if page is None:
        raise StepError("the guest's bank names 0x%x, a page the VMM did not poison"
                        % guest_page)
    if page.get("kind") != "bus_error" or page.get("message") != "e2e injected bus error":
        raise StepError("the VMM poisoned 0x%x for %s, not the injected bus error"
                        % (guest_page, json.dumps(page)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokerctl", required=True)
    parser.add_argument("--control", default="")
    steps = parser.add_subparsers(dest="step", required=True)

    p = steps.add_parser("retry-storm")
    p.add_argument("--from_offset", default="8M")
    p.add_argument("--rules_per_reason", type=int, default=12)
    p.add_argument("--count", type=int, default=8)
    p.add_argument("--range_pages", type=int, default=16)
    p.add_argument("--inject_rules", required=True)
    p.set_defaults(run=retry_storm)
    for name, run in (("pause-blocked", pause_blocked), ("stop-blocked", stop_blocked)):
        p = steps.add_parser(name)
        p.add_argument("--at", default="12M")
        p.add_argument("--range_pages", type=int, default=16)
        p.add_argument("--delay_us", type=int, required=True)
        p.add_argument("--stop_within", type=int, default=15)
        p.set_defaults(run=run)
    p = steps.add_parser("restart-broker")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--after_pages", type=int)
    target.add_argument("--after_faults", type=int)
    p.add_argument("--timeout", type=int, default=120)
    p.set_defaults(run=restart_broker)
    for name, run in (("bus-error", bus_error), ("check-error", check_error),
                      ("check-machine-check", check_machine_check)):
        p = steps.add_parser(name)
        p.add_argument("--at", default="12M")
        p.add_argument("--range_pages", type=int, default=16)
        p.set_defaults(run=run)
    p = steps.add_parser("fill-check")
    p.add_argument("--min_fill_pages", type=int, required=True)
    p.add_argument("--ram_mib", type=int, default=64)
    p.set_defaults(run=fill_check)
    p = steps.add_parser("revoke-frame")
    p.add_argument("--pool", default="pcimem")
    p.add_argument("--mark_seed", type=int, required=True)
    p.add_argument("--timeout", type=int, default=120)
    p.set_defaults(run=revoke_frame)
    p = steps.add_parser("check-stop")
    p.add_argument("--kind", required=True)
    p.add_argument("--message", default="")
    p.set_defaults(run=check_stop)
    p = steps.add_parser("check-revoked")
    p.set_defaults(run=check_revoked)
    p = steps.add_parser("expect-source")
    p.add_argument("--kind", required=True)
    p.set_defaults(run=expect_source)
    p = steps.add_parser("fault-count")
    p.add_argument("--min_pages", type=int, default=1)
    p.set_defaults(run=fault_count)
    p = steps.add_parser("check-retries")
    p.add_argument("--min_total", type=int, default=300)
    p.set_defaults(run=check_retries)
    p = steps.add_parser("check-restart")
    p.set_defaults(run=check_restart)

    return run_step(parser.parse_args())


def run_step(args, program="steps"):
    """Runs the step args chose; 0 when it passed, 1 (and why) when not."""
    try:
        args.run(Case(args), args)
    except StepError as e:
        print("%s: %s: FAIL: %s" % (program, args.step, e), file=sys.stderr, flush=True)
        return 1
    log("%s: ok" % args.step)
    return 0


if __name__ == "__main__":
    sys.exit(main())

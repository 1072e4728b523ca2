#!/usr/bin/python3
"""Prints the demo's summary table from the VMMs' --stats_json files, their
guests' serial output and the broker's `brokerctl --json stats`.

summary.py --broker_stats=FILE LABEL=PREFIX...
  PREFIX-stats.json and PREFIX-serial.log belong to one VM run.
"""

import argparse
import json
import sys


def load_run(prefix):
    with open(prefix + "-stats.json") as f:
        stats = json.load(f)
    result = "no RESULT line"
    with open(prefix + "-serial.log") as f:
        for line in f:
            if line.startswith("RESULT:"):
                result = line[len("RESULT:"):].strip()
    return stats, result


def reasons_text(by_reason):
    shown = ["%s %d" % (reason, count) for reason, count in sorted(by_reason.items()) if count]
    return ", ".join(shown) if shown else "none"


def vm_rows(stats, result):
    answers = stats["answers"]
    latency = stats["latency_us"]
    resident = answers["page"] + stats["extra_pages"]
    return [
        ("guest result", result.split()[0] if result.split() else "none"),
        ("faults sent to the broker", "%d" % stats["faults"]),
        ("  answered page (copied in)", "%d" % answers["page"]),
        ("  answered zero", "%d" % answers["zero"]),
        ("  answered frame (mapped)", "%d" % answers["frame"]),
        ("  answered retry", "%d" % answers["retry"]),
        ("  answered error", "%d" % answers["error"]),
        ("prefetched pages", "%d" % stats["extra_pages"]),
        ("pages made resident", "%d" % (resident + answers["zero"] + answers["frame"])),
        ("retries by reason", reasons_text(stats["retries_by_reason"])),
        ("reconnects / resent", "%d / %d" % (stats["reconnects"], stats["resent"])),
        ("fault latency p50", "%.1f ms" % (latency["p50"] / 1000.0)),
        ("fault latency p99", "%.1f ms" % (latency["p99"] / 1000.0)),
        ("fault latency p99.9", "%.1f ms" % (latency["p999"] / 1000.0)),
        ("pages per second", "%.0f" % stats["pages_per_second"]),
        ("run time", "%.1f s" % stats["elapsed_seconds"]),
    ] + guest_rows(stats.get("guest", {}))


def guest_rows(guest):
    """The VMM's guest section: the boot format, the loader's pages, the
    time to user-space output, how the run ended."""
    if not guest:
        return []
    first = guest.get("first_user_output_seconds")
    return [
        ("boot format", guest.get("format", "?")),
        ("pages installed by the loader", "%d" % guest.get("loader_pages", 0)),
        ("first user-space output", "%.1f s" % first if first is not None else "none"),
        ("ended by", "%s (status %d)" % (guest.get("end", "?"), guest.get("exit_status", 0))),
    ]


def broker_line(broker):
    total = broker.get("total", {})
    n = lambda key: int(total.get(key, 0))
    latency = total.get("latency", {})
    reasons = {e.get("reason", "").replace("RETRY_REASON_", "").lower(): int(e.get("count", 0))
               for e in total.get("retries_by_reason", [])}
    return [
        "broker, all sessions: %d faults (page %d, zero %d, frame %d, retry %d, error %d), "
        "%d prefetched pages, %.1f MiB served" % (
            n("faults"), n("pages"), n("zeros"), n("frames"), n("retries"), n("errors"),
            n("extra_pages"), n("bytes_served") / (1 << 20)),
        "broker, time spent per fault (request in to answer out): p50 %s us, p99 %s us, "
        "p99.9 %s us; retries by reason: %s" % (
            latency.get("p50_us", "?"), latency.get("p99_us", "?"), latency.get("p999_us", "?"),
            reasons_text(reasons)),
    ]


def driver_lines(label, serial_path):
    """What a Linux guest's flmem printed about the guest driver: its
    first- and second-touch latency and the driver's counts by reason
    (`flmem info`); nothing for a guest without it."""
    attributes, touches, verdicts = {}, [], []
    with open(serial_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(("flmem: first touch:", "flmem: second touch:")):
                touches.append(line[len("flmem: "):])
            elif line.startswith("flmem: pass check") or line.startswith("flmem: fail"):
                verdicts.append(line[len("flmem: "):])
            elif line.startswith("flmem: ") and " = " in line:
                name, _, value = line[len("flmem: "):].partition(" = ")
                attributes[name] = value
    if not attributes:
        return []
    def by(group):
        counts = {name.split("/", 1)[1]: int(value) for name, value in attributes.items()
                  if name.startswith(group + "/") and value.isdigit()}
        return reasons_text(counts)
    get = lambda name: attributes.get(name, "?")
    return ["%s, guest driver faultline_mem (mode %s, %s pages):" % (
                label, get("mode"), get("pages"))] + [
        "  " + line for line in verdicts + touches] + [
        "  driver faults %s, pfns inserted %s, PREPAREs rung %s, waits %s, "
        "revocations %s" % (get("faults"), get("inserts"), get("prepares"),
                            get("waits"), get("revocations")),
        "  retries by why the page was unavailable: %s" % by("retries_by_reason"),
        "  broker retries by reason: %s; errors by kind: %s" % (
            by("broker_retries"), by("errors")),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker_stats", required=True)
    parser.add_argument("runs", nargs="+", metavar="LABEL=PREFIX")
    args = parser.parse_args()

    labels, columns, drivers = [], [], []
    for run in args.runs:
        label, _, prefix = run.partition("=")
        stats, result = load_run(prefix)
        labels.append(label)
        columns.append(vm_rows(stats, result))
        drivers += driver_lines(label, prefix + "-serial.log")
    with open(args.broker_stats) as f:
        broker = json.loads(f.readline())

    names = [name for name, _ in columns[0]]
    name_width = max(len(name) for name in names)
    widths = [max([len(label)] + [len(value) for _, value in column])
              for label, column in zip(labels, columns)]
    def row(first, cells):
        return "  ".join([first.ljust(name_width)] +
                         [cell.ljust(width) for cell, width in zip(cells, widths)]).rstrip()
    print("faultline demo: what the VMs and the broker counted")
    print(row("", labels))
    print(row("", ["-" * width for width in widths]))
    for index, name in enumerate(names):
        print(row(name, [column[index][1] for column in columns]))
    print()
    for line in drivers:
        print(line)
    for line in broker_line(broker):
        print(line)
    print("(VMM latency: first ask to page installed. Under nested virtualization "
          "(TCG, or a KVM guest's own KVM)\n each fault costs about a millisecond; "
          "the benchmarks measure the fault path without it.)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

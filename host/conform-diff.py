#!/usr/bin/env python3
"""Traces of the conformance suites: extract them, compare ours with upstream's.

  conform-diff.py extract CONSOLE_LOG OUT_TRACE
      The KUnit trace lines of a boot ("# CASE: trace: TEXT" under
      "# Subtest: SUITE") become "SUITE.CASE<TAB>TEXT" lines.  Each case's
      result ("result: ok" / "result: not ok") and every kernel report
      (WARN, BUG, lockdep, KASAN, UBSAN) it caused ("kernel-report: KIND",
      without addresses or source lines) join its trace, in order.

  conform-diff.py compare --label LABEL --differences RST [--config NAME]
                  [--results FILE] [--out DIR] OURS UPSTREAM
      OURS and UPSTREAM are two trace files (from extract) or two
      directories of userspace trace files (one per program: its lines
      are keyed "userspace/PROGRAM").  Lines are compared per key; a key
      whose lines differ, or that only one side has, is a difference.  A
      difference is excused by an entry of RST (see
      Documentation/driver-api/dma-buf-differences.rst) whose :scenario:
      glob matches the key, whose :match: regexes (if any) match every
      differing line and whose :config: (if any) is NAME.  One
      "pass|fail 1 NAME" line per difference and one summary line go to
      FILE (host/test's format); exit status 1 on any unexcused
      difference.
"""
import argparse
import difflib
import fnmatch
import os
import re
import sys
from collections import OrderedDict

STAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
SUBTEST = re.compile(r"^\s*# Subtest: (\S+)")
TRACE = re.compile(r"^\s*# ([^:\s]+): trace: (.*)$")
RESULT = re.compile(r"^(\s*)(not ok|ok) \d+ (\S+)")
REPORT = re.compile(r"(WARNING:|BUG:|UBSAN:|KASAN|possible circular locking|"
                    r"possible recursive locking|inconsistent lock state|"
                    r"suspicious RCU usage|still has locks held|"
                    r"DEBUG_LOCKS_WARN_ON|Kernel panic)")


def report_kind(line):
    """A report's kind without what differs between two builds."""
    m = REPORT.search(line)
    kind = line[m.start():]
    # "WARNING: CPU: 0 PID: 1 at file:line func+0x..": the kind is WARNING.
    kind = re.split(r"\s+(?:CPU:|at |in |\S+\+0x)", kind, maxsplit=1)[0]
    kind = re.sub(r"0x[0-9a-f]+|\d+", "N", kind)
    return kind.strip().rstrip(":")


def extract(log, out):
    suite = None
    entries = []        # [key or None, text]
    pending = []        # reports not yet attributed to a case
    for raw in open(log, errors="replace"):
        line = STAMP.sub("", raw.rstrip("\n"))
        m = SUBTEST.match(line)
        if m:
            # Suites open at one level of indentation, parameterised
            # cases one deeper.
            if re.match(r"^ {4}#", line):
                suite = m.group(1)
            continue
        m = TRACE.match(line)
        if m and suite:
            entries.append([f"{suite}.{m.group(1)}", m.group(2).rstrip()])
            continue
        if REPORT.search(line) and suite:
            e = [None, "kernel-report: " + report_kind(line)]
            entries.append(e)
            pending.append(e)
            continue
        m = RESULT.match(line)
        if m and suite and len(m.group(1)) >= 4:
            key = f"{suite}.{m.group(3)}"
            if len(m.group(1)) == 4:
                for e in pending:
                    e[0] = key
                pending = []
                entries.append([key, "result: " + m.group(2)])
    with open(out, "w") as f:
        for key, text in entries:
            f.write(f"{key or 'unattributed'}\t{text}\n")


def load(path):
    """Lines per key, in order, from a trace file or a userspace directory."""
    traces = OrderedDict()
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            key = "userspace/" + os.path.splitext(name)[0]
            with open(os.path.join(path, name), errors="replace") as f:
                traces[key] = [l.rstrip("\n") for l in f]
        return traces
    for line in open(path, errors="replace"):
        key, _, text = line.rstrip("\n").partition("\t")
        traces.setdefault(key, []).append(text)
    return traces


def load_differences(rst):
    """Entries of the differences page: a section with :scenario: fields."""
    entries, cur, prev = [], None, None
    for line in open(rst):
        line = line.rstrip("\n")
        if prev is not None and re.fullmatch(r"-{3,}", line) and \
                len(line) >= len(prev.strip()) and prev.strip():
            cur = {"title": prev.strip(), "scenario": [], "match": [],
                   "config": []}
            entries.append(cur)
        m = re.match(r"^:(scenario|match|config):\s*(.*?)\s*$", line)
        if m and cur is not None:
            cur[m.group(1)].append(m.group(2))
        prev = line
    return [e for e in entries if e["scenario"]]


def excuse(entries, key, lines, config):
    for e in entries:
        if not any(fnmatch.fnmatchcase(key, g) for g in e["scenario"]):
            continue
        if e["config"] and config not in e["config"]:
            continue
        if e["match"] and not all(any(re.search(rx, l) for rx in e["match"])
                                  for l in lines):
            continue
        return e
    return None


def compare(a):
    ours, up = load(a.ours), load(a.upstream)
    entries = load_differences(a.differences)
    results = open(a.results, "a") if a.results else None
    used, unlisted, same = set(), 0, 0
    detail = []

    def rec(status, name):
        print(f"[{status}] {a.label}: {name}")
        if results:
            results.write(f"{status} 1 {a.label}: {name}\n")

    keys = list(ours) + [k for k in up if k not in ours]
    for key in keys:
        lo, lu = ours.get(key), up.get(key)
        if lo == lu:
            same += 1
            continue
        lo, lu = lo or ["(no trace)"], lu or ["(no trace)"]
        diff = list(difflib.unified_diff(lu, lo, "upstream", "ours",
                                         n=1, lineterm=""))
        changed = [l[1:] for l in diff[2:] if l[:1] in "+-"]
        e = excuse(entries, key, changed, a.config)
        detail.append(f"=== {key}" + (f" (listed: {e['title']})" if e else
                                      " (NOT LISTED)"))
        detail.extend(diff)
        if e:
            used.add(e["title"])
            rec("pass", f"{key} differs as listed ({e['title']})")
        else:
            unlisted += 1
            rec("fail", f"{key} differs from upstream")
            for l in diff[:40]:
                print("    " + l)
            if len(diff) > 40:
                print(f"    ... {len(diff) - 40} more lines")
    rec("fail" if unlisted or not keys else "pass",
        f"{len(keys)} scenarios, {same} identical, {unlisted} unlisted differences")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, a.label.replace("/", "_").replace(":", "_")
                               + ".diff"), "w") as f:
            f.write("\n".join(detail) + "\n")
    return 1 if unlisted or not keys else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("extract")
    x.add_argument("log")
    x.add_argument("out")
    c = sub.add_parser("compare")
    c.add_argument("--label", required=True)
    c.add_argument("--differences", required=True)
    c.add_argument("--config", default="")
    c.add_argument("--results")
    c.add_argument("--out")
    c.add_argument("ours")
    c.add_argument("upstream")
    a = ap.parse_args()
    if a.cmd == "extract":
        extract(a.log, a.out)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main())

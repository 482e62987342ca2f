#!/usr/bin/env python3
"""Judge v4l2-compliance runs of host/userspace.

Each run's output (NAME.out in the results folder) becomes
  - a canonical trace, NAME.trace: one line per test verdict and per fail:
    line the tool printed before it, keyed by section (and by how many
    times the same test already ran there); host/conform compares the
    traces of our kernel and upstream's line by line.  warn: lines stay
    out: some depend on the capture thread's timing;
  - result lines "pass|fail|skip 1 LABEL: KEY" for host/test.

A failed test passes as a skip only when host/v4l2-expected lists it for
this tool version, with the note the tool printed: those are the checks
that fail the same way on upstream 6.12's core, measured, with the
reason.  A listed test that passes fails the run: the list (or our core)
has changed behaviour.  With a tool version the list has not measured,
failures outside the buffer-sharing tests are skips that say so (host/
conform still compares them with upstream's).

usage: v4l2-compliance.py RESULTS_DIR EXPECTED RESULTS_FILE PREFIX
                          NAME:BUSINFO...
  BUSINFO: the bus info the tested device must report (the program finds
  devices by node number; this checks it tested the one meant)
"""
import fnmatch
import os
import re
import sys

# Streaming tests print their frame counter on the verdict's line.
VERDICT = re.compile(r"\ttest (.+?): (OK(?: \(Not Supported\))?|FAIL)$")
NOTE = re.compile(r"^\t+fail: (.*)$")
SECTION = re.compile(r"^(\S.*):$")
VERSION = re.compile(r"^v4l2-compliance (\S+?),", re.M)
TOTAL = re.compile(r"^Total for .*: (\d+), Succeeded: (\d+), Failed: (\d+),",
                   re.M)
# The tests that move buffers, dma-bufs among them: never excused by an
# unmeasured tool version.
SHARING = re.compile(r"^(Streaming ioctls: |Buffer ioctls .*: VIDIOC_EXPBUF)")


def parse(text):
    """(key, verdict, notes) per test verdict, in order."""
    section, seen, notes, out = "", {}, [], []
    for line in re.split(r"[\r\n]", text):
        if not line.strip():
            continue
        m = SECTION.match(line)
        if m and not line.startswith("\t"):
            section = m.group(1)
            continue
        m = NOTE.match(line)
        if m:
            notes.append(m.group(1))
            continue
        m = VERDICT.search(line)
        if m:
            key = f"{section}: {m.group(1)}"
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key += f" #{seen[key]}"
            out.append((key, m.group(2), notes))
            notes = []
    return out


def expected(path):
    """[(run, version, test, note-regex, reason)] from the list."""
    rules = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|", 4)]
        if len(fields) != 5:
            raise SystemExit(f"{path}: not 5 fields: {line}")
        rules.append(tuple(fields))
    return rules


def main():
    rdir, exp_path, results, prefix = sys.argv[1:5]
    runs = [a.split(":", 1) for a in sys.argv[5:]]
    rules = expected(exp_path)
    out = open(results, "a")

    def rec(st, name):
        out.write(f"{st} 1 {name}\n")
        print(f"[{st}] {name}", flush=True)

    for name, bus in runs:
        label = f"{prefix}{name}"
        try:
            text = open(os.path.join(rdir, name + ".out"),
                        errors="replace").read()
        except FileNotFoundError:
            rec("fail", f"{label}: did not run")
            continue
        tests = parse(text)
        total = TOTAL.search(text)
        version = VERSION.search(text)
        failed = sum(1 for t in tests if t[1] == "FAIL")
        # The tool's own totals must be exactly the verdicts read.
        if not tests or not total or not version or \
                int(total.group(1)) != len(tests) or \
                int(total.group(3)) != failed:
            print("\n".join(text.splitlines()[-20:]))
            rec("fail", f"{label}: no complete report ({len(tests)} "
                f"verdicts read, {failed} failed; the tool's total: "
                f"{total.group(0) if total else 'none'})")
            continue
        if not re.search(rf"^\tBus info\s+: {re.escape(bus)}$", text, re.M):
            rec("fail", f"{label}: tested a device other than {bus}")
            continue
        version = version.group(1)
        measured = any(fnmatch.fnmatchcase(version, r[1]) for r in rules
                       if r[1] != "*")
        with open(os.path.join(rdir, name + ".trace"), "w") as tr:
            for key, verdict, notes in tests:
                for n in notes:
                    tr.write(f"{name}/{key}: fail: {n}\n")
                tr.write(f"{name}/{key}: {verdict}\n")
        for key, verdict, notes in tests:
            why = next((r[4] for r in rules
                        if fnmatch.fnmatchcase(name, r[0]) and
                        fnmatch.fnmatchcase(version, r[1]) and
                        fnmatch.fnmatchcase(key, r[2]) and
                        (not r[3] or any(re.search(r[3], n)
                                         for n in notes))), None)
            if verdict.startswith("OK"):
                if why:
                    rec("fail", f"{label}: {key} (listed as failing on "
                        f"6.12, passes here)")
                else:
                    rec("pass", f"{label}: {key}")
            elif why:
                rec("skip", f"{label}: {key} (fails on upstream 6.12 too: "
                    f"{why})")
            elif not measured and not SHARING.match(key):
                rec("skip", f"{label}: {key} (fails with v4l2-compliance "
                    f"{version}, which host/v4l2-expected has not measured "
                    "on upstream; host/conform compares it)")
            else:
                for n in notes:
                    print("    fail: " + n)
                rec("fail", f"{label}: {key}")


if __name__ == "__main__":
    main()

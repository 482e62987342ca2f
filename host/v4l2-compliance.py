#!/usr/bin/env python3
"""Judge v4l2-compliance runs of host/userspace.

Each run's output (NAME.out in the results folder) becomes
  - a canonical trace, NAME.trace: one line per test verdict and per fail:
    or warn: line the tool printed before it, keyed by section and by how
    many times the same test already ran there; host/conform compares the
    traces of our kernel and upstream's line by line;
  - result lines "pass|fail|skip 1 LABEL: KEY" for host/test.

A test that fails passes as a skip only when host/v4l2-expected lists it:
those are the checks that fail the same way on upstream 6.12's core (the
1.22 tool is older than 6.12's vivid, and a dma-contig importer refuses
scattered buffers), measured, with the reason.  A listed test that now
passes fails the run: the list (or our core) has changed behaviour.

usage: v4l2-compliance.py RESULTS_DIR EXPECTED RESULTS_FILE PREFIX NAME...
"""
import fnmatch
import os
import re
import sys

# Streaming tests print their frame counter on the verdict's line.
VERDICT = re.compile(r"\ttest (.+?): (OK(?: \(Not Supported\))?|FAIL)$")
NOTE = re.compile(r"^\t+(fail|warn): (.*)$")
SECTION = re.compile(r"^(\S.*):$")


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
            notes.append(f"{m.group(1)}: {m.group(2)}")
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
    """[(run-glob, key-glob, reason)] from the expected-failures list."""
    rules = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        run, key, reason = (f.strip() for f in line.split("|", 2))
        rules.append((run, key, reason))
    return rules


def main():
    rdir, exp_path, results, prefix, names = (sys.argv[1], sys.argv[2],
                                              sys.argv[3], sys.argv[4],
                                              sys.argv[5:])
    rules = expected(exp_path)
    out = open(results, "a")

    def rec(st, name):
        out.write(f"{st} 1 {name}\n")
        print(f"[{st}] {name}", flush=True)

    for name in names:
        label = f"{prefix}{name}"
        try:
            text = open(os.path.join(rdir, name + ".out"),
                        errors="replace").read()
        except FileNotFoundError:
            rec("fail", f"{label}: did not run")
            continue
        tests = parse(text)
        # Every failure the tool counted must be among the verdicts read
        # (its total leaves out the streaming tests it repeats).
        total = re.search(r"^Total for .*, Failed: (\d+),", text, re.M)
        failed = sum(1 for t in tests if t[1] == "FAIL")
        if not tests or not total or int(total.group(1)) > failed:
            print("\n".join(text.splitlines()[-20:]))
            rec("fail", f"{label}: no complete report")
            continue
        with open(os.path.join(rdir, name + ".trace"), "w") as tr:
            for key, verdict, notes in tests:
                for n in notes:
                    tr.write(f"{name}/{key}: {n}\n")
                tr.write(f"{name}/{key}: {verdict}\n")
        for key, verdict, notes in tests:
            why = next((r for g, k, r in rules
                        if fnmatch.fnmatchcase(name, g) and
                        fnmatch.fnmatchcase(key, k)), None)
            if verdict.startswith("OK"):
                if why:
                    rec("fail", f"{label}: {key} (listed as failing on "
                        f"6.12, passes here)")
                else:
                    rec("pass", f"{label}: {key}")
            elif why:
                rec("skip", f"{label}: {key} (fails on upstream 6.12 too: "
                    f"{why})")
            else:
                for n in notes:
                    print("    " + n)
                rec("fail", f"{label}: {key}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Find kernel reports (WARN, BUG, lockdep, KASAN, UBSAN) in a UML console
log and decide which of them fail the run.

A report fails the run unless it is expected:
- our suites may WARN on purpose, but only in cases listed in
  host/expected-warns ("suite.case" per line, shell-style globs allowed);
- the kernel's own suites named there as "foreign SUITE-GLOB" (the DRM
  suites, which WARN on purpose in several cases) may report what they
  like, unless the report points at the dma-buf core.
Prints one line per failing report; exit status 1 if there is any.
"""
import fnmatch
import re
import sys

REPORT = re.compile(r"(WARNING:|BUG:|UBSAN:|KASAN|possible circular locking|"
                    r"possible recursive locking|inconsistent lock state|"
                    r"suspicious RCU usage|still has locks held|"
                    r"INFO: lockdep|DEBUG_LOCKS_WARN_ON|Kernel panic)")
OURS = re.compile(r"drivers/dma-buf/(dma-buf|dma-resv)|dma_resv|dma_buf|"
                  r"reservation_ww_class")
SUBTEST = re.compile(r"^(\s*)# Subtest: (\S+)")
RESULT = re.compile(r"^(\s*)(not )?ok \d+ (\S+)")


def load_expect(path):
    cases, foreign = [], []
    try:
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line.startswith("foreign "):
                foreign.append(line.split(None, 1)[1])
            elif line:
                cases.append(line)
    except FileNotFoundError:
        pass
    return cases, foreign


def main():
    log, expect = sys.argv[1], sys.argv[2]
    cases, foreign = load_expect(expect)
    lines = open(log, errors="replace").read().splitlines()
    stack = []          # suite names, outermost first, with indentation
    pending = []        # reports seen in the running case: (line no, text)
    failures = []

    def block(i):
        out = [lines[i]]
        for line in lines[i + 1:i + 60]:
            if "---[ end trace" in line or RESULT.match(line) or \
               REPORT.search(line):
                break
            out.append(line)
        return "\n".join(out)

    def settle(case):
        suite = stack[0][1] if stack else None
        name = f"{suite}.{case}" if suite else None
        for i, text in pending:
            where = block(i)
            if suite and any(fnmatch.fnmatch(suite, f) for f in foreign):
                if not OURS.search(where):
                    continue
            if name and any(fnmatch.fnmatch(name, c) for c in cases):
                continue
            failures.append(f"line {i + 1} ({name or 'outside any test'}): {text}")
        pending.clear()

    for i, line in enumerate(lines):
        m = SUBTEST.match(line)
        if m:
            depth = len(m.group(1))
            if not stack:
                settle(None)
            while stack and stack[-1][0] >= depth:
                stack.pop()
            stack.append((depth, m.group(2)))
            continue
        m = RESULT.match(line)
        if m:
            depth = len(m.group(1))
            if stack and depth >= stack[0][0]:
                settle(m.group(3))
            elif stack:
                settle(None)
                stack.clear()
            continue
        if REPORT.search(line):
            pending.append((i, line.strip()))
    settle(None)
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

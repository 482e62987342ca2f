#!/usr/bin/env python3
"""docs/RELIABILITY.md: the sections the host tools write.

A module for host/smp and host/fuzz (put_section, cases, infos, table),
and a command for host/test:

    host/reliability.py faults DOC BUILD_DIR...

writes one "faults-NAME" section per UML build directory from the first
KUnit boot there (boot-1.json, boot-1.log): every case of the suites that
inject faults, with what each case reported of itself.
"""
import datetime
import json
import os
import re
import sys

# Suites that fail allocations or exporter callbacks, or misuse the API.
FAULT_SUITES = ["dma-buf-fault", "dma-buf-misuse", "dma-resv-fault"]
# Cases elsewhere that do the same, by name.
FAULT_CASES = re.compile(r".*(nomem|fail|error|callback_fails).*")


def cases(path):
    """(suite, case, status) from kunit.py's JSON; [] when unreadable."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    found = []

    # Below the root, groups are suites; groups inside a suite are
    # parameterised cases, whose parameters become "case/param".
    def walk(t, suite, prefix):
        for c in t.get("test_cases", []) or []:
            found.append((suite, prefix + c["name"], c.get("status", "?")))
        for g in t.get("sub_groups", []) or []:
            if suite is None:
                walk(g, g["name"], "")
            else:
                walk(g, suite, prefix + g["name"] + "/")
    walk(data, None if data.get("sub_groups") else data.get("name"), "")
    return found


def infos(path):
    """What each case said about itself (kunit_info), case name -> text."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    got = {}
    for m in re.finditer(r"#\s*(\w+):\s*(\S[^\n]*)", text):
        if re.match(r"(EXPECTATION|ASSERTION) FAILED", m.group(2)):
            continue
        line = m.group(2).strip()
        got.setdefault(m.group(1), []).append(line)
        # A parameterised case that names its parameter first.
        p = re.match(r"([\w-]+): (.*)", line)
        if p:
            got.setdefault(m.group(1) + "/" + p.group(1), []).append(p.group(2))
    return {k: "; ".join(v) for k, v in got.items()}


def table(res, inf, keep):
    """Markdown rows for the cases for which keep(suite, case) holds."""
    rows = ["| suite | case | iterations / counts | result |",
            "|---|---|---|---|"]
    for suite, case, st in res:
        if keep(suite, case):
            rows.append(f"| {suite} | {case} | {inf.get(case, '')} | {st} |")
    return rows


def suites_matching(globs):
    """keep() for table(): the suite matches one of the shell globs."""
    pats = [re.compile(g.replace("*", ".*")) for g in globs]
    return lambda suite, case: any(p.fullmatch(suite) for p in pats)


def put_section(doc, key, body):
    """Replace (or append) the section between the markers of @key."""
    begin, end = f"<!-- {key} begin -->", f"<!-- {key} end -->"
    section = "\n".join([begin] + body + [end])
    try:
        with open(doc) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Reliability report\n"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    os.makedirs(os.path.dirname(doc) or ".", exist_ok=True)
    with open(doc, "w") as f:
        f.write(text)


def faults(doc, builds):
    for build in builds:
        res = cases(os.path.join(build, "boot-1.json"))
        if not res:
            continue
        try:
            with open(os.path.join(build, ".config")) as f:
                conf = f.read()
        except OSError:
            conf = ""
        what = ("debug (KASAN, UBSAN, lockdep, DEBUG_OBJECTS, DEBUG_SG)"
                if "CONFIG_KASAN=y" in conf else "test (lockdep, no sanitizers)")
        stamp = datetime.datetime.utcfromtimestamp(
            os.path.getmtime(os.path.join(build, "boot-1.json")))

        def keep(suite, case):
            return (suite in FAULT_SUITES or
                    (suite.startswith(("dma-buf", "dma-resv")) and
                     FAULT_CASES.fullmatch(case) is not None))
        kept = [r for r in res if keep(r[0], r[1])]
        passed = sum(1 for r in kept if r[2] == "PASS")
        name = os.path.basename(os.path.normpath(build))
        body = [f"- From `host/test`'s KUnit run in `.kernel/build/{name}` "
                f"({stamp:%Y-%m-%d %H:%M} UTC), UML, {what} configuration",
                f"- {len(kept)} cases: {passed} passed, "
                f"{sum(1 for r in kept if r[2] == 'FAIL')} failed, "
                f"{sum(1 for r in kept if r[2] == 'SKIP')} skipped", ""]
        body += table(res, infos(os.path.join(build, "boot-1.log")), keep)
        put_section(doc, "faults-" + name, body)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "faults":
        sys.exit(__doc__)
    faults(sys.argv[2], sys.argv[3:])

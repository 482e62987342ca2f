#!/usr/bin/env python3
"""Turn kunit.py's JSON results into lines of 'pass|fail|skip COUNT NAME',
one per suite (NAME is PREFIX:SUITE, PREFIX "kunit" unless --prefix says
otherwise), or print a per-suite table with --print."""
import json
import sys

def leaves(test):
    subs = test.get("sub_groups", []) or []
    cases = test.get("test_cases", []) or []
    if not subs and not cases:
        yield test.get("status", "FAIL")
    for c in cases:
        yield c.get("status", "FAIL")
    for s in subs:
        yield from leaves(s)

def suites(top):
    for s in top.get("sub_groups", []) or []:
        yield s["name"], list(leaves(s))

args = sys.argv[1:]
show = "--print" in args
prefix = "kunit"
if "--prefix" in args:
    prefix = args[args.index("--prefix") + 1]
    args.remove("--prefix")
    args.remove(prefix)
path = [a for a in args if a != "--print"][0]
data = json.load(open(path))
for name, st in suites(data):
    p = sum(1 for s in st if s == "PASS")
    k = sum(1 for s in st if s == "SKIP")
    f = len(st) - p - k
    if show:
        print(f"  {name:40s} {p:4d} passed {f:3d} failed {k:3d} skipped")
        continue
    for status, n in (("pass", p), ("fail", f), ("skip", k)):
        if n:
            print(f"{status} {n} {prefix}:{name}")

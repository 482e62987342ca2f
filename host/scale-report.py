#!/usr/bin/env python3
"""Turn the boot logs of host/scale into curves, a report and charts.

usage: scale-report.py OUT [--docs DIR] [--command C] [--boots N]
                       [--load L] [--commit C]

OUT holds ours.K.log and upstream.K.log (and, from --smp, smp-ours.K.log
and smp-upstream.K.log).  Each point is the median over
boots of a boot's median.  Per curve the growth is the log-log slope
between its first and last point (and over its last decade), classified
as flat, sublinear, linear or worse.  With --docs, rewrites the part of
DIR/SCALING.md between the host/scale markers and writes DIR/scale-*.png.
"""
import argparse
import glob
import math
import os
import re
import statistics
import sys
import time

BEGIN, END = "<!-- host/scale:begin -->", "<!-- host/scale:end -->"
SIDES = ("ours", "upstream")
BENCH = re.compile(r"# \S+: bench: (\S+) median_ns=([\d.]+) ")
MEM = re.compile(r"scale-mem: (\S+) n=(\d+) (?:bytes_per=-?\d+ )?slab_bytes_per=(-?\d+)")
POLL = re.compile(r"scale-poll: pollers n=(\d+) first_ns=(\d+) last_ns=(\d+)")
SMP = re.compile(r"# \S+: smp: scale\.(\S+)\.(\d+) ops_per_s=\d+ "
                 r"p50_ns=(\d+) p99_ns=(\d+) ")
SMP_NOTE = ("qemu-system-x86_64 with two vCPUs, x86_64 builds of the same "
            "two kernels.  Latency of single calls from the guest's clock, "
            "median (p50) and 99th percentile (p99) of every call in the "
            "scenario's 300 ms.")

# Charts: title, file, which curves (by prefix of their name).
DIMENSIONS = [
    ("Live buffers", "buffers", lambda c: c.startswith("buffers.")),
    ("Fences on one object: reserve + add", "fences-add",
     lambda c: c.startswith("resv_add.")),
    ("Fences on one object: queries, pending fences", "fences-pending",
     lambda c: c.startswith("resv_") and not c.startswith("resv_add.")
     and ".pending" in c),
    ("Fences on one object: queries, signaled fences", "fences-signaled",
     lambda c: c.startswith("resv_") and not c.startswith("resv_add.")
     and ".signaled" in c),
    ("Attachments on one buffer", "attachments",
     lambda c: c.startswith("attach.")),
    ("Pollers of one buffer (wake-up after the fence signals)", "pollers",
     lambda c: c.startswith("poll.")),
    ("Two CPUs: export + release on one among N live buffers, the other "
     "idle or reading bufinfo", "smp-buffers",
     lambda c: c.startswith("smp.export_release")),
    ("Two CPUs: N threads adding fences to one object", "smp-adders",
     lambda c: c.startswith("smp.resv_add")),
]


def parse(out):
    """{(side, curve): {n: [ns per boot]}}, {(side, what): [(n, bytes)]}"""
    pts, mem = {}, {}
    for side in SIDES:
        for log in sorted(glob.glob(os.path.join(out, "smp-" + side + ".*.log"))):
            for line in open(log, errors="replace"):
                m = SMP.search(line)
                if m:
                    for q, v in (("p50", m.group(3)), ("p99", m.group(4))):
                        pts.setdefault((side, f"smp.{m.group(1)}.{q}"), {}
                                       ).setdefault(int(m.group(2)), []
                                                    ).append(float(v))
        for log in sorted(glob.glob(os.path.join(out, side + ".*.log"))):
            for line in open(log, errors="replace"):
                m = BENCH.search(line)
                if m:
                    curve, _, n = m.group(1).rpartition(".")
                    if n.isdigit():
                        pts.setdefault((side, curve), {}).setdefault(
                            int(n), []).append(float(m.group(2)))
                    continue
                m = POLL.search(line)
                if m:
                    n = int(m.group(1))
                    for curve, v in (("poll.first", m.group(2)),
                                     ("poll.last", m.group(3))):
                        pts.setdefault((side, curve), {}).setdefault(
                            n, []).append(float(v))
                    continue
                m = MEM.search(line)
                if m:
                    mem.setdefault((side, m.group(1)), []).append(
                        (int(m.group(2)), int(m.group(3))))
    curves = {k: {n: statistics.median(v) for n, v in d.items()}
              for k, d in pts.items()}
    return curves, mem


def slope(c, lo, hi):
    if lo == hi or c[lo] <= 0 or c[hi] <= 0:
        return 0.0
    return math.log(c[hi] / c[lo]) / math.log(hi / lo)


def growth(e):
    if e < 0.15:
        return "flat"
    if e < 0.7:
        return f"sublinear (N^{e:.2f})"
    if e < 1.3:
        return f"linear (N^{e:.2f})"
    return f"superlinear (N^{e:.2f})"


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} us"
    return f"{ns:.1f} ns"


def describe(name, o, u):
    """One sentence on a curve, and whether ours grows faster."""
    ns = sorted(set(o) & set(u))
    if len(ns) < 2:
        return None, False
    lo, hi = ns[0], ns[-1]
    prev = ns[-2]
    eo, eu = slope(o, lo, hi), slope(u, lo, hi)
    lo_o, lo_u = slope(o, prev, hi), slope(u, prev, hi)
    r = o[hi] / u[hi] if u[hi] else float("nan")
    faster = eo > eu + 0.15 and r > 1.2
    s = (f"`{name}`: ours {growth(eo)}, {fmt(o[lo])} at {lo} to {fmt(o[hi])} "
         f"at {hi} (last step N^{lo_o:.2f}); upstream {growth(eu)}, "
         f"{fmt(u[lo])} to {fmt(u[hi])} (last step N^{lo_u:.2f}); "
         f"ours/upstream at {hi}: {r:.2f}.")
    if faster:
        s += " **Ours grows faster here.**"
    return s, faster


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--docs")
    ap.add_argument("--command", default="host/scale")
    ap.add_argument("--boots", default="?")
    ap.add_argument("--load", default="?")
    ap.add_argument("--commit", default="unknown")
    a = ap.parse_args()
    curves, mem = parse(a.out)
    if not curves:
        sys.exit("no results in " + a.out)
    names = sorted({c for _, c in curves})
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())

    md = [BEGIN, "",
          f"Produced by `{a.command}` on {date}; our core as of commit "
          f"`{a.commit}`; {a.boots} boot(s) of each kernel, alternating; "
          f"load average {a.load} (before / after).  Both kernels are "
          "host/bench's UML timing kernels (same tree, same "
          "configuration, `-falign-functions=64`), one with our core and "
          "one with upstream's.  Each point is the median time per call "
          "(for the listings: per whole read; for pollers: from the "
          "signal to the wake-up).", ""]
    flagged = []
    for title, fname, want in DIMENSIONS:
        sel = [c for c in names if want(c)]
        if not sel:
            continue
        md += [f"### {title}", "", f"![{title}](scale-{fname}.png)", ""]
        if fname.startswith("smp-"):
            try:
                accel = open(os.path.join(a.out, "smp-accel")).read().strip()
            except OSError:
                accel = "?"
            md += [SMP_NOTE.replace("two vCPUs", f"two vCPUs ({accel})"), ""]
        for c in sel:
            o, u = curves.get(("ours", c)), curves.get(("upstream", c))
            if not o or not u:
                continue
            s, faster = describe(c, o, u)
            if s:
                md.append("- " + s)
            if faster:
                flagged.append(c)
        md.append("")

    md += ["### Memory per object", "",
           "Slab memory in use (kmalloc and slab caches, large kmalloc "
           "included) after making N objects, less before, divided by N.  "
           "Buffer: the buffer with its reservation object, file, inode "
           "and dentry (the exporter allocates nothing per buffer).  "
           "Attachment: static attachments, 256 on each of 16 buffers.  "
           "Fence slot: 1,024 fences of distinct contexts on each of 256 "
           "objects (the fences were made before counting).", "",
           "| object | N | ours bytes | upstream bytes |",
           "|---|---:|---:|---:|"]
    whats = sorted({w for _, w in mem})
    for w in whats:
        o = {n: v for n, v in mem.get(("ours", w), [])}
        u = {n: v for n, v in mem.get(("upstream", w), [])}
        for n in sorted(set(o) | set(u)):
            md.append(f"| {w} | {n} | {o.get(n, '-')} | {u.get(n, '-')} |")
    md += ["", "Curves where ours grows faster than upstream's (slope more "
           "than 0.15 higher and slower by more than 20% at the largest N): "
           + (", ".join(f"`{c}`" for c in flagged) if flagged else "none")
           + ".", "", END]
    text = "\n".join(md) + "\n"
    print(text)
    if not a.docs:
        return

    path = os.path.join(a.docs, "SCALING.md")
    try:
        old = open(path).read()
    except OSError:
        old = "# How costs grow with the work\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + text + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    open(path, "w").write(new)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for title, fname, want in DIMENSIONS:
        sel = [c for c in names if want(c)]
        if not sel:
            continue
        fig, ax = plt.subplots(figsize=(8, 5))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, c in enumerate(sel):
            col = colors[i % len(colors)]
            for side, style in (("ours", "-"), ("upstream", "--")):
                d = curves.get((side, c))
                if not d:
                    continue
                xs = sorted(d)
                ax.plot(xs, [d[x] for x in xs], style, color=col, marker=".",
                        label=f"{c} ({side})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel("ns (p50, p99)" if fname.startswith("smp-")
                      else "ns (median)")
        ax.set_title(title + ": ours solid, upstream dashed", fontsize=9)
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(fontsize=5, ncol=2)
        fig.tight_layout()
        fig.savefig(os.path.join(a.docs, f"scale-{fname}.png"), dpi=100)
        plt.close(fig)
    print("wrote " + path + " and its charts")


if __name__ == "__main__":
    main()

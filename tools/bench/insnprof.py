#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Per-function guest instruction counts from tools/bench/insnprof.c.

    insnprof.py COUNTS SYMBOLS... --phases A B --ops N [--top K]

COUNTS is the plugin's output; SYMBOLS are System.map-style files ("addr
type name", extra leading words ignored, so the guest's /proc/kallsyms
lines prefixed with a tag work too). For phases A and B it prints, per
function, the instructions per operation in each (count / N) and B - A,
largest differences first, then the totals. User-space addresses are
summed as "[user]". Rust names are demangled when llvm-cxxfilt is there.
"""
import argparse
import bisect
import collections
import re
import shutil
import subprocess


def demangle(names):
    tool = shutil.which("llvm-cxxfilt") or shutil.which("llvm-cxxfilt-14")
    if not tool:
        return names
    plain = [n.split(" [")[0] for n in names]
    run = subprocess.run([tool], input="\n".join(plain), capture_output=True,
                         text=True, check=False)
    out = run.stdout.split("\n")
    if run.returncode or len(out) < len(names):
        return names
    return [o + n[len(p):] for o, n, p in zip(out, names, plain)]


def load_symbols(paths):
    syms = {}
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r"\b([0-9a-f]{16}) ([tTwW]) (\S+)(?:\s+\[(\S+)\])?",
                              line)
                if not m:
                    continue
                addr = int(m.group(1), 16)
                if addr == 0:
                    continue
                name = m.group(3)
                if m.group(4):
                    name += " [" + m.group(4) + "]"
                syms.setdefault(addr, name)
    addrs = sorted(syms)
    return addrs, [syms[a] for a in addrs]


def load_phases(path):
    phases = []
    with open(path) as f:
        for line in f:
            if line.startswith("phase"):
                phases.append(collections.Counter())
                continue
            addr, count = line.split()
            phases[-1][int(addr, 16)] += int(count)
    return phases


def per_function(counts, addrs, names):
    out = collections.Counter()
    for addr, count in counts.items():
        if addr < 0xFFFF800000000000:
            out["[user]"] += count
            continue
        i = bisect.bisect_right(addrs, addr) - 1
        out[names[i] if i >= 0 else "[unknown]"] += count
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("counts")
    p.add_argument("symbols", nargs="+")
    p.add_argument("--phases", nargs=2, type=int, required=True)
    p.add_argument("--ops", type=float, required=True)
    p.add_argument("--top", type=int, default=40)
    a = p.parse_args()
    addrs, names = load_symbols(a.symbols)
    phases = load_phases(a.counts)
    fa = per_function(phases[a.phases[0]], addrs, names)
    fb = per_function(phases[a.phases[1]], addrs, names)
    rows = []
    for name in set(fa) | set(fb):
        x, y = fa[name] / a.ops, fb[name] / a.ops
        rows.append((y - x, x, y, name))
    rows.sort(key=lambda r: -abs(r[0]))
    rows = rows[: a.top]
    names = demangle([r[3] for r in rows])
    print(f"{'A':>9} {'B':>9} {'B-A':>9}  function")
    for (d, x, y, _), name in zip(rows, names):
        print(f"{x:9.1f} {y:9.1f} {d:+9.1f}  {name}")
    groups = ["[user]", "[rust]"] + sorted(
        {n[n.rindex(" [") + 1:] for n in set(fa) | set(fb) if " [" in n})
    for g in groups:
        x, y = group_sum(fa, g) / a.ops, group_sum(fb, g) / a.ops
        print(f"{x:9.1f} {y:9.1f} {y - x:+9.1f}  all of {g}")
    ta, tb = sum(fa.values()) / a.ops, sum(fb.values()) / a.ops
    print(f"{ta:9.1f} {tb:9.1f} {tb - ta:+9.1f}  total")


def group_sum(counts, group):
    """User space, the kernel crate's Rust code and helpers ([rust]), or a
    module's functions ("[name]")."""
    if group == "[rust]":
        return sum(v for k, v in counts.items()
                   if k.startswith(("_RN", "rust_helper_")) and " [" not in k)
    if group == "[user]":
        return counts.get("[user]", 0)
    return sum(v for k, v in counts.items() if k.endswith(" " + group))


if __name__ == "__main__":
    main()

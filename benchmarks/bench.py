#!/usr/bin/env python3
"""What a trace costs, against a bare gdb run to qemu_main_loop.

    .venv/bin/python benchmarks/bench.py [--runs N] [--devices 1,8]

For each command line: (a) bare gdb (one breakpoint at qemu_main_loop),
(b) qinit trace, (c) qinit where pci-config --all, (d) the naive plan (a
backtrace at every documented function, hot ones included).  Prints median
wall seconds, ratios b/a, c/a, d/b, breakpoint stops, and gdb's peak RSS.
Run on demand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gdb_qemuinit.qemu import default_binary  # noqa: E402

BASE = ["-machine", "q35", "-nodefaults", "-display", "none", "-S"]


def nics(n: int) -> list[str]:
    args = []
    for i in range(n):
        args += ["-netdev", f"user,id=n{i}", "-device", f"virtio-net-pci,netdev=n{i}"]
    return args


def gdb_cmd(qemu: list[str], *ex: str) -> list[str]:
    cmd = ["gdb", "-nx", "-batch", "-iex", "set startup-with-shell off",
           "-x", str(ROOT / "gdbinit.py")]
    for e in ex:
        cmd += ["-ex", e]
    return cmd + ["--args", *qemu]


def run_once(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS (KiB), from wait4."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return time.monotonic() - start, usage.ru_maxrss


def stops(json_path: str) -> int:
    with open(json_path) as f:
        doc = json.load(f)
    return len(doc["hits"]) if "hits" in doc else sum(len(a.get("steps", [1]))
                                                      for a in doc["answers"])


def measure(cmd, runs):
    run_once(cmd)      # warm-up: page cache, symbol cache
    samples = [run_once(cmd) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--devices", default="1,8")
    ap.add_argument("--no-naive", action="store_true")
    opts = ap.parse_args()
    binary = str(default_binary())
    tmp = tempfile.mkdtemp(prefix="qemuinit-bench-")
    print(f"QEMU {binary}; median of {opts.runs} runs after a warm-up")
    for n in (int(x) for x in opts.devices.split(",")):
        qemu = [binary, *BASE, *nics(n)]
        tj, wj, nj = (os.path.join(tmp, f) for f in ("t.json", "w.json", "n.json"))
        cases = {
            "a bare": gdb_cmd(qemu, "set breakpoint pending on", "break qemu_main_loop",
                              "run", "kill"),
            "b trace": gdb_cmd(qemu, f"qinit trace --kill --quiet --json {tj}"),
            "c where": gdb_cmd(qemu, f"qinit where pci-config --all --kill --quiet "
                                     f"--json {wj}"),
        }
        if not opts.no_naive:
            cases["d naive"] = gdb_cmd(qemu, f"qinit trace --naive --kill --quiet "
                                             f"--json {nj}")
        res = {k: measure(c, opts.runs if k != "d naive" else max(1, opts.runs // 2))
               for k, c in cases.items()}
        a = res["a bare"][0]
        print(f"\n{n} virtio-net-pci device(s): {' '.join(BASE[:2])} ...")
        for k, (sec, rss) in res.items():
            extra = {"b trace": tj, "c where": wj, "d naive": nj}.get(k)
            count = f"{stops(extra):6d} stops" if extra else "     1 stop "
            print(f"  {k:8s} {sec:7.3f} s  {count}  gdb peak RSS {rss / 1024:6.1f} MiB")
        print(f"  b/a = {res['b trace'][0] / a:.2f}   c/a = {res['c where'][0] / a:.2f}"
              + (f"   d/b = {res['d naive'][0] / res['b trace'][0]:.1f}"
                 if "d naive" in res else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

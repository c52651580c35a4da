#!/usr/bin/env python3
"""What a trace costs, against a bare gdb run to qemu_main_loop.

    .venv/bin/python benchmarks/bench.py [--runs N] [--devices 1,8] [--no-vhost]

For each command line: (a) bare gdb (one breakpoint at qemu_main_loop),
(b) qinit trace, (c) qinit where pci-config --all, (d) the naive plan (a
backtrace at every documented function, hot ones included).  Prints median
wall seconds, ratios b/a, c/a, d/b, breakpoint stops, and gdb's peak RSS.
The command lines: q35 with 1 and 8 virtio-net-pci on user netdevs, and the
seed's vhost-user scenario, where each run (a to d alike) gets a fresh
socket and dpdk-testpmd started once QEMU listens.
Run on demand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gdb_qemuinit import scenario  # noqa: E402
from gdb_qemuinit.backend import Backend  # noqa: E402
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


def run_once(cmd, vhost: bool) -> tuple[float, int]:
    """Wall seconds and gdb's peak RSS (KiB), from wait4.  `cmd` is a
    function of the socket path; with `vhost`, testpmd serves that socket."""
    private = scenario.private_dir()
    sock = os.path.join(private, "vhost-user.sock")
    backend = None
    if vhost:
        prefix = f"qemuinit-bench-{os.getpid()}"
        backend = Backend(scenario.load("vhost-user").backend_argv(sock, prefix), sock,
                          os.path.join(private, "backend.log"), dpdk_prefix=prefix)
        backend.start(60)
    try:
        start = time.monotonic()
        proc = subprocess.Popen(cmd(sock), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
    finally:
        if backend:
            backend.stop()
        shutil.rmtree(private, ignore_errors=True)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd(sock))}")
    return elapsed, usage.ru_maxrss


def stops(json_path: str) -> int:
    """Breakpoint stops of the run (every one, not only recorded hits)."""
    with open(json_path) as f:
        doc = json.load(f)
    return doc["qemu"]["breakpoint_stops"]


def measure(cmd, runs, vhost):
    run_once(cmd, vhost)      # warm-up: page cache, symbol cache
    samples = [run_once(cmd, vhost) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--devices", default="1,8")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-vhost", action="store_true", help="skip the vhost-user scenario")
    opts = ap.parse_args()
    binary = str(default_binary())
    tmp = tempfile.mkdtemp(prefix="qemuinit-bench-")
    print(f"QEMU {binary}; median of {opts.runs} runs after a warm-up")
    lines = [(f"{n} virtio-net-pci on user netdevs", False,
              lambda sock, n=int(n): [binary, *BASE, *nics(n)])
             for n in opts.devices.split(",")]
    if not opts.no_vhost:
        seed = scenario.load("vhost-user")
        lines.append(("the seed's vhost-user scenario with dpdk-testpmd", True,
                      lambda sock: [binary, *seed.qemu_args(sock)]))
    try:
        for title, vhost, qemu in lines:
            bench_line(title, vhost, qemu, tmp, opts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def bench_line(title, vhost, qemu, tmp, opts) -> None:
    tj, wj, nj = (os.path.join(tmp, f) for f in ("t.json", "w.json", "n.json"))
    cases = {
        "a bare": lambda s: gdb_cmd(qemu(s), "set breakpoint pending on",
                                    "break qemu_main_loop", "run", "kill"),
        "b trace": lambda s: gdb_cmd(qemu(s), f"qinit trace --kill --quiet --json {tj}"),
        "c where": lambda s: gdb_cmd(qemu(s), f"qinit where pci-config --all --kill "
                                              f"--quiet --json {wj}"),
    }
    if not opts.no_naive:
        cases["d naive"] = lambda s: gdb_cmd(qemu(s), f"qinit trace --naive --kill "
                                                      f"--quiet --json {nj}")
    res = {k: measure(c, opts.runs if k != "d naive" else max(1, opts.runs // 2), vhost)
           for k, c in cases.items()}
    a = res["a bare"][0]
    print(f"\n{title}:")
    for k, (sec, rss) in res.items():
        extra = {"b trace": tj, "c where": wj, "d naive": nj}.get(k)
        count = f"{stops(extra):6d} stops" if extra else "     1 stop "
        print(f"  {k:8s} {sec:7.3f} s  {count}  gdb peak RSS {rss / 1024:6.1f} MiB")
    print(f"  b/a = {res['b trace'][0] / a:.2f}   c/a = {res['c where'][0] / a:.2f}"
          + (f"   d/b = {res['d naive'][0] / res['b trace'][0]:.1f}"
             if "d naive" in res else ""))


if __name__ == "__main__":
    sys.exit(main())

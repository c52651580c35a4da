#!/usr/bin/env python3
"""What a watch costs the QEMU it watches.

    .venv/bin/python benchmarks/watch.py [--runs N]

Each round starts a QEMU by hand (q35, shared RAM, a root port, QMP) twice:
once plain, once under `qemuinit watch PID --until nic-added`, and times
libvirt's hot-plug of a vhost-user NIC over QMP (chardev-add, dpdk-testpmd
started, netdev_add, device_add) from the client's side.  Prints the
medians, and for each watch its breakpoint stops, the recording's time in
them (per stop: compare a trace's, in docs/performance.md) and how long QEMU
was stopped outside the watch's continues.  The QEMU, the backend and the
hot-plug are the live tests' (tests/live/test_watch.py).  Run on demand;
not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "live")]
import test_watch as tw  # noqa: E402
from gdb_qemuinit.qemu.binary import default_binary  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    opts = ap.parse_args()
    binary = str(default_binary())
    times: dict[str, list[float]] = {"plain": [], "watched": []}
    docs = []
    for _ in range(opts.runs):
        for mode in times:
            with tw.qemu_by_hand(binary) as (qemu, qmp, d):
                backend = tw.backend_for(d, "charnet1", "server")
                out = os.path.join(d, "w.json")
                try:
                    watch = (tw.start_watch(qemu.pid, "--until", "nic-added", "--json", out)
                             if mode == "watched" else None)
                    start = time.monotonic()
                    tw.libvirt_hot_plug(qmp, d, backend)
                    times[mode].append(time.monotonic() - start)
                    if watch is not None:
                        watch.communicate(timeout=60)
                        with open(out) as f:
                            docs.append(json.load(f))
                finally:
                    backend.stop()
    print(f"QEMU {binary}; {opts.runs} rounds")
    print("libvirt's hot-plug, median seconds: " + ", ".join(
        f"{mode} {statistics.median(t):.3f}" for mode, t in times.items()))
    for doc in docs:
        clock, stops = doc["clock"], doc["qemu"]["breakpoint_stops"]
        print(f"  watch: {stops} stops, recording {clock['recording_seconds'] * 1000:.1f} ms "
              f"({clock['recording_seconds'] * 1000 / stops:.2f} ms a stop), stopped outside "
              f"its continues {clock['stopped_outside_run_seconds'] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What a trace costs, against a bare gdb run to qemu_main_loop.

    .venv/bin/python benchmarks/bench.py [--runs N] [--devices 1,8] [--no-vhost]
                                         [--no-libvirt] [--no-naive] [--big]
                                         [--only a,s,b] [--profile N] [--device-start]
                                         [--stop-floor]

For each command line: (a) bare gdb without qemuinit (one breakpoint at
qemu_main_loop), (a0) the same bare gdb on a copy of the binary without its
gdb index (what a build without gdb-add-index costs), (s) what users run
from a shell: `qemuinit trace --json F -- QEMU ...` (with --testpmd on the
vhost-user lines: qemuinit starts the backends itself, where the other
cases get them from the benchmark), (b) qinit trace at the gdb prompt,
(b2) the same with 'set qinit lazy-libraries off' (gdb reads every shared
library's symbols as QEMU loads them, as a plain gdb does), (g) gdb alone
taking a backtrace at every hit of the functions the trace plants on the
line (gdb's own breakpoints, planted at main, with the commands silent,
`backtrace -frame-arguments none`, continue; no qemuinit), (gl) the same
with auto-solib-add off (how the trace treats libraries), (c) qinit where
pci-config --all (every answer, so QEMU runs to its main loop as in (a);
without --all it would stop at the first answer, earlier than (a)), (d) the naive plan (a
backtrace at every documented function, hot ones included).  Prints median
wall seconds, ratios b/a, c/a, d/b (medians of per-round ratios: the cases
run in turn, round after round), a0/a and b/a0 (the trace on the indexed
build against a bare gdb on the unindexed one), breakpoint stops, and gdb's
peak RSS.  Stops: every breakpoint stop of the trace, and what one costs:
(b - a) / stops.  --big adds a libvirt-like line with 16 vhost-user NICs
of 4 queue pairs each (a dpdk-testpmd per chardev).  --profile N runs the
shell command N times per line with QEMUINIT_PROFILE and prints where its
time goes (the shell's and gdb's Python, from cProfile) and the run's
timeline (both processes' wall-clock marks, gdb_qemuinit/marks.py).
The command lines: q35 with 1 and 8 virtio-net-pci on user netdevs, the
seed's vhost-user scenario, and a libvirt-like line (JSON -object, -netdev
and -device, key=value -chardev): three vhost-user NICs, QEMU the server of
the first, the client of the second, and of the third with a 10 s retry
(reconnect=10, or reconnect-ms=10000 as the binary takes it) and
4 queue pairs (mq on).  Each vhost-user run (a to d alike) gets a fresh
private directory and one dpdk-testpmd per chardev in the role it needs
(started once QEMU listens, or listening before QEMU starts).
--stop-floor adds what gdb itself takes for a breakpoint stop (a Python
breakpoint on a function QEMU calls ~12 000 times, its stop() returning
False at once, against the same run without it): the floor of a stop.
--device-start adds the device-start scenario (iPXE boots from the seed's
NIC, no -S): the bare run is gdb to the return of vhost_net_start (`break
vhost_net_start`, `run`, `finish`), against `--until device-start` from
the shell (s) and at the prompt (b).
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
from gdb_qemuinit.qemu import scenario  # noqa: E402
from gdb_qemuinit.qemu.elf import INDEX_SECTIONS, section_names  # noqa: E402
from gdb_qemuinit.qemu.binary import default_binary, reconnect_option  # noqa: E402
from gdb_qemuinit.qemu.cmdline import QemuCommandLine  # noqa: E402
from gdb_qemuinit.qemu.backendplan import plan_backends  # noqa: E402
from gdb_qemuinit.qemu.backend import start_listening, stop_backends  # noqa: E402

BASE = ["-machine", "q35", "-nodefaults", "-display", "none", "-S"]


def nics(n: int) -> list[str]:
    args = []
    for i in range(n):
        args += ["-netdev", f"user,id=n{i}", "-device", f"virtio-net-pci,netdev=n{i}"]
    return args


RSS_MARK = "qemuinit-bench gdb peak RSS KiB:"


def gdb_cmd(qemu: list[str], *ex: str, extension: bool = True) -> list[str]:
    """gdb on `qemu` running the commands `ex`; the bare case runs without
    the extension (what a developer's plain gdb costs)."""
    # JSON arguments reach QEMU intact only through the shell with this gdb
    # (startup-with-shell off splits gdb's quoted argument string again):
    # such lines start QEMU through /bin/sh, in every case alike.
    shell = "on" if any(a.startswith("{") for a in qemu) else "off"
    cmd = ["gdb", "-nx", "-batch", "-iex", f"set startup-with-shell {shell}"]
    if extension:
        cmd += ["-x", str(ROOT / "gdbinit.py")]
    for e in ex:
        cmd += ["-ex", e]
    # gdb's own peak memory (wait4 would also count QEMU, gdb's child)
    # (VmHWM: ru_maxrss would carry the benchmark's own size across fork+exec)
    cmd += ["-ex", "python import sys; sys.stderr.write('" + RSS_MARK + " ' + [l.split()[1] "
                   "for l in open('/proc/self/status') if l.startswith('VmHWM:')][0] + '\\n')"]
    return cmd + ["--args", *qemu]


def many_vhost_nics(binary: str, d: str, nics: int = 16, queues: int = 4) -> list[str]:
    """`nics` vhost-user NICs of `queues` queue pairs each, as libvirt writes
    them (JSON -netdev/-device, key=value -chardev), QEMU the server of the
    even ones and the client of the odd ones, each behind a root port."""
    out = [binary, "-S", "-object", '{"qom-type":"memory-backend-memfd","id":"pc.ram",'
           '"share":true,"size":268435456}', "-machine", "q35,memory-backend=pc.ram",
           "-m", "256M", "-display", "none", "-no-user-config", "-nodefaults"]
    for i in range(nics):
        out += ["-device", f'{{"driver":"pcie-root-port","id":"rp{i}","bus":"pcie.0",'
                           f'"chassis":{i + 1}}}',
                "-chardev", f"socket,id=charnet{i},path={d}/vu{i}.sock"
                            + (",server=on" if i % 2 == 0 else ""),
                "-netdev", f'{{"type":"vhost-user","chardev":"charnet{i}","queues":{queues},'
                           f'"id":"hostnet{i}"}}',
                "-device", f'{{"driver":"virtio-net-pci","mq":true,"vectors":{2 * queues + 2},'
                           f'"netdev":"hostnet{i}","id":"net{i}","bus":"rp{i}",'
                           f'"mac":"52:54:00:00:01:{i:02x}"}}']
    return out


def libvirt_like(binary: str, d: str) -> list[str]:
    """Shaped like libvirt's vhost-user lines (net-vhostuser-multiq): JSON
    -object/-netdev/-device, key=value -chardev, both socket roles, a
    reconnecting client with 4 queue pairs."""
    out = [binary, "-S", "-object", '{"qom-type":"memory-backend-memfd","id":"pc.ram",'
           '"share":true,"size":268435456}', "-machine", "q35,memory-backend=pc.ram",
           "-m", "256M", "-display", "none", "-no-user-config", "-nodefaults"]
    for i, (chardev, netdev, device) in enumerate((
            ("server=on", "", ""), ("", "", ""),
            (reconnect_option(binary, 10), ',"queues":4', '"mq":true,"vectors":10,'))):
        out += ["-chardev", f"socket,id=charnet{i},path={d}/vu{i}.sock"
                            + (f",{chardev}" if chardev else ""),
                "-netdev", f'{{"type":"vhost-user","chardev":"charnet{i}"{netdev},'
                           f'"id":"hostnet{i}"}}',
                "-device", f'{{"driver":"virtio-net-pci",{device}"netdev":"hostnet{i}",'
                           f'"id":"net{i}","mac":"52:54:00:00:00:0{i + 1}"}}']
    return out


def run_once(cmd, qemu, vhost: bool) -> tuple[float, int]:
    """Wall seconds and gdb's peak RSS (KiB) of gdb `cmd` on QEMU `qemu`
    (a function of the run's private directory); with `vhost`, one testpmd
    per vhost-user chardev, in its role (unless the command starts its own:
    the shell's)."""
    private = scenario.private_dir()
    argv = qemu(private)
    backends = []
    # The clock includes starting the backends, as the shell command's does
    # (a testpmd that QEMU connects to takes ~0.2 s to listen).
    start = time.monotonic()
    try:
        if vhost and not getattr(cmd, "own_backends", False):
            # as the shell command starts them: the listening ones at once,
            # the others once QEMU listens
            backends = plan_backends(QemuCommandLine.parse(argv), [], "dpdk-testpmd", private)
            start_listening(backends, 60)
            for b in backends:
                if not b.listens_first:
                    b.start(60)
        proc = subprocess.run(cmd(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True)
        elapsed = time.monotonic() - start
    finally:
        stop_backends(backends)
        shutil.rmtree(private, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd(argv))}\n{proc.stderr}")
    rss = [int(line.split(":")[1]) for line in proc.stderr.splitlines()
           if line.startswith(RSS_MARK)]
    return elapsed, rss[-1] if rss else 0


def shell_trace(json_path: str, vhost: bool, until: list[str] | None = None):
    """The shell command users run (case s): it starts its own backends."""
    def cmd(q):
        return ([str(ROOT / ".venv" / "bin" / "qemuinit"), "trace", "--json", json_path]
                + (until or []) + (["--testpmd"] if vhost else []) + ["--", *q])
    cmd.own_backends = True
    return cmd


# gdb's cheapest backtrace: every frame's function and place, no argument
# read (the trace reads its own few, by name).
BT = "backtrace -frame-arguments none"


def plain_gdb_backtraces(planted_json: str, script: str, lean: bool):
    """Case g: gdb alone, no qemuinit, doing what a trace's stops need at
    the least: a breakpoint on each function the trace plants on this line
    (the `planted` of its JSON), whose commands are `silent`, BT,
    `continue`, planted at main, then on to qemu_main_loop.  No reads, no
    call sites or returns, no analysis: what gdb itself takes for a
    backtrace at every hit.  With `lean` gdb reads no library's symbols
    (auto-solib-add off: the trace's own way, [library] aside)."""
    def cmd(q):
        if not os.path.exists(script):
            with open(planted_json) as f:
                planted = json.load(f)["planted"]
            with open(script, "w") as f:
                f.write("".join(f"break {fn}\ncommands\nsilent\n{BT}\ncontinue\nend\n"
                                for fn in planted))
        ex = ["set breakpoint pending on"] + (["set auto-solib-add off"] if lean else [])
        return gdb_cmd(q, *ex, "break main", "run", "delete", f"source {script}",
                       "break qemu_main_loop", "continue", "kill", extension=False)
    return cmd


def stops(json_path: str) -> int:
    """Breakpoint stops of the run (every one, not only recorded hits)."""
    with open(json_path) as f:
        doc = json.load(f)
    return doc["qemu"]["breakpoint_stops"]


def measure(cases: dict, qemu, runs: int, vhost: bool, slow: tuple[str, ...]) -> dict:
    """The fast cases once per round, in turn (a b c a b c ...), so that
    drift in the machine's speed hits all alike, after a warm-up round; the
    slow ones (the naive plan, 40 s and 900 MiB a run) afterwards, fewer
    times, so they do not disturb the others.  Per case: [(seconds, rss)]."""
    fast = {k: c for k, c in cases.items() if k not in slow}
    for c in fast.values():
        run_once(c, qemu, vhost)
    out = {k: [] for k in cases}
    for _ in range(runs):
        for k, c in fast.items():
            out[k].append(run_once(c, qemu, vhost))
    for k in cases:
        if k in slow:
            out[k] = [run_once(cases[k], qemu, vhost) for _ in range(max(1, runs // 3))]
    return out


def load_cost(binary: str, runs: int) -> float:
    """Median milliseconds that -x gdbinit.py adds, in pairs."""
    plain = ["gdb", "-nx", "-batch", binary]
    loaded = ["gdb", "-nx", "-batch", "-x", str(ROOT / "gdbinit.py"), binary]
    diffs = []
    for _ in range(runs + 1):
        times = []
        for cmd in (plain, loaded):
            start = time.monotonic()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, check=True)
            times.append(time.monotonic() - start)
        diffs.append((times[1] - times[0]) * 1000)
    return statistics.median(diffs[1:])


def unindexed_copy(binary: str) -> str | None:
    """A copy of `binary` without its gdb index, beside it (QEMU finds its
    firmware relative to its own directory), or None if it has none."""
    present = [s for s in INDEX_SECTIONS if s in section_names(binary)]
    if not present:
        return None
    copy = os.path.join(os.path.dirname(binary), f".bench-unindexed-{os.getpid()}")
    cmd = ["objcopy"] + [f"--remove-section={s}" for s in present] + [binary, copy]
    subprocess.run(cmd, check=True)
    return copy


def ratio(res: dict, x: str, y: str) -> float:
    """Median of the per-round ratios x/y for cases run in turn; of the
    medians otherwise (the slow case)."""
    if len(res[x]) == len(res[y]):
        return statistics.median(a[0] / b[0] for a, b in zip(res[x], res[y]))
    return statistics.median(a[0] for a in res[x]) / statistics.median(b[0] for b in res[y])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--devices", default="1,8",
                    help="NIC counts for the user-netdev lines ('' for none)")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-vhost", action="store_true", help="skip the vhost-user scenario")
    ap.add_argument("--no-libvirt", action="store_true", help="skip the libvirt-like line")
    ap.add_argument("--big", action="store_true",
                    help="add 16 vhost-user NICs of 4 queue pairs, a testpmd per chardev")
    ap.add_argument("--only", default="",
                    help="only these cases, e.g. a,s,b (a bare, s shell, b prompt trace, "
                         "b2, c where, d naive, a0 unindexed, g and gl: gdb's own "
                         "backtrace at each hit)")
    ap.add_argument("--device-start", action="store_true",
                    help="add the device-start scenario (bare: gdb to vhost_net_start's return)")
    ap.add_argument("--stop-floor", action="store_true",
                    help="also: what gdb itself takes for a breakpoint stop whose "
                         "Python returns False at once (no recording)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="instead: where the shell command's time goes, N runs a line")
    opts = ap.parse_args()
    # The package's bytecode up to date, as scripts/setup.sh leaves it: with
    # PYTHONDONTWRITEBYTECODE set, a module changed since would be compiled
    # again by every run measured.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "gdb_qemuinit")],
                   stdout=subprocess.DEVNULL, check=True)
    binary = str(default_binary())
    tmp = tempfile.mkdtemp(prefix="qemuinit-bench-")
    unindexed = None if opts.profile else unindexed_copy(binary)
    print(f"QEMU {binary}; median of {opts.runs} runs after a warm-up")
    if not opts.profile:
        print(f"loading the extension adds {load_cost(binary, opts.runs * 2):.0f} ms to gdb's "
              f"start (gdb -nx -batch on the QEMU binary, with and without -x gdbinit.py)")
    lines = [(f"{n} virtio-net-pci on user netdevs", False,
              lambda d, n=int(n): [binary, *BASE, *nics(n)])
             for n in opts.devices.split(",") if n]
    if not opts.no_vhost:
        seed = scenario.load("vhost-user")
        lines.append(("the seed's vhost-user scenario with dpdk-testpmd", True,
                      lambda d: [binary, *seed.qemu_args(os.path.join(d, "vhost-user.sock"))]))
    if not opts.no_libvirt:
        lines.append(("libvirt-like JSON line: 3 vhost-user NICs (QEMU server; client; "
                      "client, reconnect, 4 queue pairs), 3 dpdk-testpmd", True,
                      lambda d: libvirt_like(binary, d)))
    if opts.big:
        lines.append(("16 vhost-user NICs of 4 queue pairs (libvirt-like JSON, both socket "
                      "roles, a root port each), 16 dpdk-testpmd", True,
                      lambda d: many_vhost_nics(binary, d)))
    try:
        for title, vhost, qemu in lines:
            if opts.profile:
                profile_line(title, vhost, qemu, tmp, opts.profile)
            else:
                bench_line(title, vhost, qemu, tmp, opts, unindexed)
        if opts.stop_floor:
            stop_floor(binary, opts.runs)
        if opts.device_start:
            start = scenario.load("device-start")
            device_start_line(lambda d: [binary, *start.qemu_args(os.path.join(d, "v.sock"))],
                              tmp, opts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if unindexed:
            os.unlink(unindexed)
    return 0


def bench_line(title, vhost, qemu, tmp, opts, unindexed) -> None:
    tj, tj2, wj, nj, sj, pj = (os.path.join(tmp, f) for f in
                               ("t.json", "t2.json", "w.json", "n.json", "s.json", "p.json"))
    script = os.path.join(tmp, "g.gdb")         # g's and gl's, for this line's plan
    if os.path.exists(script):
        os.unlink(script)
    cases = {
        "a bare": lambda q: gdb_cmd(q, "set breakpoint pending on",
                                    "break qemu_main_loop", "run", "kill", extension=False),
    }
    if unindexed:
        cases["a0 bare"] = lambda q: gdb_cmd([unindexed, *q[1:]],
                                             "set breakpoint pending on", "break qemu_main_loop",
                                             "run", "kill", extension=False)
    cases |= {
        "s shell": shell_trace(sj, vhost),
        "b trace": lambda q: gdb_cmd(q, f"qinit trace --kill --quiet --json {tj}"),
        # the same trace with gdb reading every shared library as QEMU loads it
        "b2 trace": lambda q: gdb_cmd(q, "set qinit lazy-libraries off",
                                      f"qinit trace --kill --quiet --json {tj2}"),
        "c where": lambda q: gdb_cmd(q, f"qinit where pci-config --all --kill "
                                        f"--quiet --json {wj}"),
        "g gdb bt": plain_gdb_backtraces(pj, script, lean=False),
        "gl gdb bt": plain_gdb_backtraces(pj, script, lean=True),
    }
    if not opts.no_naive:
        cases["d naive"] = lambda q: gdb_cmd(q, f"qinit trace --naive --kill "
                                                f"--quiet --json {nj}")
    if opts.only:
        wanted = set(opts.only.split(","))
        cases = {k: c for k, c in cases.items() if k.split()[0] in wanted}
    if any(k.startswith("g") for k in cases):
        run_once(shell_trace(pj, vhost), qemu, vhost)     # what the trace plants here
    res = measure(cases, qemu, opts.runs, vhost, slow=("d naive",))
    jsons = {"s shell": sj, "b trace": tj, "b2 trace": tj2, "c where": wj, "d naive": nj}
    print(f"\n{title}:")
    for k, samples in res.items():
        sec = statistics.median(x[0] for x in samples)
        rss = max(x[1] for x in samples)
        count = (f"{stops(jsons[k]):6d} stops" if k in jsons else
                 "     1 stop " if k.startswith("a") else "     - stops")
        memory = f"gdb peak {rss / 1024:6.1f} MiB" if rss else "gdb peak      -    "
        print(f"  {k:8s} {sec:7.3f} s  {count}  {memory}  ({len(samples)} runs)")
    said = [f"{x}/a = {ratio(res, k, 'a bare'):.2f}"
            for x, k in (("s", "s shell"), ("b", "b trace"), ("c", "c where"),
                         ("b2", "b2 trace"), ("g", "g gdb bt"), ("gl", "gl gdb bt"))
            if k in res and "a bare" in res]
    if "d naive" in res and "b trace" in res:
        said.append(f"d/b = {ratio(res, 'd naive', 'b trace'):.1f}")
    print("  " + "   ".join(said))
    if "b trace" in res and "a bare" in res:
        extra = (statistics.median(x[0] for x in res["b trace"])
                 - statistics.median(x[0] for x in res["a bare"]))
        n = stops(tj)
        print(f"  per stop: (b - a) / stops = {extra / n * 1000:.2f} ms over {n} stops "
              f"(every cost of the trace spread on its stops: an upper bound)")
    if "a0 bare" in res and "a bare" in res:
        print(f"  without the gdb index: a0/a = {ratio(res, 'a0 bare', 'a bare'):.2f}   "
              f"b/a0 = {ratio(res, 'b trace', 'a0 bare'):.2f} (the trace, indexed, "
              f"against bare gdb, unindexed)")


# Where the shell command's time goes: functions of the two profiles, by
# their cumulative time (a phase's functions, outermost first).
SHELL_PHASES = [
    ("prepare (command line, backends, outputs checked)", "runner.py", "prepare_run"),
    ("documented path loaded", "session.py", "prepare"),
    ("gdb runs (the shell waits)", "runner.py", "_wait_for_gdb"),
    ("imports while gdb runs", "subcommands.py", "_import_analysis"),
    ("trace read (gdb's JSON, shape checked)", "trace.py", "from_json"),
    ("run facts (stderr lines, backend logs)", "runner.py", "add_run_facts"),
    ("analysis", "annotate.py", "annotate"),
    ("outputs written", "outputs.py", "write"),
    ("the summary", "text.py", "brief"),
]
GDB_PHASES = [
    ("extension loaded (commands registered)", "__init__.py", "register"),
    ("waiting for the shell's go", "guard.py", "wait_for_go"),
    ("documented path, plan", "recording.py", "for_trace"),
    ("QEMU readied (starting)", "starting.py", "qemu_under_gdb"),
    ("run: QEMU under gdb, stops included", "qemurun.py", "execute"),
    ("  planting at main", "recorder.py", "plant"),
    ("  the stops' Python (on_hit)", "recorder.py", "on_hit"),
    ("trace made (enums, symbols)", "recorder.py", "trace"),
    ("trace written (JSON)", "trace.py", "save"),
    ("run ended (breakpoints out, kill)", "qemurun.py", "finish"),
]


FLOOR_FUNCTION = "type_get_by_name"      # called ~12 000 times before the main loop


def _python_breakpoint(counting: bool) -> str:
    """gdb commands defining a Python breakpoint on FLOOR_FUNCTION whose
    stop() returns False (and counts its calls if `counting`)."""
    body = "        _Floor.n += 1\n" if counting else ""
    return ("python\nclass _Floor(gdb.Breakpoint):\n    n = 0\n    def stop(self):\n"
            f"{body}        return False\n_Floor('{FLOOR_FUNCTION}', internal=True)\nend")


def stop_floor(binary: str, runs: int) -> None:
    """gdb's own cost of a stop: bare gdb to qemu_main_loop on the 1-NIC
    line, with and without a Python breakpoint on a hot function whose
    stop() returns False at once, in turn; the difference over the stops."""
    qemu = [binary, *BASE, *nics(1)]
    base = ["gdb", "-nx", "-batch", "-ex", "set breakpoint pending on", "-ex",
            "break qemu_main_loop", "-ex", "break main", "-ex", "run"]
    cases = {"plain": base + ["-ex", "continue", "-ex", "kill", "--args", *qemu],
             "floor": base + ["-ex", _python_breakpoint(False), "-ex", "continue",
                              "-ex", "kill", "--args", *qemu]}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for i in range(runs + 1):
        for name, cmd in cases.items():
            start = time.monotonic()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, check=True)
            if i:           # the first round warms up
                times[name].append(time.monotonic() - start)
    counted = subprocess.run(base + ["-ex", _python_breakpoint(True), "-ex", "continue",
                                     "-ex", "python print('qemuinit-bench stops', _Floor.n)",
                                     "-ex", "kill", "--args", *qemu],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             check=True)
    stops = int(next(ln.split()[-1] for ln in counted.stdout.splitlines()
                     if ln.startswith("qemuinit-bench stops")))
    plain, floor = (statistics.median(times[k]) for k in ("plain", "floor"))
    print(f"\ngdb's own cost of a stop ({stops} stops at {FLOOR_FUNCTION}, stop() returning "
          f"False at once; medians of {runs} runs each, in turn): {plain:.3f} s without the "
          f"breakpoint, {floor:.3f} s with it: {(floor - plain) / stops * 1000:.3f} ms a stop")


def device_start_line(qemu, tmp, opts) -> None:
    """The guest's start of the seed's NIC: bare gdb to vhost_net_start's
    return, the shell and the prompt trace --until device-start."""
    tj, sj = os.path.join(tmp, "t.json"), os.path.join(tmp, "s.json")
    until = ["--until", "device-start"]
    cases = {
        "a bare": lambda q: gdb_cmd(q, "set breakpoint pending on", "break vhost_net_start",
                                    "run", "finish", "kill", extension=False),
        "s shell": shell_trace(sj, True, until),
        "b trace": lambda q: gdb_cmd(q, f"qinit trace --until device-start --kill --quiet "
                                        f"--json {tj}"),
    }
    res = measure(cases, qemu, opts.runs, True, slow=())
    print("\nthe seed's NIC started by iPXE (device-start), dpdk-testpmd:")
    for k, samples in res.items():
        sec = statistics.median(x[0] for x in samples)
        count = f"{stops({'s shell': sj, 'b trace': tj}[k]):6d} stops" if k != "a bare" \
            else "     2 stops"
        print(f"  {k:8s} {sec:7.3f} s  {count}  ({len(samples)} runs)")
    print("  " + "   ".join(f"{x}/a = {ratio(res, k, 'a bare'):.2f}"
                            for x, k in (("s", "s shell"), ("b", "b trace"))))


def profile_line(title, vhost, qemu, tmp, runs) -> None:
    """Run the shell command `runs` times with QEMUINIT_PROFILE and print
    each phase's median milliseconds, from both processes' profiles."""
    import pstats
    phases: dict[str, list[float]] = {}
    marks: dict[str, list[float]] = {}
    walls = []
    for i in range(runs + 1):
        where = tempfile.mkdtemp(dir=tmp)
        os.environ["QEMUINIT_PROFILE"] = where
        try:
            wall, _ = run_once(shell_trace(os.path.join(where, "t.json"), vhost), qemu, vhost)
        finally:
            del os.environ["QEMUINIT_PROFILE"]
        if i == 0:
            continue        # warm-up
        walls.append(wall)
        # the timeline: each process's marks (gdb_qemuinit/marks.py), from
        # the shell's first line of Python
        with open(os.path.join(where, "marks"), encoding="ascii") as f:
            lines = [ln.rsplit(" ", 1) for ln in f.read().splitlines()]
        zero = float(lines[0][1])
        for name, t in lines:
            marks.setdefault(name, []).append((float(t) - zero) * 1000)
        for name, table in (("shell.prof", SHELL_PHASES), ("gdb.prof", GDB_PHASES)):
            stats = pstats.Stats(os.path.join(where, name)).stats
            for phase, file, function in table:
                total = sum(v[3] for (f, _, fn), v in stats.items()
                            if f.endswith(file) and fn == function)
                phases.setdefault(f"{name[:-5]:5s} {phase}", []).append(total * 1000)
    print(f"\n{title}: the shell command, {runs} runs, median ms (profiled: slower "
          f"than unprofiled; wall {statistics.median(walls) * 1000:.0f} ms)")
    for phase, ms in phases.items():
        print(f"  {phase:58s} {statistics.median(ms):8.1f}")
    print("  the timeline (both processes, median ms after the shell's first line of "
          "Python; the Python start before it is not in it):")
    for name, ms in sorted(marks.items(), key=lambda kv: statistics.median(kv[1])):
        print(f"  {statistics.median(ms):8.1f}  {name}")


if __name__ == "__main__":
    sys.exit(main())

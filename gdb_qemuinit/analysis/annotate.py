"""Everything computed from a recorded trace: edge verdicts and steps, the
decoded vhost-user rounds, the hang diagnosis, the hits on throwaway
objects, the first error and the findings.  Pure: no gdb."""

from __future__ import annotations

from . import blocking
from . import devicestart
from . import findings
from . import firsterror
from . import outages
from . import verify
from . import vhostuser
from . import where
from ..model import phases
from ..model.initpath import InitPath
from ..model.devicestart import starts_of
from ..model.negotiation import FAILED, Round, rounds_of, vhost_user_of
from ..model.problems import Finding
from ..model.records import json_of
from ..model.spec import load_spec
from ..model.trace import Trace
from ..model.verdicts import OBSERVED, edges_of
from ..qemu.cmdline import QemuCommandLine


def annotate(path: InitPath, trace: Trace) -> Trace:
    """Add the "edges", "steps", "vhost_user", "device_start", "hang",
    "throwaway", "first_error" and "findings" sections (again, if the trace
    has them: QEMU's stderr may have been added since); a section with
    nothing to say is left out."""
    spec = load_spec()
    # QEMU's command line, parsed once for every analysis that asks about it
    cl = QemuCommandLine.of_recorded(trace.qemu.get("argv"))
    verify.add_verdicts(path, trace, cl)
    # in this order: first_error and findings read the vhost_user section
    phase = phases.of_trace(trace.qemu)
    sections = (("vhost_user", lambda: vhostuser.section(path, trace, spec)),
                ("device_start", lambda: devicestart.section(trace, phase, spec, cl,
                                                             rounds_of(trace))),
                ("hang", lambda: blocking.diagnosis(trace, spec, path, cl)),
                ("throwaway", lambda: where.throwaway_hits(trace)),
                ("outages", lambda: outages.outages(trace.hits, phase)),
                ("first_error", lambda: firsterror.first_error(trace, cl)),
                ("findings", lambda: trace_findings(trace, cl)))
    for key, make in sections:
        value = make()
        if value:
            trace.extra[key] = json_of(value)       # records, as the trace's JSON has them
        else:
            trace.extra.pop(key, None)
    _note_restart(trace, spec.record["round_starts"], rounds_of(trace))
    return trace


def trace_findings(trace: Trace, cl: QemuCommandLine | None) -> list[Finding]:
    """Set-ups that cannot work or will surprise: from the command line `cl`
    (None: unknown), the backend's replies and how QEMU ended."""
    if cl is None:
        return []
    o = trace.outcome
    errors = [ln["line"] for ln in trace.extra.get("qemu_stderr", [])
              if ": info: " not in ln["line"] and ": warning: " not in ln["line"]]
    found = findings.from_command_line(cl)
    return (found + findings.from_starts(found, starts_of(trace))
            + findings.from_negotiation(cl, vhost_user_of(trace))
            + findings.from_backend_features(cl, vhost_user_of(trace), errors,
                                             load_spec().virtio_bits)
            + findings.from_pending(trace.hits)
            + findings.from_exit(cl, o.state, errors[0] if errors else o.error_line,
                                 trace.qemu.get("version")))


def _note_restart(trace: Trace, wait: str, rounds: list[Round]) -> None:
    """The seed's restart edges: for each chardev QEMU waited on more than
    once (a new connection after a failed one), how many times, and why.
    Several NICs or queue pairs are not a restart: each chardev's
    connection counts once."""
    texts = []
    for chardev in dict.fromkeys(r.chardev for r in rounds):
        own = [r for r in rounds if r.chardev == chardev]
        connections = {r.connection for r in own}
        if len(connections) < 2:
            continue
        failed = [f"round {r.round} failed at {r.failed_at or '?'}"
                  for r in own if r.result == FAILED]
        texts.append(f"QEMU waited for the backend of {chardev} {len(connections)} times: "
                     + "".join(f + "; " for f in failed)
                     + f"round {own[-1].round}: {own[-1].result}")
    if not texts:
        return
    text = "; ".join(texts)
    edges = edges_of(trace)
    for e in edges:
        if wait in (e.caller, e.callee) and e.status == OBSERVED:
            e.note = (e.note + "; " if e.note else "") + text
    trace.extra["edges"] = [e.to_json() for e in edges]

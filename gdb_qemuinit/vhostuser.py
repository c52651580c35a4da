"""The vhost-user messages of a trace, decoded: requests in order, grouped in
connection rounds, with the documented step each belongs to and the feature
bits by name.  The names, bits and the functions to record are data
(data/vhost-user.toml); this module only reads hits.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, NamedTuple

from .datafile import data_file, read_toml
from .trace import Hit, Trace

if TYPE_CHECKING:
    from .initpath import InitPath
    from .qemu_cmdline import QemuCommandLine


class Spec(NamedTuple):
    record: dict
    requests: dict[int, str]
    payload: dict[str, str]
    virtio_bits: dict[int, str]
    protocol_bits: dict[int, str]
    blocking: list[dict]
    monitor_note: str
    waits: dict[str, dict]       # what a thread sits in, by innermost function

    def name(self, request: int | None) -> str:
        if request is None:
            return "?"
        return self.requests.get(request, f"REQUEST_{request}")

    # -- what the recorder needs --------------------------------------------
    def needed(self, command_line: QemuCommandLine | None) -> bool:
        """Can this QEMU command line talk vhost-user at all?"""
        needs = self.record.get("needs")
        return command_line is None or not needs or command_line.satisfies(needs)

    def functions(self) -> list[str]:
        r = self.record
        return [r["sent"], r["reply"], r["round_starts"], r["negotiation_starts"]]

    def reads(self) -> dict[str, dict[str, str]]:
        r = self.record
        return {r["sent"]: dict(r["sent_reads"]), r["round_starts"]: dict(r["round_reads"])}

    def replies(self) -> dict[str, dict]:
        r = self.record
        return {r["reply"]: {"pointer": r["reply_pointer"], "reads": dict(r["reply_reads"])}}

    def blocking_reads(self) -> dict[str, dict[str, str]]:
        return {b["function"]: dict(b.get("reads", {})) for b in self.blocking}


@functools.lru_cache(maxsize=1)
def load_spec() -> Spec:
    """The vhost-user data, parsed once per process (plan, recorder and
    analysis all ask for it)."""
    d = read_toml(data_file("vhost-user.toml"))
    ints = lambda table: {int(k): v for k, v in table.items()}   # noqa: E731
    return Spec(record=d["record"], requests=ints(d["requests"]), payload=d["payload"],
                virtio_bits=ints(d["virtio_features"]),
                protocol_bits=ints(d["protocol_features"]),
                blocking=list(d.get("blocking", [])),
                monitor_note=d.get("monitor", {}).get("note", ""),
                waits=dict(d.get("waits", {})))


def bits(value: int | None, names: dict[int, str]) -> list[str]:
    """Set bits by name, lowest first; unnamed ones as 'bit N'."""
    if value is None:
        return []
    return [names.get(b, f"bit {b}") for b in range(64) if value >> b & 1]


def decode(spec: Spec, name: str, u64: int | None) -> dict | None:
    """The meaning of a u64 payload, by the request's payload kind."""
    kind = spec.payload.get(name)
    if kind is None or u64 is None:
        return None
    if kind == "virtio-features":
        return {"hex": f"{u64:#x}", "bits": bits(u64, spec.virtio_bits)}
    if kind == "protocol-features":
        return {"hex": f"{u64:#x}", "bits": bits(u64, spec.protocol_bits)}
    if kind == "vring-fd":
        # vhost-user spec: bits 0-7 the vring index, bit 8 set when no fd is passed
        return {"vring": u64 & 0xFF, "fd": not u64 & 0x100}
    return {"value": u64}


def _step_of(path: InitPath, hit: Hit, caller: str) -> tuple[int | None, str | None]:
    """The documented step (a numbered callee of `caller`, vhost_dev_init) a
    message was sent under."""
    stack = hit.stack()
    if caller not in stack:
        return None, None
    i = stack.index(caller)
    callee = stack[i - 1] if i > 0 else None
    for e in path.edges:
        if e.caller != caller or e.step is None:
            continue
        d = path.dispatch.get(e.callee)
        if callee == e.callee or (d is not None and d.served_by(callee)):
            return e.step, callee
    return None, callee


step_of = _step_of


def _message(spec: Spec, path: InitPath, hit: Hit, documented: set[str]) -> dict:
    reads = hit.reads or {}
    request = reads.get("request")
    name = spec.name(request)
    step, under = _step_of(path, hit, spec.record["negotiation_starts"])
    if step is None:        # the innermost documented function it was sent under
        under = next((fn for fn in hit.stack()[1:] if fn in documented), None)
    msg = {"seq": hit.seq, "request": request, "name": name, "step": step,
           "sent_by": hit.frames[1].function if len(hit.frames) > 1 else None,
           "under": under}
    if spec.payload.get(name) and name.startswith("SET_"):
        msg["payload"] = decode(spec, name, reads.get("u64"))
    return msg


def _errors_between(lines: list[dict], start: Hit, end: Hit | None) -> list[str]:
    """QEMU's lines written between two hits: by stderr byte offset where
    the trace has it (exact), else by time."""
    exact = all(ln.get("at") is not None for ln in lines) and \
        all(h is None or h.err is not None for h in (start, end))
    lo = start.err if exact else start.t
    hi = None if end is None else (end.err if exact else end.t)
    out = []
    for ln in lines:
        at = ln.get("at") if exact else ln.get("t", 0)
        if (lo is None or at >= lo) and (hi is None or at < hi):
            out.append(ln["line"])
    return out


def _trigger(spec: Spec, hit: Hit) -> str | None:
    """Who raised the chardev event that started a negotiation."""
    stack = hit.stack()
    raiser = spec.record.get("event_raiser")
    if raiser in stack:
        i = stack.index(raiser)
        return stack[i + 1] if i + 1 < len(stack) else None
    return None


def section(path: InitPath, trace: Trace, spec: Spec | None = None) -> dict | None:
    """The "vhost_user" section, or None when QEMU sent no vhost-user message
    and never waited for a backend.  A round is one negotiation: a new one
    starts at each wait for a connection and at each vhost_dev_init."""
    spec = spec or load_spec()
    rec = spec.record
    starts = rec["negotiation_starts"]
    last_step = max((e.step for e in path.edges if e.caller == starts and e.step),
                    default=None)
    rounds: list[dict] = []
    begun: list[Hit] = []           # the hit that began each round
    connection = 0
    last_sent: dict | None = None
    documented = set(path.functions())

    def new_round(h: Hit, chardev=None, trigger=None) -> dict:
        rnd = {"round": len(rounds) + 1, "connection": connection, "hit": h.seq,
               "t": h.t, "chardev": chardev, "trigger": trigger, "messages": []}
        rounds.append(rnd)
        begun.append(h)
        return rnd

    for h in trace.hits:
        if h.function == rec["round_starts"]:
            connection += 1
            new_round(h, chardev=(h.reads or {}).get("chardev"))
        elif h.function == starts:
            if not rounds or rounds[-1]["messages"]:
                new_round(h, chardev=rounds[-1]["chardev"] if rounds else None)
            rounds[-1]["trigger"] = _trigger(spec, h)
        elif h.function == rec["sent"]:
            if not rounds:     # a message without a documented wait (another user)
                new_round(h)
            last_sent = _message(spec, path, h, documented)
            rounds[-1]["messages"].append(last_sent)
        elif h.function == rec["reply"] and last_sent is not None:
            reply = h.reads or {}
            r = {"ret": reply.get("ret")}
            if (reply.get("ret") or 0) >= 0 and reply.get("request") == last_sent["request"]:
                r["payload"] = decode(spec, last_sent["name"], reply.get("u64"))
                if r["payload"] is None:     # REPLY_ACK: 0 is success
                    r["ack"] = reply.get("u64")
            elif reply.get("request") not in (None, last_sent["request"]):
                r["request"] = spec.name(reply.get("request"))
            last_sent["reply"] = r
    if not rounds:
        return None
    stderr = [ln for ln in trace.extra.get("qemu_stderr", []) if ": info: " not in ln["line"]]
    for i, rnd in enumerate(rounds):
        end = begun[i + 1] if i + 1 < len(rounds) else None
        rnd["errors"] = _errors_between(stderr, begun[i], end)
        _judge_round(rnd, last_step, last=i + 1 == len(rounds), state=trace.outcome.state)
    negotiating: dict[int, list[int]] = {}      # connection -> rounds with messages
    for rnd in rounds:
        if rnd["messages"]:
            negotiating.setdefault(rnd["connection"], []).append(rnd["round"])
    doc = {"rounds": rounds, "connections": connection,
           "negotiated": _negotiated(rounds),
           "notes": [f"QEMU negotiated {len(r)} times on connection {c} (rounds "
                     f"{', '.join(map(str, r))}): the chardev's OPENED event reached "
                     f"net_vhost_user_event more than once"
                     for c, r in negotiating.items() if len(r) > 1]}
    _mark_undelivered(rounds, (trace.extra.get("fault") or {}).get("cut"))
    log = trace.extra.get("backend_log")
    if log:
        doc["backend_check"] = check_against_backend(rounds, log)
    return doc


def _mark_undelivered(rounds: list[dict], cut: dict | None) -> None:
    """With a connection cut by the relay (--cut-after), what QEMU sent on it
    after the cut request never reached the backend."""
    if not cut:
        return
    after = False
    for rnd in rounds:
        if rnd["connection"] != cut["connection"]:
            continue
        for m in rnd["messages"]:
            if after:
                m["delivered"] = False
            after = after or m["request"] == cut["request"]


def _judge_round(rnd: dict, last_step: int | None, last: bool, state: str) -> None:
    msgs = rnd["messages"]
    if not msgs:
        rnd["result"] = ("no backend connected" if last and state in ("timeout", "interrupted")
                         else "no messages")
        return
    failed_reply = next((m for m in msgs if (m.get("reply") or {}).get("ret") is not None
                         and m["reply"]["ret"] < 0), None)
    complete = last_step is not None and any(m.get("step") == last_step for m in msgs)
    if failed_reply is None and complete:
        rnd["result"] = "negotiated"
        return
    culprit = failed_reply or msgs[-1]
    rnd["result"] = "incomplete" if last and state in ("timeout", "interrupted") else "failed"
    rnd["failed_at"] = culprit["name"]
    rnd["why"] = (f"no reply to {culprit['name']} (vhost_user_read returned "
                  f"{culprit['reply']['ret']})" if failed_reply else
                  f"it ended at {culprit['name']}, the last request sent"
                  + ("" if "reply" in culprit else ", which got no reply"))


def _negotiated(rounds: list[dict]) -> dict:
    """What the backend offered and QEMU acked, from the last round that got
    replies."""
    out: dict = {}
    for rnd in rounds:
        for m in rnd["messages"]:
            p = (m.get("reply") or {}).get("payload")
            if m["name"] == "GET_FEATURES" and p:
                out["backend_features"] = p
            elif m["name"] == "GET_PROTOCOL_FEATURES" and p:
                out["backend_protocol_features"] = p
            elif m["name"] == "SET_PROTOCOL_FEATURES" and m.get("payload"):
                out["acked_protocol_features"] = m["payload"]
            elif m["name"] == "SET_FEATURES" and m.get("payload"):
                out["acked_features"] = m["payload"]
            elif m["name"] == "GET_QUEUE_NUM" and p:
                out["backend_queues"] = p.get("value")
    if "acked_features" not in out and "backend_features" in out:
        out["acked_features_note"] = ("QEMU acks virtio features with SET_FEATURES "
                                      "when the guest driver starts the device "
                                      "(vhost_dev_start), after init")
    return out


def parse_backend_log(text: str, patterns: dict[str, str]) -> dict:
    """Requests and protocol features the backend says it received."""
    req = re.compile(patterns["request"])
    proto = re.compile(patterns["protocol_features"])
    out: dict = {"requests": [], "protocol_features": []}
    for line in text.splitlines():
        if m := req.search(line):
            out["requests"].append(m.group(1))
        elif m := proto.search(line):
            out["protocol_features"].append(int(m.group(1), 16))
    return out


def check_against_backend(rounds: list[dict], log: dict) -> dict:
    """Does what QEMU sent (seen by gdb) match what the backend logged?  The
    backend sees the rounds it took part in, so compare the last ones."""
    sent = [m["name"] for rnd in rounds for m in rnd["messages"]
            if m.get("delivered", True)]
    got = log.get("requests", [])
    tail = sent[-len(got):] if got else []
    acked = [int(m["payload"]["hex"], 16) for rnd in rounds for m in rnd["messages"]
             if m["name"] == "SET_PROTOCOL_FEATURES" and m.get("payload")]
    logged = log.get("protocol_features", [])
    return {"backend_received": len(got), "qemu_sent": len(sent),
            "compared": "the last requests QEMU sent (earlier ones went to connections "
                        "the backend did not make)" if len(sent) > len(got) else "all",
            "requests_agree": bool(got) and tail == got,
            "protocol_features_agree": bool(logged) and acked[-len(logged):] == logged,
            **({"first_difference": next(
                (f"#{i + 1}: QEMU sent {a}, backend logged {b}"
                 for i, (a, b) in enumerate(zip(tail, got)) if a != b),
                f"QEMU sent {len(sent)}, backend logged {len(got)}")}
               if got and tail != got else {})}


def format_section(doc: dict | None) -> str:
    """The report's vhost-user part."""
    if not doc:
        return ""
    lines = ["vhost-user negotiation (decoded from QEMU's messages)"]
    for rnd in doc["rounds"]:
        head = f"  round {rnd['round']} (connection {rnd['connection']}"
        if rnd.get("chardev"):
            head += f", chardev {rnd['chardev']}"
        if rnd.get("trigger"):
            head += f", OPENED event from {rnd['trigger']}"
        head += ")"
        head += f": {rnd['result']}"
        if rnd.get("why"):
            head += f" ({rnd['why']})"
        lines.append(head)
        for m in rnd["messages"]:
            step = f"step {m['step']}" if m.get("step") else "      "
            text = f"    {step}  {m['name']:<22} from {m.get('sent_by') or '?'}"
            if not m.get("step") and m.get("under"):
                text += f" (in {m['under']})"
            if m.get("payload"):
                text += "  " + _payload_text(m["payload"])
            r = m.get("reply")
            if r is not None:
                text += ("  -> " + _payload_text(r["payload"]) if r.get("payload")
                         else f"  -> reply failed ({r.get('ret')})" if (r.get("ret") or 0) < 0
                         else f"  -> ack {r['ack']}" if r.get("ack") is not None
                         else "  -> replied")
            lines.append(text)
        for e in rnd.get("errors", []):
            lines.append(f"    QEMU: {e}")
    for note in doc.get("notes", []):
        lines.append(f"  note: {note}")
    n = doc.get("negotiated", {})
    for key, title in (("backend_features", "backend offered virtio features"),
                       ("backend_protocol_features", "backend offered protocol features"),
                       ("acked_protocol_features", "QEMU acked protocol features"),
                       ("acked_features", "QEMU acked virtio features")):
        if key in n:
            lines.append(f"  {title}: {n[key]['hex']}")
            lines.append("    " + ", ".join(n[key]["bits"]))
    if "backend_queues" in n:
        lines.append(f"  backend queue pairs: {n['backend_queues']}")
    if n.get("acked_features_note"):
        lines.append(f"  virtio features: {n['acked_features_note']}")
    c = doc.get("backend_check")
    if c:
        verdict = "agrees" if c["requests_agree"] else "DISAGREES"
        lines.append(f"  backend log {verdict}: it received {c['backend_received']} "
                     f"requests, QEMU sent {c['qemu_sent']}"
                     + (" (the extra ones went to the dropped connection)"
                        if c["qemu_sent"] > c["backend_received"] and c["requests_agree"]
                        else "")
                     + (f"; {c['first_difference']}" if c.get("first_difference") else "")
                     + ("; protocol features agree" if c["protocol_features_agree"] else ""))
    return "\n".join(lines) + "\n"


def _payload_text(p: dict) -> str:
    if "hex" in p:
        return f"{p['hex']} ({len(p['bits'])} bits)"
    if "vring" in p:
        return f"vring {p['vring']}" + ("" if p["fd"] else " (no fd)")
    return str(p.get("value"))

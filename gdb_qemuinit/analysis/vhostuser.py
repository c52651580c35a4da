"""The vhost-user messages of a trace, decoded: requests in order, grouped in
connection rounds, with the documented step each belongs to and the feature
bits by name.  The names, bits and the functions to record are data
(data/vhost-user.toml); this module only reads hits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import backendlog
from ..model.spec import Spec, load_spec
from ..model.trace import CUT_SHORT, Hit, Trace

if TYPE_CHECKING:
    from ..model.initpath import InitPath


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
        k = i - 1      # past the functions a release puts before the pointer call
        while d is not None and k > 0 and stack[k] in d.through:
            k -= 1
        if callee == e.callee:
            return e.step, callee
        if d is not None and k >= 0 and d.served_by(stack[k]):
            return e.step, stack[k]
    return None, callee


step_of = _step_of


def _message(spec: Spec, path: InitPath, hit: Hit, documented: set[str],
             writes_watched: bool) -> dict:
    reads = hit.reads or {}
    request = reads.get("request")
    name = spec.name(request)
    step, under = _step_of(path, hit, spec.record["negotiation_starts"])
    if step is None:        # the innermost documented function it was sent under
        under = next((fn for fn in hit.stack()[1:] if fn in documented), None)
    msg = {"seq": hit.seq, "request": request, "name": name, "step": step,
           "sent_by": hit.frames[1].function if len(hit.frames) > 1 else None,
           "under": under, "chardev": reads.get("chardev"), "vq_index": reads.get("vq_index")}
    per_device = bool(reads.get("vq_index")) and request in spec.per_device()
    if writes_watched:
        # What QEMU did: did this call of the sent function call the writer?
        if not reads.get("written"):
            msg["sent"] = False
            msg["not_sent_why"] = (
                f"{spec.record['sent']} returned without calling "
                f"{spec.record['written_by']}"
                + (f": a per-device request, and vq_index {reads['vq_index']} is not the "
                   f"first queue pair's" if per_device else ""))
    elif per_device:
        # No call site found in this binary: the releases' list decides.
        msg["sent"] = False
        msg["not_sent_why"] = (f"per-device request, vq_index {reads['vq_index']} != 0: "
                               f"{spec.record.get('per_device_decided_by', spec.record['sent'])} "
                               f"sends it for the first queue pair only (from the list "
                               f"of per-device requests: the write call was not watched)")
    if spec.payload.get(name) and name.startswith("SET_"):
        msg["payload"] = decode(spec, name, reads.get("u64"))
    if (reads.get("flags") or 0) & spec.record.get("need_reply_flag", 0):
        msg["need_reply"] = True
    return msg


def _errors_between(lines: list[dict], start: Hit, end: Hit | None) -> list[str]:
    """QEMU's lines written between two hits: by stderr byte offset where
    the trace has it (exact), else by time."""
    exact = all(ln.get("at") is not None for ln in lines) and \
        all(h is None or h.err is not None for h in (start, end))
    lo: float | None = start.err if exact else start.t
    hi: float | None = None if end is None else (end.err if exact else end.t)
    out = []
    for ln in lines:
        at = ln["at"] if exact else ln.get("t", 0)
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
    and never waited for a backend.  A round is one negotiation of one
    vhost_dev (a netdev's queue pair) on one chardev: a new one starts at
    each wait for a connection and at each vhost_dev_init.  Every message
    goes to the round of the chardev and queue pair QEMU sent it for (read
    from its vhost_dev), whatever the order in which messages of several
    netdevs interleave."""
    spec = (spec or load_spec()).for_trace(trace)
    rec = spec.record
    starts = rec["negotiation_starts"]
    last_step = max((e.step for e in path.edges if e.caller == starts and e.step),
                    default=None)
    rounds: list[dict] = []
    begun: list[Hit] = []           # the hit that began each round
    connection = 0
    connection_of: dict = {}        # chardev -> its current connection
    waiting: dict = {}              # chardev -> a round begun by a wait, no vhost_dev yet
    current: dict = {}              # (chardev, vq_index) -> its latest round
    latest: dict = {}               # chardev -> its latest round
    last_sent: dict = {}            # chardev -> the last message sent on it
    documented = set(path.functions())
    watched = rec["sent"] in (trace.extra.get("writes_watched") or [])

    def new_round(h: Hit, chardev=None, trigger=None) -> dict:
        rnd = {"round": len(rounds) + 1, "connection": connection_of.get(chardev, connection),
               "hit": h.seq, "t": h.t, "chardev": chardev, "netdev": None, "vq_index": None,
               "trigger": trigger, "messages": []}
        rounds.append(rnd)
        begun.append(h)
        latest[chardev] = rnd
        return rnd

    def round_for(chardev, vq_index, h: Hit) -> dict:
        if chardev is None and rounds:       # no debug info to tell: the latest
            return rounds[-1]
        rnd = current.get((chardev, vq_index)) or latest.get(chardev)
        return rnd if rnd is not None else new_round(h, chardev)

    for h in trace.hits:
        reads = h.reads or {}
        if h.function == rec["round_starts"]:
            connection += 1
            chardev = reads.get("chardev")
            connection_of[chardev] = connection
            waiting[chardev] = new_round(h, chardev=chardev)
        elif h.function == starts:
            chardev = reads.get("chardev")
            if chardev is None and rounds:
                chardev = rounds[-1]["chardev"]
            # a wait whose chardev could not be read is the one this joins
            rnd = waiting.pop(chardev, None) or waiting.pop(None, None)
            if rnd is None:
                rnd = new_round(h, chardev=chardev)
            elif rnd["chardev"] is None:
                rnd["chardev"] = chardev
                connection_of[chardev] = rnd["connection"]
            rnd.update(netdev=reads.get("netdev"), vq_index=reads.get("vq_index"),
                       trigger=_trigger(spec, h))
            current[(chardev, reads.get("vq_index"))] = rnd
            latest[chardev] = rnd
        elif h.function == rec["sent"]:
            msg = _message(spec, path, h, documented, watched)
            round_for(msg["chardev"], msg["vq_index"], h)["messages"].append(msg)
            last_sent[msg["chardev"]] = msg
        elif h.function == rec["reply"]:
            sent_msg = last_sent.get(reads.get("chardev"))
            if sent_msg is None and reads.get("chardev") is None and last_sent:
                sent_msg = list(last_sent.values())[-1]
            if sent_msg is not None:
                sent_msg["reply"] = _reply(spec, sent_msg, reads)
    if not rounds:
        return None
    stderr = [ln for ln in trace.extra.get("qemu_stderr", []) if ": info: " not in ln["line"]]
    order = sorted(range(len(rounds)), key=lambda i: begun[i].seq)
    for n, i in enumerate(order):
        rnd = rounds[i]
        end = begun[order[n + 1]] if n + 1 < len(order) else None
        rnd["errors"] = _errors_between(stderr, begun[i], end)
        _judge_round(rnd, last_step, last=latest.get(rnd["chardev"]) is rnd,
                     state=trace.outcome.state)
    negotiating: dict[tuple, list[int]] = {}    # (connection, vq_index) -> rounds
    for rnd in rounds:
        if any(m.get("sent", True) for m in rnd["messages"]):
            negotiating.setdefault((rnd["connection"], rnd["vq_index"] or 0),
                                   []).append(rnd["round"])
    chardevs = list(dict.fromkeys(r["chardev"] for r in rounds))
    doc = {"rounds": rounds, "connections": connection,
           "negotiated": _negotiated(rounds),
           "chardevs": [{"chardev": c,
                         "netdev": next((r["netdev"] for r in rounds
                                         if r["chardev"] == c and r["netdev"]), None),
                         "queue_pairs": len({r["vq_index"] for r in rounds
                                             if r["chardev"] == c and r["messages"]}),
                         "negotiated": _negotiated([r for r in rounds if r["chardev"] == c])}
                        for c in chardevs],
           "notes": [f"QEMU negotiated {len(r)} times on connection {c}"
                     + (f" for vq_index {v}" if v else "")
                     + f" (rounds {', '.join(map(str, r))}): the chardev's OPENED event "
                       f"reached net_vhost_user_event more than once"
                     for (c, v), r in negotiating.items() if len(r) > 1]}
    _mark_undelivered(rounds, (trace.extra.get("fault") or {}).get("cut"))
    checks = backendlog.checks(spec, rounds, trace)
    if checks:
        doc["backend_checks"] = checks
    return doc


def _mark_undelivered(rounds: list[dict], cut: dict | None) -> None:
    """With a connection cut by the relay (--cut-after), what QEMU sent on it
    after the cut request never reached the backend."""
    if not cut:
        return
    after = False
    on_it = sorted((m for rnd in rounds if rnd["connection"] == cut["connection"]
                    for m in rnd["messages"] if m.get("sent", True)), key=lambda m: m["seq"])
    for m in on_it:
        if after:
            m["delivered"] = False
        after = after or m["request"] == cut["request"]


def _reply(spec: Spec, sent_msg: dict, reply: dict) -> dict:
    r = {"ret": reply.get("ret")}
    if (reply.get("ret") or 0) >= 0 and reply.get("request") == sent_msg["request"]:
        # a request sent with need_reply gets an ack, whatever its payload kind
        r["payload"] = (None if sent_msg.get("need_reply")
                        else decode(spec, sent_msg["name"], reply.get("u64")))
        if r["payload"] is None:     # REPLY_ACK: 0 is success
            r["ack"] = reply.get("u64")
    elif reply.get("request") not in (None, sent_msg["request"]):
        r["request"] = spec.name(reply.get("request"))
    return r


def _judge_round(rnd: dict, last_step: int | None, last: bool, state: str) -> None:
    msgs = [m for m in rnd["messages"] if m.get("sent", True)]
    if not msgs:
        rnd["result"] = ("no backend connected" if last and state in CUT_SHORT
                         else "no messages")
        return
    failed_reply = next((m for m in msgs if (m.get("reply") or {}).get("ret") is not None
                         and m["reply"]["ret"] < 0), None)
    complete = last_step is not None and any(m.get("step") == last_step for m in msgs)
    if failed_reply is None and complete:
        rnd["result"] = "negotiated"
        return
    culprit = failed_reply or msgs[-1]
    rnd["result"] = "incomplete" if last and state in CUT_SHORT else "failed"
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
            if not m.get("sent", True):
                continue
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

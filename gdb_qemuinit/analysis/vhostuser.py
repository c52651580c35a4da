"""The vhost-user messages of a trace, decoded: requests in order, grouped in
connection rounds, with the documented step each belongs to and the feature
bits by name.  The names, bits and the functions to record are data
(data/vhost-user.toml); this module only reads hits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import backendlog
from ..model.negotiation import (FAILED, INCOMPLETE, NEGOTIATED, NO_BACKEND, NO_MESSAGES,
                                 ChardevSummary, Message, Negotiated, Payload, Reply, Round,
                                 VhostUser)
from ..model.records import ABSENT
from ..model.spec import Spec, bits, load_spec
from ..model.trace import CUT_SHORT, WATCHED, Hit, Trace

if TYPE_CHECKING:
    from ..model.initpath import InitPath


def decode(spec: Spec, name: str, u64: int | None, reads: dict | None = None) -> Payload | None:
    """The meaning of a payload, by the request's payload kind: its u64,
    or what was read for this request only (`reads`: regions, addr)."""
    kind = spec.payload.get(name)
    reads = reads or {}
    if kind == "memory-table" and reads.get("regions") is not None:
        return Payload(regions=[dict(r) for r in reads["regions"]])
    if kind == "vring-addr" and reads.get("addr"):
        a = dict(reads["addr"])
        return Payload(vring=a.pop("index", None), addr=a)
    if kind is None or u64 is None or kind in ("memory-table", "vring-addr"):
        return None
    if kind == "device-status":
        return Payload(hex=f"{u64:#x}", bits=bits(u64, spec.status_bits))
    if kind == "virtio-features":
        return Payload(hex=f"{u64:#x}", bits=bits(u64, spec.virtio_bits))
    if kind == "protocol-features":
        return Payload(hex=f"{u64:#x}", bits=bits(u64, spec.protocol_bits))
    if kind == "vring-fd":
        # vhost-user spec: bits 0-7 the vring index, bit 8 set when no fd is passed
        return Payload(vring=u64 & 0xFF, fd=not u64 & 0x100)
    if kind == "vring-state":
        # struct vhost_vring_state { unsigned int index; unsigned int num; },
        # read as the payload's first 8 bytes (little-endian)
        return Payload(vring=u64 & 0xFFFFFFFF, num=u64 >> 32)
    return Payload(value=u64)


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
             writes_watched: bool) -> Message:
    reads = hit.reads or {}
    request = reads.get("request")
    name = spec.name(request)
    step, under = _step_of(path, hit, spec.record["negotiation_starts"])
    if step is None:        # the innermost documented function it was sent under
        under = next((fn for fn in hit.stack()[1:] if fn in documented), None)
    msg = Message(seq=hit.seq, request=request, name=name, step=step,
                  sent_by=hit.frames[1].function if len(hit.frames) > 1 else None,
                  under=under, chardev=reads.get("chardev"), vq_index=reads.get("vq_index"))
    why = _not_sent_why(spec, reads, request, writes_watched)
    if why is not None:
        msg.sent, msg.not_sent_why = False, why
    if spec.payload.get(name) and name.startswith("SET_"):
        msg.payload = decode(spec, name, reads.get("u64"), reads)
    # a message not written expects no reply, whatever its flags said (QEMU
    # clears the flag of a request it skips before returning)
    if msg.sent and (reads.get("flags") or 0) & spec.record.get("need_reply_flag", 0):
        msg.need_reply = True
    return msg


def _not_sent_why(spec: Spec, reads: dict, request: int | None,
                  writes_watched: bool) -> str | None:
    """Why QEMU's sent function did not put this message on the wire (None:
    it did, or nothing tells it did not)."""
    rec = spec.record
    per_device = bool(reads.get("vq_index")) and request in spec.per_device()
    if writes_watched:
        # What QEMU did: did this call of the sent function call the writer?
        if reads.get("written"):
            return None
        return (f"{rec['sent']} returned without calling {rec['written_by']}"
                + (f": a per-device request, and vq_index {reads['vq_index']} is not the "
                   f"first queue pair's" if per_device else ""))
    if per_device:
        # No call site found in this binary: the releases' list decides.
        return (f"per-device request, vq_index {reads['vq_index']} != 0: "
                f"{rec.get('per_device_decided_by', rec['sent'])} "
                f"sends it for the first queue pair only (from the list "
                f"of per-device requests: the write call was not watched)")
    return None


def _reply(spec: Spec, sent_msg: Message, reply: dict) -> Reply:
    r = Reply(ret=reply.get("ret"))
    if (reply.get("ret") or 0) >= 0 and reply.get("request") == sent_msg.request:
        # a request sent with need_reply gets an ack, whatever its payload kind
        r.payload = (None if sent_msg.need_reply
                     else decode(spec, sent_msg.name, reply.get("u64")))
        if r.payload is None:     # REPLY_ACK: 0 is success
            r.ack = reply.get("u64")
    elif reply.get("request") not in (None, sent_msg.request):
        r.request = spec.name(reply.get("request"))
    return r


def errors_between(lines: list[dict], start: Hit, end: Hit | None) -> list[str]:
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


class _Rounds:
    """The rounds, made hit by hit.  A round is one negotiation of one
    vhost_dev (a netdev's queue pair) on one chardev: a new one starts at
    each wait for a connection and at each vhost_dev_init.  Every message
    goes to the round of the chardev and queue pair QEMU sent it for (read
    from its vhost_dev), whatever the order in which messages of several
    netdevs interleave."""

    def __init__(self, spec: Spec, path: InitPath, trace: Trace):
        self.spec, self.path = spec, path
        self.rounds: list[Round] = []
        self.begun: list[Hit] = []                  # the hit that began each round
        self.connection = 0                         # connections QEMU waited for
        self.connection_of: dict[str | None, int] = {}   # chardev -> its current one
        # chardev -> a round begun by a wait, no vhost_dev yet
        self.waiting: dict[str | None, Round] = {}
        self.current: dict[tuple, Round] = {}       # (chardev, vq_index) -> its latest round
        self.latest: dict[str | None, Round] = {}   # chardev -> its latest round
        self.last_sent: dict[str | None, Message] = {}  # chardev -> its last message
        self.documented = set(path.functions())
        self.watched = spec.record["sent"] in (trace.extra.get("writes_watched") or [])

    def read(self, hits: list[Hit]) -> None:
        rec = self.spec.record
        handlers: dict[str, Callable[[Hit, dict], None]] = {}
        for function, handler in ((rec["round_starts"], self._wait),
                                  (rec["negotiation_starts"], self._negotiation),
                                  (rec["sent"], self._sent), (rec["reply"], self._reply)):
            handlers.setdefault(function, handler)
        for h in hits:
            if h.function in handlers:
                handlers[h.function](h, h.reads or {})

    def _new(self, h: Hit, chardev: str | None = None) -> Round:
        rnd = Round(round=len(self.rounds) + 1,
                    connection=self.connection_of.get(chardev, self.connection),
                    hit=h.seq, t=h.t, chardev=chardev)
        self.rounds.append(rnd)
        self.begun.append(h)
        self.latest[chardev] = rnd
        return rnd

    def _wait(self, h: Hit, reads: dict) -> None:
        self.connection += 1
        chardev = reads.get("chardev")
        self.connection_of[chardev] = self.connection
        self.waiting[chardev] = self._new(h, chardev)

    def _negotiation(self, h: Hit, reads: dict) -> None:
        chardev = reads.get("chardev")
        if chardev is None and self.rounds:
            chardev = self.rounds[-1].chardev
        # a wait whose chardev could not be read is the one this joins
        rnd = self.waiting.pop(chardev, None) or self.waiting.pop(None, None)
        if rnd is None:
            rnd = self._new(h, chardev)
        elif rnd.chardev is None:
            rnd.chardev = chardev
            self.connection_of[chardev] = rnd.connection
        rnd.netdev, rnd.vq_index = reads.get("netdev"), reads.get("vq_index")
        rnd.trigger = _trigger(self.spec, h)
        self.current[(chardev, reads.get("vq_index"))] = rnd
        self.latest[chardev] = rnd

    def _sent(self, h: Hit, reads: dict) -> None:
        msg = _message(self.spec, self.path, h, self.documented, self.watched)
        self._round_for(msg.chardev, msg.vq_index, h).messages.append(msg)
        self.last_sent[msg.chardev] = msg

    def _round_for(self, chardev: str | None, vq_index: int | None, h: Hit) -> Round:
        if chardev is None and self.rounds:       # no debug info to tell: the latest
            return self.rounds[-1]
        rnd = self.current.get((chardev, vq_index)) or self.latest.get(chardev)
        return rnd if rnd is not None else self._new(h, chardev)

    def _reply(self, h: Hit, reads: dict) -> None:
        sent_msg = self.last_sent.get(reads.get("chardev"))
        if sent_msg is None and reads.get("chardev") is None and self.last_sent:
            sent_msg = list(self.last_sent.values())[-1]
        if sent_msg is not None:
            sent_msg.reply = _reply(self.spec, sent_msg, reads)

    def judge(self, last_step: int | None, trace: Trace) -> None:
        """Each round's QEMU lines (those written until the next round
        began) and its result."""
        stderr = [ln for ln in trace.extra.get("qemu_stderr", [])
                  if ": info: " not in ln["line"]]
        order = sorted(range(len(self.rounds)), key=lambda i: self.begun[i].seq)
        for n, i in enumerate(order):
            rnd = self.rounds[i]
            end = self.begun[order[n + 1]] if n + 1 < len(order) else None
            rnd.errors = errors_between(stderr, self.begun[i], end)
            _judge_round(rnd, last_step, last=self.latest.get(rnd.chardev) is rnd,
                         state=trace.outcome.state)


def section(path: InitPath, trace: Trace, spec: Spec | None = None) -> VhostUser | None:
    """The "vhost_user" section, or None when QEMU sent no vhost-user message
    and never waited for a backend (see _Rounds for what a round is)."""
    spec = (spec or load_spec()).for_trace(trace)
    made = _Rounds(spec, path, trace)
    made.read(trace.hits)
    rounds = made.rounds
    if not rounds:
        return None
    starts = spec.record["negotiation_starts"]
    made.judge(max((e.step for e in path.edges if e.caller == starts and e.step),
                   default=None), trace)
    doc = VhostUser(rounds=rounds, connections=made.connection,
                    negotiated=_negotiated(rounds), chardevs=_chardevs(rounds),
                    notes=_renegotiations(rounds))
    _mark_undelivered(rounds, (trace.extra.get("fault") or {}).get("cut"))
    checks = backendlog.checks(spec, rounds, trace)
    if checks:
        doc.backend_checks = checks
    return doc


def _chardevs(rounds: list[Round]) -> list[ChardevSummary]:
    """Per chardev, in the order QEMU first used them: its netdev, queue
    pairs and what was negotiated on it."""
    out = []
    for c in dict.fromkeys(r.chardev for r in rounds):
        own = [r for r in rounds if r.chardev == c]
        out.append(ChardevSummary(chardev=c,
                                  netdev=next((r.netdev for r in own if r.netdev), None),
                                  queue_pairs=len({r.vq_index for r in own if r.messages}),
                                  negotiated=_negotiated(own)))
    return out


def _renegotiations(rounds: list[Round]) -> list[str]:
    """A note per connection and queue pair QEMU negotiated more than once."""
    negotiating: dict[tuple, list[int]] = {}    # (connection, vq_index) -> rounds
    for rnd in rounds:
        if rnd.on_wire():
            negotiating.setdefault((rnd.connection, rnd.vq_index or 0), []).append(rnd.round)
    return [f"QEMU negotiated {len(r)} times on connection {c}"
            + (f" for vq_index {v}" if v else "")
            + f" (rounds {', '.join(map(str, r))}): the chardev's OPENED event "
              f"reached net_vhost_user_event more than once"
            for (c, v), r in negotiating.items() if len(r) > 1]


def _mark_undelivered(rounds: list[Round], cut: dict | None) -> None:
    """With a connection cut by the relay (--cut-after), what QEMU sent on it
    after the cut request never reached the backend."""
    if not cut:
        return
    after = False
    on_it = sorted((m for rnd in rounds if rnd.connection == cut["connection"]
                    for m in rnd.on_wire()), key=lambda m: m.seq)
    for m in on_it:
        if after:
            m.delivered = False
        after = after or m.request == cut["request"]


def _judge_round(rnd: Round, last_step: int | None, last: bool, state: str) -> None:
    msgs = rnd.on_wire()
    # a watch may end in the middle of a negotiation, as a cut-short run does
    cut_short = last and (state in CUT_SHORT or state == WATCHED)
    if not msgs:
        rnd.result = NO_BACKEND if cut_short else NO_MESSAGES
        return
    failed = next((m for m in msgs if m.reply and m.reply.ret is not None and m.reply.ret < 0),
                  None)
    complete = last_step is not None and any(m.step == last_step for m in msgs)
    if failed is None and complete:
        rnd.result = NEGOTIATED
        return
    culprit = failed or msgs[-1]
    rnd.result = INCOMPLETE if cut_short else FAILED
    rnd.failed_at = culprit.name
    if failed is not None and failed.reply:
        rnd.why = (f"no reply to {culprit.name} (vhost_user_read returned "
                   f"{failed.reply.ret})")
    else:
        rnd.why = (f"it ended at {culprit.name}, the last request sent"
                   + ("" if culprit.reply else ", which got no reply"))


def _negotiated(rounds: list[Round]) -> Negotiated:
    """What the backend offered and QEMU acked, from the last round that got
    replies."""
    out = Negotiated()
    for m in (m for rnd in rounds for m in rnd.on_wire()):
        p = m.reply.payload if m.reply else None
        if m.name == "GET_FEATURES" and p:
            out.put("backend_features", p)
        elif m.name == "GET_PROTOCOL_FEATURES" and p:
            out.put("backend_protocol_features", p)
        elif m.name == "SET_PROTOCOL_FEATURES" and m.payload:
            out.put("acked_protocol_features", m.payload)
        elif m.name == "SET_FEATURES" and m.payload:
            out.put("acked_features", m.payload)
        elif m.name == "GET_QUEUE_NUM" and p:
            out.put("backend_queues", p.value if p.value is not ABSENT else None)
    if "acked_features" not in out.order and "backend_features" in out.order:
        out.put("acked_features_note", "QEMU acks virtio features with SET_FEATURES "
                                       "when the guest driver starts the device "
                                       "(vhost_dev_start), after init")
    return out

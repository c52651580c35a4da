"""Each vhost NIC's start by the guest (phase device-start): from the hits
of the phase's started function (vhost_net_start: its reads at entry, its
return value), the vhost-user messages sent in between, the negotiation
before it and QEMU's lines.  Pure: no gdb."""

from __future__ import annotations

import errno
import os

from .firsterror import QUIET
from .vhostuser import errors_between
from ..model.devicestart import FAILED, NOT_STARTED, STARTED, NicStart
from ..model.negotiation import Message, Payload, Round
from ..model.phases import Phase
from ..model.spec import Spec, bits
from ..model.trace import Hit, Trace
from ..qemu.cmdline import QemuCommandLine

# Feature bits of the vhost-user protocol itself, not of the guest's device.
_NOT_GUEST = ("VHOST_",)


def section(trace: Trace, phase: Phase, spec: Spec, cl: QemuCommandLine | None,
            rounds: list[Round]) -> list[NicStart]:
    """One NicStart per NIC the phase awaits (the command line's vhost NICs,
    else those the run saw start), in command-line order."""
    started = phase.started
    if started is None:
        return []
    entries = [h for h in trace.hits if h.function == started.function]
    nics = ([(n.id or "", d, n.queues, n.chardev) for d, n in cl.vhost_nics()] if cl
            else [(str((h.reads or {}).get("netdev")), None, 1, None) for h in entries])
    messages = {m.seq: m for r in rounds for m in r.messages}
    out = []
    seen = set()
    for netdev, device, queues, chardev in nics:
        if netdev in seen:
            continue
        seen.add(netdev)
        mine = [h for h in entries if (h.reads or {}).get("netdev") == netdev]
        # the first start that returned (a guest that resets and starts
        # again shows more), else the one still running
        entry = next((h for h in mine if (h.reads or {}).get("ret") is not None),
                     mine[-1] if mine else None)
        nic = NicStart(netdev=netdev, result=NOT_STARTED, queues=queues, chardev=chardev,
                       device=(device.id or device.driver) if device else None)
        if entry is None:
            nic.why = _never_started(trace, device)
        else:
            _fill(nic, entry, trace, spec, messages, rounds)
        out.append(nic)
    return out


def _never_started(trace: Trace, device) -> str:
    text = (f"the guest's driver never set DRIVER_OK on it before the run ended "
            f"({trace.outcome.state})")
    if device is not None and "bootindex" not in device.props:
        text += ("; it has no bootindex=: iPXE drives only the NIC it boots from "
                 "(bootindex=N on each; iPXE tries them in turn, about 20 s apart)")
    return text


def _fill(nic: NicStart, entry: Hit, trace: Trace, spec: Spec,
          messages: dict[int, Message], rounds: list[Round]) -> None:
    r = entry.reads or {}
    nic.hit, nic.t, nic.ret = entry.seq, entry.t, r.get("ret")
    nic.queue_pairs = r.get("queue_pairs")
    nic.control_queue = bool(r["cvq"]) if r.get("cvq") is not None else None
    end = r.get("returned_after") or len(trace.hits)
    during = [h for h in trace.hits if entry.seq < h.seq <= end and h.thread == entry.thread]
    sent = [messages[h.seq] for h in during if h.seq in messages]
    nic.requests = [m.name for m in sent if m.sent]
    features = next((m.payload for m in sent if m.name == "SET_FEATURES" and m.payload), None)
    if features:
        nic.sent_features = features
    guest = r.get("guest_features")
    acked: list[str] = []
    if isinstance(guest, int):
        acked = bits(guest, spec.virtio_bits)
        nic.guest_features = Payload(hex=f"{guest:#x}", bits=acked)
        offered = _offered(rounds, nic.chardev, entry.seq)
        if offered is not None:
            nic.offered_not_taken = [b for b in bits(offered & ~guest, spec.virtio_bits)
                                     if not b.startswith(_NOT_GUEST)]
    if nic.queue_pairs is not None and nic.queue_pairs < nic.queues:
        nic.pairs_not_started = list(range(nic.queue_pairs, nic.queues))
        mq = "VIRTIO_NET_F_MQ" in acked
        nic.why = (f"the guest drives {nic.queue_pairs} of {nic.queues} queue pairs"
                   + ("" if mq else ": it did not ack VIRTIO_NET_F_MQ, so QEMU starts "
                      "pair 0 only (iPXE drives one pair; a Linux guest sets more with "
                      "ethtool -L)"))
    nic.qemu_said = _lines_after(trace, entry)
    if nic.ret is None:
        nic.result = NOT_STARTED
        nic.why = f"{entry.function} had not returned when the run ended ({trace.outcome.state})"
    elif nic.ret == 0:
        nic.result = STARTED
    else:
        nic.result = FAILED
        nic.error = _errno_text(nic.ret)
        if during:
            nic.failed_in = during[-1].function


def _offered(rounds: list[Round], chardev: str | None, before: int) -> int | None:
    """The backend's last GET_FEATURES reply on `chardev` before hit `before`."""
    value = None
    for rnd in rounds:
        if chardev is not None and rnd.chardev != chardev:
            continue
        for m in rnd.messages:
            p = m.reply.payload if m.reply else None
            if m.seq < before and m.name == "GET_FEATURES" and p:
                value = p.number()
    return value


def _lines_after(trace: Trace, entry: Hit) -> list[str]:
    """QEMU's error lines written after the start began."""
    return [ln for ln in errors_between(trace.extra.get("qemu_stderr", []), entry, None)
            if not any(q in ln for q in QUIET)]


def _errno_text(ret: int) -> str:
    if ret < 0 and -ret in errno.errorcode:
        return f"{errno.errorcode[-ret]}: {os.strerror(-ret)}"
    return f"error {ret}"

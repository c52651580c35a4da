"""The trace's "device_start" section as records (phase device-start): for
each NIC with a vhost backend, whether the guest's driver got QEMU to start
it, what went to the backend and what did not.  `analysis/devicestart`
makes it; the renderers and the findings read it with `starts_of`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .negotiation import Payload
from .records import ABSENT, Absent, JsonRecord, json_field

if TYPE_CHECKING:
    from .trace import Trace

# How a NIC's start ended (NicStart.result).
STARTED = "started"             # vhost_net_start returned 0
FAILED = "failed"               # it returned an error: QEMU falls back to userspace virtio
NOT_STARTED = "not started"     # it never ran (the run ended first)
RESULTS = (STARTED, FAILED, NOT_STARTED)


@dataclass
class NicStart(JsonRecord):
    """One NIC's start: vhost_net_start's hit and return, the queue pairs
    the guest drives, the features it acked, the start's requests."""
    netdev: str
    result: str                                 # one of RESULTS
    device: str | None = None                   # the -device's id, else its driver
    chardev: str | None = None
    hit: int | None = None                      # vhost_net_start's entry
    t: float | None = None
    ret: int | None = None
    error: str | Absent = ABSENT                # the errno's name and text
    failed_in: str | Absent = ABSENT            # the innermost function before the return
    queues: int = 1                             # the netdev's queue pairs
    queue_pairs: int | None = None              # those the guest drives
    control_queue: bool | None = None
    pairs_not_started: list[int] = field(default_factory=list)
    guest_features: Payload | Absent = json_field(default=ABSENT, read=Payload.from_json)
    sent_features: Payload | Absent = json_field(default=ABSENT, read=Payload.from_json)
    offered_not_taken: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)   # on the wire, in order
    qemu_said: list[str] = field(default_factory=list)
    why: str | Absent = ABSENT


def starts_of(trace: Trace) -> list[NicStart]:
    return [NicStart.from_json(d) for d in trace.extra.get("device_start") or []]

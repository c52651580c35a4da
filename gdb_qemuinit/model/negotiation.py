"""The trace's "vhost_user" section as records: the negotiation decoded into
rounds, their messages and the replies, what was negotiated per chardev,
and each backend's log compared with what QEMU sent.  `analysis/vhostuser`
and `analysis/backendlog` make it; the renderers read it with
`vhost_user_of`.  A round's result is one of the words below, spelled here
only.  What a round or a message may lack has a default, so that a section
written by hand (a test's, a bug report's) reads too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .records import ABSENT, Absent, JsonRecord, json_field, records_of

if TYPE_CHECKING:
    from .trace import Trace

# How a round ended (Round.result).
NEGOTIATED = "negotiated"               # every documented step, no failed reply
FAILED = "failed"
INCOMPLETE = "incomplete"               # cut short (timeout, interrupt) while negotiating
NO_MESSAGES = "no messages"
NO_BACKEND = "no backend connected"     # cut short while waiting for the backend
RESULTS = (NEGOTIATED, FAILED, INCOMPLETE, NO_MESSAGES, NO_BACKEND)


@dataclass
class Payload(JsonRecord):
    """A u64 payload decoded by its request's payload kind: a feature set
    (hex and the bits' names), a vring's index and whether an fd goes with
    it, a vring's state (its index and `num`), or a plain value."""
    hex: str | Absent = ABSENT
    bits: list[str] | Absent = ABSENT
    vring: int | Absent = ABSENT
    fd: bool | Absent = ABSENT
    value: int | None | Absent = ABSENT
    num: int | Absent = ABSENT
    # SET_MEM_TABLE: each region {guest_phys_addr, memory_size,
    # userspace_addr, mmap_offset, fd} (-1: no fd went with it)
    regions: list[dict] | Absent = ABSENT
    # SET_VRING_ADDR: {flags, desc_user_addr, avail_user_addr,
    # used_user_addr, log_guest_addr} (QEMU's addresses)
    addr: dict | Absent = ABSENT

    def number(self) -> int | None:
        """A feature set's value."""
        return int(self.hex, 16) if self.hex else None

    def vring_text(self) -> str:
        """A vring payload in words: its index, then its state's num or
        addresses, or whether an fd went with it."""
        if self.addr:
            a = self.addr
            return (f"vring {self.vring} desc {a.get('desc_user_addr', 0):#x} avail "
                    f"{a.get('avail_user_addr', 0):#x} used {a.get('used_user_addr', 0):#x}")
        if self.num is not ABSENT:
            return f"vring {self.vring} num {self.num}"
        return f"vring {self.vring}" + ("" if self.fd is ABSENT or self.fd else " (no fd)")


@dataclass
class Reply(JsonRecord):
    """What QEMU read back: vhost_user_read's return, then the decoded
    payload (with `ack` for a REPLY_ACK), or the other request it got."""
    ret: int | None = None
    payload: Payload | None | Absent = json_field(default=ABSENT, read=Payload.from_json)
    ack: int | None | Absent = ABSENT
    request: str | Absent = ABSENT

    @property
    def failed(self) -> bool:
        return (self.ret or 0) < 0


@dataclass
class Message(JsonRecord):
    """A request QEMU's sent function was called with; `sent` false when
    it returned without putting it on the wire (`not_sent_why`), and
    `delivered` false when a cut connection never carried it."""
    seq: int
    request: int | None = None
    name: str = "?"
    step: int | None = None
    sent_by: str | None = None
    under: str | None = None
    chardev: str | None = None
    vq_index: int | None = None
    sent: bool = json_field(default=True, omit_default=True)
    not_sent_why: str | Absent = ABSENT
    payload: Payload | None | Absent = json_field(default=ABSENT, read=Payload.from_json)
    need_reply: bool = json_field(default=False, omit_default=True)
    reply: Reply | Absent = json_field(default=ABSENT, read=Reply.from_json)
    delivered: bool = json_field(default=True, omit_default=True)


@dataclass
class Round(JsonRecord):
    """One negotiation of one vhost_dev on one chardev (see
    analysis/vhostuser.section)."""
    round: int
    connection: int = 0
    hit: int = 0                    # the hit that began it
    t: float | None = None
    chardev: str | None = None
    netdev: str | None = None
    vq_index: int | None = None
    trigger: str | None = None      # who raised the chardev's OPENED event
    messages: list[Message] = json_field(default_factory=list, read=records_of(Message))
    errors: list[str] = field(default_factory=list)     # QEMU's lines meanwhile
    result: str = ""                # one of RESULTS
    failed_at: str | Absent = ABSENT
    why: str | Absent = ABSENT

    def on_wire(self) -> list[Message]:
        """The messages QEMU put on the wire (not those it decided not to write)."""
        return [m for m in self.messages if m.sent]


# What was negotiated: the keys in the order the report shows them.
FEATURE_SETS = ("backend_features", "backend_protocol_features", "acked_protocol_features",
                "acked_features")


@dataclass
class Negotiated(JsonRecord):
    """What the backend offered and QEMU acked, from the last round that
    got replies.  Its JSON keys come in the order the messages set them
    (`order`)."""
    backend_features: Payload | Absent = json_field(default=ABSENT, read=Payload.from_json)
    backend_protocol_features: Payload | Absent = json_field(default=ABSENT,
                                                             read=Payload.from_json)
    acked_protocol_features: Payload | Absent = json_field(default=ABSENT,
                                                           read=Payload.from_json)
    acked_features: Payload | Absent = json_field(default=ABSENT, read=Payload.from_json)
    backend_queues: int | None | Absent = ABSENT
    acked_features_note: str | Absent = ABSENT
    order: list[str] = field(default_factory=list, compare=False)

    def put(self, key: str, value: object) -> None:
        setattr(self, key, value)
        if key not in self.order:
            self.order.append(key)

    def feature_set(self, key: str) -> Payload | None:
        """One of FEATURE_SETS, if it was negotiated."""
        value = getattr(self, key)
        return value if isinstance(value, Payload) else None

    def to_json(self) -> dict:
        doc = super().to_json()
        del doc["order"]
        return {k: doc[k] for k in self.order + [k for k in doc if k not in self.order]}

    @classmethod
    def from_json(cls, doc: dict) -> Negotiated:
        n = super().from_json({k: v for k, v in doc.items() if k != "order"})
        n.order = list(doc)
        return n


@dataclass
class ChardevSummary(JsonRecord):
    chardev: str | None
    netdev: str | None = None
    queue_pairs: int = 1
    negotiated: Negotiated = json_field(default_factory=Negotiated, read=Negotiated.from_json)


@dataclass
class ConnectionCheck(JsonRecord):
    """One of the backend's connections against QEMU's."""
    connection: int
    qemu_sent: int
    backend_received: int
    requests_agree: bool
    protocol_features_agree: bool
    first_difference: str | Absent = ABSENT
    # the payload values the backend logged (features, status, memory
    # table, vring indexes), each compared with what QEMU sent
    values_compared: int = json_field(default=0, omit_default=True)
    values_agree: bool = json_field(default=True, omit_default=True)
    first_value_difference: str | Absent = ABSENT


@dataclass
class BackendCheck(JsonRecord):
    """A backend's log against the requests QEMU sent on its chardev."""
    backend_received: int
    qemu_sent: int
    compared: str = ""
    connections: list[ConnectionCheck] = json_field(default_factory=list,
                                                    read=records_of(ConnectionCheck))
    requests_agree: bool = False
    protocol_features_agree: bool = False
    first_difference: str | Absent = ABSENT
    chardev: str | None = None      # None: one backend for every chardev
    values_compared: int = json_field(default=0, omit_default=True)
    values_agree: bool = json_field(default=True, omit_default=True)
    first_value_difference: str | Absent = ABSENT


@dataclass
class VhostUser(JsonRecord):
    """The "vhost_user" section."""
    rounds: list[Round] = json_field(default_factory=list, read=records_of(Round))
    connections: int = 0
    negotiated: Negotiated = json_field(default_factory=Negotiated, read=Negotiated.from_json)
    chardevs: list[ChardevSummary] = json_field(default_factory=list,
                                                read=records_of(ChardevSummary))
    notes: list[str] = field(default_factory=list)
    backend_checks: list[BackendCheck] | Absent = json_field(default=ABSENT,
                                                             read=records_of(BackendCheck))


# The section last read, and its record: the analysis and the renderers
# each ask for it (six times in a trace's report), and a big trace's
# section is thousands of records.  Kept while it is that very dict (the
# analysis puts a new one in place of an old one); the readers do not
# change what they are given.
_LAST_READ: list = [None, None]


def vhost_user_of(trace: Trace) -> VhostUser | None:
    """The trace's "vhost_user" section as a record (None if it has none)."""
    doc = trace.extra.get("vhost_user")
    if not doc:
        return None
    last_doc, record = _LAST_READ
    if last_doc is not doc:
        record = VhostUser.from_json(doc)
        _LAST_READ[:] = [doc, record]
    return record


def rounds_of(trace: Trace) -> list[Round]:
    vu = vhost_user_of(trace)
    return vu.rounds if vu else []

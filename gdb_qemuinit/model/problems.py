"""What went wrong, as records: the trace's "hang" (where QEMU blocks,
`analysis/blocking`), "first_error" (`analysis/firsterror`) and "findings"
(`analysis/findings`) sections, and the document of `qemuinit hang`
(`analysis/hang`).  The renderers read them with `hang_of`,
`first_error_of` and `findings_of`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .records import ABSENT, Absent, JsonRecord, json_field, records_of
from .trace import Frame

if TYPE_CHECKING:
    from .trace import Trace

# A wait no [[blocking]] entry of vhost-user.toml documents (Hang.kind).
OTHER = "other"
HANG_SCHEMA = "qemuinit.hang/1"


def _frames(items: list[dict]) -> list[Frame]:
    return [Frame(**f) for f in items]


@dataclass
class Finding(JsonRecord):
    """A set-up that cannot work or will surprise: what was seen, what to
    change, and the evidence (free-form: the option, the line, the socket)."""
    ident: str = json_field(key="id")
    seen: str = ""
    change: str = ""
    evidence: dict = field(default_factory=dict)


@dataclass
class BlockedRequest(JsonRecord):
    """The vhost-user request in flight where QEMU blocks."""
    request: int
    name: str
    step: int | None = None
    under: str | None = None
    sent_by: str | None = None


@dataclass
class Hang(JsonRecord):
    """Where a thread blocks, which kind of wait that is, the socket and its
    role, and what would unblock it.  Keys with nothing to say are left
    out (a wait no entry documents has only the first few)."""
    blocked_in: str | None | Absent = ABSENT
    chain: str | Absent = ABSENT
    monitor: str | Absent = ABSENT
    hanging: bool | Absent = ABSENT         # only false: a wait that is no hang
    kind: str | Absent = ABSENT
    function: str | Absent = ABSENT
    stage: str | Absent = ABSENT
    chardev: str | Absent = ABSENT
    socket: str | Absent = ABSENT
    role: str | Absent = ABSENT
    role_means: str | Absent = ABSENT
    wait: bool | None | Absent = ABSENT
    reconnect_seconds: float | Absent = ABSENT
    request: BlockedRequest | Absent = json_field(default=ABSENT,
                                                  read=BlockedRequest.from_json)
    unblock: str | Absent = ABSENT


@dataclass
class SentRequest(JsonRecord):
    """The request in flight when a round failed."""
    name: str
    request: int | None
    step: int | None = None
    sent_by: str | None = None
    under: str | None = None


@dataclass
class FirstError(JsonRecord):
    """The first failing step of a cascade: a failed vhost-user round (its
    request, the failed call, where it was sent from), or an init that
    exited (its last documented stage); QEMU's first line and the lines
    that follow from it."""
    injected: str | None | Absent = ABSENT      # the relay's cut (--cut-after)
    round: int | None = None
    connection: int | Absent = ABSENT
    request: SentRequest | None = json_field(default=None, read=SentRequest.from_json)
    call: str | None = None
    chain: str | None = None
    frames: list[Frame] = json_field(default_factory=list, read=_frames)
    stage: str | None | Absent = ABSENT
    first_line: str | None = None
    consequences: list[str] = field(default_factory=list)
    then: str | None | Absent = ABSENT


@dataclass
class ThreadState(JsonRecord):
    """A thread of a hanging QEMU: its chain and what it sits in."""
    num: int
    lwp: int
    name: str | None
    main: bool
    chain: str
    sits_in: str | None
    frames: list[Frame] = json_field(default_factory=list, read=_frames)


@dataclass
class HangReport(JsonRecord):
    """`qemuinit hang`'s document."""
    schema: str = HANG_SCHEMA
    pid: int = 0
    argv: list[str] = field(default_factory=list)
    attached: bool = False
    hang: Hang = json_field(default_factory=Hang, read=Hang.from_json)
    threads: list[ThreadState] = json_field(default_factory=list,
                                            read=records_of(ThreadState))
    peer: dict | None = None                # who is at the socket (qemu/peers)
    findings: list[Finding] = json_field(default_factory=list, read=records_of(Finding))
    enums: dict | Absent = ABSENT           # the binary's own request names, if read


def hang_of(trace: Trace) -> Hang | None:
    doc = trace.extra.get("hang")
    return Hang.from_json(doc) if doc else None


def first_error_of(trace: Trace) -> FirstError | None:
    doc = trace.extra.get("first_error")
    return FirstError.from_json(doc) if doc else None


def findings_of(trace: Trace) -> list[Finding]:
    return [Finding.from_json(d) for d in trace.extra.get("findings") or []]

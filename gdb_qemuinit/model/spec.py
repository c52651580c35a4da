"""The vhost-user data (data/vhost-user.toml) as a `Spec`: what the recorder
reads at the messages, the requests' and feature bits' names, where QEMU
blocks.  An input of planning (what to record) and of the analysis (how
to decode it)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ..datafile import data_file, read_toml

if TYPE_CHECKING:
    from .trace import Trace


class CommandLineFacts(Protocol):
    """A QEMU command line, as far as the spec asks it (qemu/cmdline's
    QemuCommandLine is one)."""

    def satisfies(self, needs: list[str] | str) -> bool: ...


class Spec(NamedTuple):
    record: dict
    requests: dict[int, str]
    payload: dict[str, str]
    virtio_bits: dict[int, str]
    protocol_bits: dict[int, str]
    blocking: list[dict]
    monitor_note: str
    waits: dict[str, dict]       # what a thread sits in, by innermost function
    names_from_binary: dict = {}
    request_aliases: dict[str, int] = {}
    # the data's names, kept when a binary's names replace them (for_trace)
    data_requests: dict[int, str] = {}
    status_bits: dict[int, str] = {}     # the virtio device status bits

    def name(self, request: int | None) -> str:
        if request is None:
            return "?"
        return self.requests.get(request, f"REQUEST_{request}")

    def number(self, name: str) -> int | None:
        """A request's number from any name it is known by: this binary's,
        the data's, or an alias (another release's or a backend's spelling)."""
        for table in (self.requests, self.data_requests):
            for k, v in table.items():
                if v == name:
                    return k
        n = self.request_aliases.get(name)
        if n is None and name.startswith("REQUEST_") and name[8:].isdigit():
            return int(name[8:])
        return n

    def per_device(self) -> set[int]:
        """Requests vhost_user_write sends only for a netdev's first queue pair."""
        return {n for n in (self.number(x) for x in self.record.get("per_device", ()))
                if n is not None}

    def for_trace(self, trace: Trace) -> "Spec":
        """This spec with the names the traced binary gives its requests and
        protocol features (trace "enums", read from its debug info)."""
        return self.with_names(trace.extra.get("enums") or {})

    def with_names(self, enums: dict) -> "Spec":
        """This spec with a binary's own names ({"requests": {"N": name},
        "protocol_features": ...}, as enums() asks them read)."""
        req = enums.get("requests")
        proto = enums.get("protocol_features")
        if not req and not proto:
            return self
        # The binary's names win; the data names what this binary does not
        # (a value it reserves, a later one).
        return self._replace(
            requests={**self.requests, **{int(k): v for k, v in (req or {}).items()}},
            protocol_bits={**self.protocol_bits,
                           **{int(k): v for k, v in (proto or {}).items()}},
            data_requests=self.requests)

    # -- what the recorder needs --------------------------------------------
    def needed(self, command_line: CommandLineFacts | None) -> bool:
        """Can this QEMU command line talk vhost-user at all?"""
        needs = self.record.get("needs")
        return command_line is None or not needs or command_line.satisfies(needs)

    def functions(self) -> list[str]:
        r = self.record
        return [r["sent"], r["reply"], r["round_starts"], r["negotiation_starts"]]

    def reads(self) -> dict[str, dict]:
        r = self.record
        return {r["sent"]: dict(r["sent_reads"]), r["round_starts"]: dict(r["round_reads"]),
                r["negotiation_starts"]: dict(r.get("negotiation_reads", {}))}

    def reads_by_request(self) -> dict[str, list[dict]]:
        """What the sent function reads for some requests only: {function:
        [{"key": "request", "value": N, "name", "reads", "count", "max"}]}."""
        r = self.record
        out = [{"key": "request", "value": self.number(b["request"]), "name": b["name"],
                "reads": dict(b["reads"]), "count": b.get("count"), "max": b.get("max", 1)}
               for b in r.get("by_request", ())]
        return {r["sent"]: [b for b in out if b["value"] is not None]} if out else {}

    def writes(self) -> dict[str, str]:
        r = self.record
        return {r["sent"]: r["written_by"]} if r.get("written_by") else {}

    def replies(self) -> dict[str, dict]:
        r = self.record
        return {r["reply"]: {"pointer": r["reply_pointer"], "reads": dict(r["reply_reads"])}}

    def blocking_reads(self) -> dict[str, dict[str, str]]:
        return {b["function"]: dict(b.get("reads", {})) for b in self.blocking}

    def enums(self) -> dict[str, dict]:
        """The enums whose names the recorder reads from the binary."""
        n = self.names_from_binary
        if not n:
            return {}
        skip = list(n.get("skip", ()))
        return {"requests": {"types": list(n["requests"]), "prefix": n.get("request_prefix", ""),
                             "skip": skip, "near": self.record["sent"]},
                "protocol_features": {"types": list(n["protocol_features"]),
                                      "prefix": n.get("protocol_feature_prefix", ""),
                                      "skip": skip, "near": self.record["sent"]}}


def bits(value: int | None, names: dict[int, str]) -> list[str]:
    """Set bits by name (`names`: one of the spec's bit tables), lowest
    first; unnamed ones as 'bit N'."""
    if value is None:
        return []
    return [names.get(b, f"bit {b}") for b in range(64) if value >> b & 1]


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
                waits=dict(d.get("waits", {})),
                names_from_binary=dict(d.get("names_from_binary", {})),
                request_aliases={k: int(v) for k, v in d.get("request_aliases", {}).items()},
                data_requests=ints(d["requests"]),
                status_bits=ints(d.get("device_status", {})))

"""What each vhost-user backend logged receiving, and whether it is what
QEMU sent (as the vhost_user section decoded it), connection by connection.
The log's lines are read with [backend_log] of scenarios.toml."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..model.negotiation import BackendCheck, ConnectionCheck, Message, Round
from ..model.records import ABSENT
from ..model.trace import Trace

if TYPE_CHECKING:
    from ..model.spec import Spec


def checks(spec: "Spec", rounds: list[Round], trace: Trace) -> list[BackendCheck]:
    """One check per backend that logged what it received, against the
    rounds of its chardev (a backend without a chardev: every round).  A
    watch of a running QEMU saw only its last connections: the log's
    earlier ones are left out."""
    from ..model import phases
    seen_from_start = not phases.of_trace(trace.qemu).running
    out = []
    for b in trace.extra.get("backends", []):
        if not b.get("log"):
            continue
        chardev = b.get("chardev")
        check = check_against_backend(spec, [r for r in rounds if chardev is None
                                             or r.chardev == chardev], b["log"],
                                      seen_from_start)
        check.chardev = chardev
        out.append(check)
    return out


def parse_backend_log(text: str, patterns: dict) -> dict:
    """Requests and protocol features the backend says it received, in all
    and per connection it took (a line matching `connection` starts one;
    what comes before any is a connection of its own)."""
    req = re.compile(patterns["request"])
    proto = re.compile(patterns["protocol_features"])
    conn = re.compile(patterns["connection"]) if patterns.get("connection") else None
    values = {name: [re.compile(p) for p in pats]
              for name, pats in (patterns.get("values") or {}).items()}
    out: dict = {"requests": [], "protocol_features": [], "connections": []}
    current: dict | None = None
    for line in text.splitlines():
        if conn is not None and conn.search(line):
            current = {"requests": [], "protocol_features": [], "values": []}
            out["connections"].append(current)
            continue
        if m := req.search(line):
            key, value = "requests", m.group(1)
        elif m := proto.search(line):
            key, value = "protocol_features", int(m.group(1), 16)
        else:
            if current is not None and current["requests"]:
                _add_values(current, values.get(current["requests"][-1], ()), line)
            continue
        if current is None:
            current = {"requests": [], "protocol_features": [], "values": []}
            out["connections"].append(current)
        current[key].append(value)
        out[key].append(value)
        if key == "requests":
            current["values"].append({})
    return out


def _add_values(connection: dict, patterns, line: str) -> None:
    """The values a line logs of the connection's last request: each named
    group, as a number, appended to that request's list of it."""
    for p in patterns:
        if m := p.search(line):
            mine = connection["values"][-1]
            for name, text in m.groupdict().items():
                mine.setdefault(name, []).append(int(text, 0))


def _qemu_connections(rounds: list[Round]) -> list[tuple[int, list[Message]]]:
    """QEMU's connections of these rounds, in the order they began, each with
    the requests it put on the wire to the backend (in wire order): not
    those it decided not to write, nor those a cut connection never
    delivered."""
    by_connection: dict[int, list[Message]] = {}
    for rnd in sorted(rounds, key=lambda r: r.hit):
        msgs = by_connection.setdefault(rnd.connection, [])
        msgs += [m for m in rnd.on_wire() if m.delivered]
    return [(c, sorted(msgs, key=lambda m: m.seq)) for c, msgs in by_connection.items()]


def _without_trailing_empty(connections: list, requests) -> list:
    """Connections up to the last one that carried a request: a client
    backend goes on reconnecting once QEMU is gone, and QEMU may wait on a
    connection it never used."""
    n = len(connections)
    while n and not requests(connections[n - 1]):
        n -= 1
    return connections[:n]


def _first_difference(spec: "Spec", sent: list[int | None], names: list[str]) -> str | None:
    """Where two request sequences part, by number (a backend may spell a
    request otherwise); None if they are the same."""
    got = [spec.number(n) for n in names]
    for i, (a, b) in enumerate(zip(sent, got)):
        if a != b:
            return (f"#{i + 1}: QEMU sent {spec.name(a)} ({a}), backend logged {names[i]}"
                    + (f" ({b})" if b is not None else ""))
    if len(sent) > len(got):
        return (f"#{len(got) + 1}: QEMU sent {spec.name(sent[len(got)])} "
                f"({sent[len(got)]}), the backend logged nothing more")
    if len(got) > len(sent):
        return f"#{len(sent) + 1}: the backend logged {names[len(sent)]}, QEMU sent nothing more"
    return None


def check_against_backend(spec: "Spec", rounds: list[Round], log: dict,
                          seen_from_start: bool = True) -> BackendCheck:
    """Does what QEMU sent (seen by gdb) match what its backend logged
    receiving, connection by connection?  The backend's connections are
    QEMU's last ones on the chardev, in order (earlier ones went to others:
    a client that connected and left, a backend before a restart); each is
    compared whole, request by request, by number.  Connections after the
    last one either side carried a request on are not compared."""
    qemu = _without_trailing_empty(_qemu_connections(rounds), lambda c: c[1])
    backend = _without_trailing_empty(log["connections"], lambda c: c["requests"])
    later = 0
    if not seen_from_start and qemu:
        backend = backend[-len(qemu):]      # before the watch: not seen by gdb
        backend, later = _until_the_watch_ended(backend, len(qemu[-1][1]))
    pairs = list(zip(qemu[len(qemu) - len(backend):] if len(backend) <= len(qemu) else [],
                     backend))
    connections = [_connection_check(spec, number, sent, got) for (number, sent), got in pairs]
    left_out = qemu[:len(qemu) - len(backend)] if len(backend) <= len(qemu) else []
    out = BackendCheck(
        backend_received=sum(len(c["requests"]) for c in backend),
        qemu_sent=sum(len(sent) for _, sent in qemu),
        compared=_compared(len(backend), len(qemu), [c for c, _ in left_out])
        + (f"; the backend logged {later} more requests after the watch ended, not compared"
           if later else ""),
        connections=connections,
        requests_agree=bool(connections) and all(c.requests_agree for c in connections),
        values_compared=sum(c.values_compared for c in connections),
        values_agree=all(c.values_agree for c in connections),
        protocol_features_agree=(bool(connections)
                                 and any(c["protocol_features"] for c in backend)
                                 and all(c.protocol_features_agree for c in connections)))
    if len(backend) > len(qemu):
        out.first_difference = (f"the backend logged {len(backend)} connections, "
                                f"QEMU made {len(qemu)}")
    elif not connections:
        out.first_difference = "the backend logged no connection"
    else:
        bad = next((c for c in connections if not c.requests_agree), None)
        if bad is not None:
            out.first_difference = f"connection {bad.connection}, {bad.first_difference}"
        wrong = next((c for c in connections if not c.values_agree), None)
        if wrong is not None:
            out.first_value_difference = (f"connection {wrong.connection}, "
                                          f"{wrong.first_value_difference}")
    return out


def _connection_check(spec: "Spec", number: int, sent: list[Message],
                      got: dict) -> ConnectionCheck:
    """One connection: QEMU's requests on the wire against the backend's log,
    then, request by request, each value the backend logged against QEMU's."""
    acked = [m.payload.number() for m in sent
             if m.name == "SET_PROTOCOL_FEATURES" and m.payload]
    diff = _first_difference(spec, [m.request for m in sent], got["requests"])
    check = ConnectionCheck(connection=number, qemu_sent=len(sent),
                            backend_received=len(got["requests"]),
                            requests_agree=diff is None,
                            protocol_features_agree=acked == got["protocol_features"],
                            first_difference=diff if diff else ABSENT)
    if diff is None and got.get("values"):
        compared, wrong = 0, None
        for i, (m, logged) in enumerate(zip(sent, got["values"])):
            ours = sent_values(m)
            for name, theirs in logged.items():
                if name not in ours:
                    continue
                compared += 1
                if ours[name] != theirs and wrong is None:
                    wrong = (f"#{i + 1} {m.name}: QEMU sent {name} "
                             f"{', '.join(map(hex, ours[name]))}, the backend logged "
                             f"{', '.join(map(hex, theirs))}")
        check.values_compared = compared
        check.values_agree = wrong is None
        if wrong:
            check.first_value_difference = wrong
    return check


def sent_values(m: Message) -> dict[str, list[int]]:
    """What QEMU sent in a message, by the names backend_log.values gives
    them: the features or status, a vring's index and num, each memory
    region's fields."""
    p = m.payload
    if not p:
        return {}
    out: dict[str, list[int]] = {}
    if isinstance(p.regions, list):
        for r in p.regions:
            for k in ("memory_size", "guest_phys_addr", "userspace_addr", "mmap_offset"):
                if r.get(k) is not None:
                    out.setdefault(k, []).append(r[k])
        return out
    if p.hex:
        out["status" if m.name.endswith("_STATUS") else "features"] = [p.number() or 0]
    if isinstance(p.vring, int):
        out["vring"] = [p.vring]
    if isinstance(p.num, int):
        out["num"] = [p.num]
    return out


def _until_the_watch_ended(backend: list[dict], sent: int) -> tuple[list[dict], int]:
    """A watch ends while QEMU goes on, and the backend's log is read after:
    its last connection's requests past the `sent` QEMU made while watched
    came later.  The connections cut there, and how many were left out."""
    if not backend or len(backend[-1]["requests"]) <= sent:
        return backend, 0
    last = backend[-1]
    cut = {**last, "requests": last["requests"][:sent],
           "values": last.get("values", [])[:sent]}
    return backend[:-1] + [cut], len(last["requests"]) - sent


def _compared(backends: int, qemus: int, left_out: list[int]) -> str:
    """Which of QEMU's connections the backend's were compared with."""
    if backends == qemus:
        which = ("QEMU's only connection" if qemus == 1
                 else f"all {qemus} of QEMU's connections")
    else:
        which = f"QEMU's last {backends} of {qemus} connections"
    return (f"connection by connection: {which}"
            + (f" (connection {', '.join(str(c) for c in left_out)} went to another peer)"
               if left_out else ""))

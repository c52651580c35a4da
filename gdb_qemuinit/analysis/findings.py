"""Findings: vhost-user set-ups that cannot work or will surprise, each with
what was seen (an option, a backend's reply, a QEMU line, a socket's state)
and what to change.  Pure: read from the command-line model, a trace's
decoded negotiation and, for a live QEMU, who is at its socket."""

from __future__ import annotations

import functools
import re

from ..datafile import data_file, read_toml
from ..qemu.cmdline import QemuCommandLine, _flag, parse_option_value
from ..model.devicestart import FAILED, STARTED, NicStart
from ..model.negotiation import Payload, VhostUser
from ..model.problems import Finding
from ..model.trace import EXITED, Hit


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    return read_toml(data_file("findings.toml"))


def _exit_rules() -> list[dict]:
    """[[exit]] of findings.toml: QEMU's last words, and what to change."""
    return list(_data().get("exit", []))


def finding(ident: str, seen: str, change: str, **evidence) -> Finding:
    return Finding(ident, seen, change, evidence)


def guest_memory(cl: QemuCommandLine) -> list[dict]:
    """The memory backends that hold guest RAM: -machine memory-backend=,
    -numa node,memdev=.  [{"id", "type", "share"}]; [] when QEMU allocates
    RAM itself (-m alone: private anonymous memory)."""
    ids = []
    for m in cl.given("machine"):
        if m.props.get("memory-backend"):
            ids.append(str(m.props["memory-backend"]))
    for o in cl.options:
        if o.name == "numa":
            props, _ = parse_option_value("numa", o.props.get("", ""))
            if props.get("memdev"):
                ids.append(str(props["memdev"]))
    defaults = _data()["shared_by_default"]
    out = []
    for ident in dict.fromkeys(ids):
        obj = next((o for o in cl.objects if str(o.props.get("id")) == ident), None)
        kind = str(obj.props.get("qom-type", "")) if obj else "?"
        given = obj.props.get("share") if obj else None
        share = _flag(given) if given is not None else bool(defaults.get(kind, False))
        out.append({"id": ident, "type": kind, "share": share,
                    "share_given": given is not None})
    return out


# Memory backends whose RAM is a file QEMU can hand over (its fd): private,
# the backend maps the file while QEMU writes to its own copy.
_FD_BACKED = ("memory-backend-memfd", "memory-backend-file")


def from_command_line(cl: QemuCommandLine) -> list[Finding]:
    out = []
    netdevs = cl.vhost_user()
    if netdevs:
        mem = guest_memory(cl)
        private = [m for m in mem if not m["share"]]
        if not mem:
            out.append(finding(
                "memory-not-shared",
                "guest RAM comes from -m alone (no -machine memory-backend= or -numa "
                "memdev=): QEMU allocates it private, with no fd to hand a vhost-user "
                "backend: the device's start fails at SET_MEM_TABLE",
                "add -object memory-backend-memfd,id=mem0,size=SIZE,share=on and "
                "-machine ...,memory-backend=mem0 (or memory-backend-file,...,share=on)",
                netdevs=[n.id for n, _ in netdevs]))
        for m in private:
            out.append(finding(
                "memory-not-shared",
                f"guest RAM is {m['type']} {m['id']!r} with share="
                + ("off" if m["share_given"] else "off by default")
                + (": QEMU maps it private (copy-on-write), so what the guest writes "
                   "never reaches the backend's mapping of it; the device still starts "
                   "and neither side says anything" if m["type"] in _FD_BACKED else
                   ": QEMU has no fd of it to hand a vhost-user backend: the device's "
                   "start fails at SET_MEM_TABLE"),
                f"share=on on -object {m['type']},id={m['id']}", backend=m))
    for c in cl.unix_sockets():
        given = c.reconnect_given
        if c.server and given:
            out.append(finding(
                "reconnect-on-server",
                f"-chardev {c.id}: {given[0]}={given[1]} with server=on: "
                "reconnect is for a client; a listening socket does not reconnect "
                "(QEMU refuses or ignores it, by release)",
                f"drop {given[0]}=, or make QEMU the client (no "
                "server=on) if the backend listens", chardev=c.id))
        used = any(ch is c for _, ch in netdevs)
        if used and c.server and not c.wait:
            out.append(finding(
                "server-without-wait",
                f"-chardev {c.id}: server=on,wait=off for a vhost-user netdev: QEMU "
                "does not wait at the chardev but still waits for the backend in "
                "net_vhost_user_init, before any device or the monitor",
                "expect the wait in the netdev; start the backend first, or keep "
                "wait=on to wait at the chardev (the same wait, earlier)", chardev=c.id))
    for n, ch in netdevs:
        if ch is None:
            out.append(finding("no-chardev", f"-netdev {n.id}: chardev={n.chardev} is not "
                               "a -chardev of this command line",
                               "add the -chardev socket it names", netdev=n.id))
    return out


def from_starts(found: list[Finding], starts: list[NicStart]) -> list[Finding]:
    """What the guest's start of each vhost NIC showed: a memory finding of
    the command line confirmed by the start itself (failed at the memory
    table, or started on memory the backend never sees written), and
    queue pairs never started."""
    out: list[Finding] = []
    memory = next((f for f in found if f.ident == "memory-not-shared"), None)
    for n in starts:
        if memory is not None and n.result == FAILED and "SET_MEM_TABLE" not in n.requests:
            memory.seen += (f"; observed: the start of {n.netdev} failed (vhost_net_start "
                            f"returned {n.ret}, in {n.failed_in}) before SET_MEM_TABLE went "
                            f"out" + (f"; QEMU said: {n.qemu_said[0]}" if n.qemu_said else ""))
            memory.evidence["observed"] = {"netdev": n.netdev, "ret": n.ret,
                                           "failed_in": n.failed_in or None}
        elif memory is not None and n.result == STARTED and "SET_MEM_TABLE" in n.requests:
            memory.seen += (f"; observed: {n.netdev} started, its SET_MEM_TABLE went out "
                            f"with the fd, and neither QEMU nor the backend said anything")
            memory.evidence["observed"] = {"netdev": n.netdev, "ret": n.ret}
        if n.pairs_not_started:
            out.append(finding(
                "queue-pairs-not-started",
                f"-netdev {n.netdev}: queues={n.queues}, the guest started "
                f"{n.queue_pairs}: pair(s) {', '.join(map(str, n.pairs_not_started))} got "
                f"no memory table or rings (only SET_VRING_ENABLE 0 for their rings)"
                + (f"; {n.why}" if n.why else ""),
                "a guest driver that acks VIRTIO_NET_F_MQ and enables the pairs (Linux: "
                "ethtool -L IFACE combined N); with iPXE, one pair is all there is",
                netdev=n.netdev, queues=n.queues, started=n.queue_pairs))
    return out


def from_negotiation(cl: QemuCommandLine, vhost_user: VhostUser | None) -> list[Finding]:
    """Queue pairs asked beyond what the netdev's own backend offers
    (GET_QUEUE_NUM on its chardev; a section without per-chardev parts has
    one backend)."""
    out: list[Finding] = []
    if vhost_user is None:
        return out
    per_chardev = {c.chardev: c.negotiated.backend_queues for c in vhost_user.chardevs}
    everyone = vhost_user.negotiated.backend_queues
    for n, ch in cl.vhost_user():
        offered = per_chardev.get(ch.id if ch else None) if per_chardev else everyone
        if isinstance(offered, int) and n.queues > offered:
            out.append(finding(
                "queues-beyond-backend",
                f"-netdev {n.id}: queues={n.queues}, the backend's GET_QUEUE_NUM reply "
                f"is {offered}", f"queues={offered} at most, or a backend with more queues",
                netdev=n.id, asked=n.queues, offered=offered))
    return out


def _offered(vhost_user: VhostUser, chardev: str | None) -> int | None:
    """The features the backend at `chardev` offered (its GET_FEATURES
    reply), as a number; a section without per-chardev parts has one
    backend."""
    own = next((c.negotiated for c in vhost_user.chardevs if c.chardev == chardev), None)
    payload = (own if own is not None else vhost_user.negotiated).backend_features
    return payload.number() if isinstance(payload, Payload) else None


def from_backend_features(cl: QemuCommandLine, vhost_user: VhostUser | None,
                          errors: list[str], bit_names: dict[int, str]) -> list[Finding]:
    """A -device option QEMU refused because the NIC's vhost-user backend did
    not offer the feature it needs ([[backend_feature]] in findings.toml):
    QEMU said the rule's line, and the backend's GET_FEATURES reply on the
    NIC's chardev lacks the bit."""
    if vhost_user is None:
        return []
    out = []
    for rule in _data().get("backend_feature", []):
        said = next((e for e in errors if re.search(rule["line"], e)), None)
        if said is None:
            continue
        bit, name = rule["feature"], bit_names.get(rule["feature"], f"bit {rule['feature']}")
        for n, ch in cl.vhost_user():
            device = cl.device_of(n.id)
            if device is None or not _flag(device.props.get(rule["option"], "off")):
                continue
            offered = _offered(vhost_user, ch.id if ch else None)
            if offered is None or offered >> bit & 1:
                continue
            what = f"-device {device.driver}" + (f",id={device.id}" if device.id else "")
            out.append(finding(
                "backend-lacks-feature",
                f"{what} (netdev {n.id}): {rule['option']}=on needs {name} (bit {bit}) from "
                f"the vhost-user backend; its GET_FEATURES reply on chardev "
                f"{ch.id if ch else '?'} was {offered:#x}, without that bit, and QEMU "
                f"refused the device (\"the device\" in its words is the backend): {said}",
                f"make the backend offer {name}: {rule['offer']}; or drop "
                f"{rule['option']}=on", device=device.id or device.driver, netdev=n.id,
                chardev=ch.id if ch else None, option=f"{rule['option']}=on", feature=name,
                bit=bit, get_features_reply=f"{offered:#x}", qemu_line=said))
    return out


def from_peers(role: str | None, socket: str | None, peers: dict | None) -> list[Finding]:
    """A live QEMU's socket: nobody at the other end."""
    if not socket or peers is None:
        return []
    others = [p for p in peers.get("listening", []) if not p.get("qemu")]
    if role == "client" and not others:
        return [finding("nothing-listening",
                        f"QEMU is the client of {socket} and nothing listens there",
                        f"start the backend as a server on {socket} (dpdk-testpmd: "
                        "iface=PATH without client=1), or make QEMU the server "
                        "(server=on) and the backend the client", socket=socket)]
    return []


def from_pending(hits: list[Hit]) -> list[Finding]:
    """[[pending]] of findings.toml: each request hit with none of its
    completions after it."""
    out = []
    for rule in _data().get("pending", []):
        for h in (h for h in hits if h.function == rule["request"]):
            if any(d.function in rule["done"] and d.seq > h.seq for d in hits):
                continue
            device = (h.reads or {}).get("device")
            out.append(finding(rule["id"], rule["seen"].format(device=device or "a device"),
                               rule["change"], request=rule["request"], device=device,
                               t=h.t))
    return out


def from_exit(cl: QemuCommandLine, state: str, error_line: str | None,
              qemu_version: str | None = None) -> list[Finding]:
    """QEMU exited: at a client socket nothing listens on, or on a line
    [[exit]] in findings.toml explains.  `qemu_version` (the trace's)
    spells the retry option the advice names."""
    if state != EXITED or not error_line:
        return []
    for rule in _exit_rules():
        m = re.search(rule["line"], error_line)
        if m:
            named = next((g for g in m.groups() if g), "")
            return [finding(rule["id"], rule["seen"].format(line=error_line, file=named),
                            rule["change"], qemu_line=error_line, file=named)]
    failed = re.search(_data()["connect_failed"], error_line)
    # A client with a retry does not exit for this: it logs the failure once
    # and tries again, so its exit had another cause.
    c = next((c for _, c in cl.vhost_user() if c is not None and not c.server
              and not c.reconnect_seconds and failed and c.path == failed.group(1)), None)
    if c is None:
        return []
    return [finding("nothing-listening",
                    f"QEMU, the client of {c.path} (-chardev {c.id}, no reconnect), could "
                    f"not connect and exited: {error_line}",
                    f"start the backend as a server first, or add "
                    f"{_reconnect_option(qemu_version)} to the -chardev so that QEMU retries",
                    socket=c.path, qemu_line=error_line)]


def _reconnect_option(qemu_version: str | None) -> str:
    """-chardev's retry option as this QEMU spells it (findings.toml's
    reconnect_ms_since); both spellings when the version is unknown."""
    since = _release(_data()["reconnect_ms_since"])
    release = _release(qemu_version or "")
    if release is None or since is None:
        return (f"reconnect-ms=MILLISECONDS (QEMU {_data()['reconnect_ms_since']} and later; "
                "reconnect=SECONDS before)")
    return "reconnect-ms=MILLISECONDS" if release >= since else "reconnect=SECONDS"


def _release(version: str) -> tuple[int, int] | None:
    """(major, minor) of a QEMU version string ("10.2.2", "7.2.22").  A
    development or release-candidate version (micro 50 and up: 9.1.91 is
    9.2's rc1) counts as the next minor (9.2.91, 10.0's rc1, as 9.3)."""
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    return (major, minor + 1) if int(m.group(3) or 0) >= 50 else (major, minor)

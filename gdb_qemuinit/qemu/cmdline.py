"""One model of a QEMU command line: its netdevs, NICs, devices, chardevs and
objects, in QEMU's `key=value` syntax and in JSON (as libvirt writes them),
with `-opt` or `--opt` spelling.

Everything that needs to know what a command line asks for (the breakpoint
plan, the verdict notes, the scenarios, the backends, the hang report) reads
this model instead of searching the joined argv.  Pure code: nothing runs.

    cl = QemuCommandLine.parse(argv)
    cl.netdevs[0].type, cl.chardev("chr0").server, cl.facts()
"""

from __future__ import annotations

import json
from typing import NamedTuple

from ..errors import QemuinitError
from ..model.initpath import facts_match

# The key an option's first, unnamed element stands for (QemuOpts'
# implied_opt_name): `-netdev user,id=n0` is type=user.
IMPLIED_KEY = {"netdev": "type", "nic": "type", "net": "type", "device": "driver",
               "chardev": "backend", "object": "qom-type", "machine": "type",
               "accel": "accel"}
# The options read into the model; each takes one argument.
MODELLED = tuple(IMPLIED_KEY) + ("blockdev", "drive", "readconfig", "m")
# Options QEMU knows without an argument.  Any other option takes the next
# argv element as its argument unless that looks like an option itself.
FLAGS = frozenset({
    "S", "s", "nodefaults", "no-user-config", "no-reboot", "no-shutdown", "daemonize",
    "snapshot", "enable-kvm", "nographic", "full-screen", "no-hpet", "no-acpi", "usb",
    "enable-fips", "preconfig", "only-migratable", "semihosting", "version", "help", "h",
    "no-fd-bootchk", "win2k-hack", "old-param", "no-quit", "alt-grab", "ctrl-grab",
    "no-frame", "enable-sync-profile", "xen-attach", "nodefconfig"})
# Booleans a bare `noKEY` turns off in key=value syntax (`nowait`).
_NEGATABLE = frozenset({"server", "wait", "delay", "telnet", "tls", "websocket", "mux"})


class CommandLineError(QemuinitError, ValueError):
    """An option's argument is malformed (bad JSON, for instance)."""


class Option(NamedTuple):
    """One modelled option as given: `-netdev user,id=n0` is
    Option("netdev", {"type": "user", "id": "n0"}, False, 1)."""
    name: str                   # without dashes
    props: dict                 # key -> value (strings; JSON values as given)
    json: bool                  # written as JSON
    index: int  # type: ignore[assignment]  # its position in argv (shadows tuple.index)


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("on", "yes", "true", "y", "")


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def split_keyvals(value: str) -> list[str]:
    """QEMU's key=value list: ',' separates, ',,' is a literal comma."""
    parts, cur, i = [], [], 0
    while i < len(value):
        c = value[i]
        if c == ",":
            if value[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def parse_option_value(name: str, value: str) -> tuple[dict, bool]:
    """An option's argument as a dict, and whether it was JSON."""
    if value.lstrip().startswith("{"):
        try:
            doc = json.loads(value)
        except ValueError as exc:
            raise CommandLineError(f"-{name}: not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise CommandLineError(f"-{name}: JSON must be an object")
        return doc, True
    props: dict = {}
    implied = IMPLIED_KEY.get(name)
    for i, part in enumerate(split_keyvals(value)):
        if "=" in part:
            k, v = part.split("=", 1)
            props[k] = v
        elif i == 0 and implied:
            props[implied] = part
        elif part.startswith("no") and part[2:] in _NEGATABLE:
            props[part[2:]] = "off"
        elif part:
            props[part] = "on"
    return props, False


# NIC model aliases the board resolves (hw/pci/pci.c: "virtio").
_NIC_MODEL_ALIASES = {"virtio": "virtio-net-pci"}


def _nic_model(model) -> str:
    """A -nic/-net nic model as the device QEMU creates ('' = the board's
    default)."""
    model = str(model) if model else ""
    return _NIC_MODEL_ALIASES.get(model, model)


class Netdev(NamedTuple):
    """A network backend: from -netdev, -nic (with its NIC) or -net."""
    type: str
    id: str | None
    option: str                  # netdev, nic or net
    json: bool
    props: dict

    @property
    def chardev(self) -> str | None:
        c = self.props.get("chardev")
        return str(c) if c is not None else None

    @property
    def queues(self) -> int:
        q = _number(self.props.get("queues"))
        return int(q) if q else 1

    @property
    def vhost(self) -> bool:
        """A tap netdev with the vhost-net kernel accelerator."""
        return self.type == "tap" and (_flag(self.props.get("vhost", "off"))
                                       or _flag(self.props.get("vhostforce", "off")))


class Chardev(NamedTuple):
    id: str | None
    backend: str
    json: bool
    props: dict

    @property
    def path(self) -> str | None:
        p = self.props.get("path")
        return str(p) if p is not None else None

    @property
    def server(self) -> bool:
        return _flag(self.props.get("server", "off"))

    @property
    def wait(self) -> bool:
        """A server waits for its first client before QEMU goes on (default on)."""
        return self.server and _flag(self.props.get("wait", "on"))

    @property
    def reconnect_seconds(self) -> float | None:
        """How often a client retries (reconnect= in seconds, reconnect-ms=)."""
        given = self.reconnect_given
        if given is None:
            return None
        number = float(given[1])      # a number: reconnect_given checked it
        return number / 1000 if given[0] == "reconnect-ms" else number

    @property
    def reconnect_given(self) -> tuple[str, str] | None:
        """The retry option as the command line spells it, name and value
        (("reconnect-ms", "10000"), ("reconnect", "10")); None without one
        (or 0: no retry)."""
        for name in ("reconnect-ms", "reconnect"):
            if _number(self.props.get(name)):
                return name, self.props[name]
        return None

    @property
    def role(self) -> str:
        """QEMU's side of the socket: 'server' listens, 'client' connects."""
        return "server" if self.server else "client"


class Device(NamedTuple):
    driver: str
    id: str | None
    json: bool
    props: dict
    option: str = "device"       # device, or nic/net (the board creates it from -nic, -net nic)

    @property
    def netdev(self) -> str | None:
        n = self.props.get("netdev")
        return str(n) if n is not None else None

    @property
    def multiqueue(self) -> bool:
        return _flag(self.props.get("mq", "off"))


class QemuCommandLine:
    """The parsed command line; `argv` is kept as given (argv[0] the binary)."""

    def __init__(self, argv: list[str]):
        self.argv = list(argv)
        self.options: list[Option] = []
        self.positional: list[str] = []
        self.flags: set[str] = set()
        self.netdevs: list[Netdev] = []
        self.chardevs: list[Chardev] = []
        self.devices: list[Device] = []
        self.objects: list[Option] = []
        self._facts: frozenset[str] | None = None
        self._parse()

    @classmethod
    def parse(cls, argv: list[str]) -> "QemuCommandLine":
        return cls(argv)

    @classmethod
    def of_recorded(cls, argv: list[str] | None) -> "QemuCommandLine | None":
        """The model of the argv a trace recorded, or None when it has none or
        QEMU would refuse it (the analysis of a run never fails on its
        command line: QEMU said what was wrong)."""
        try:
            return cls(argv) if argv else None
        except CommandLineError:
            return None

    # -- parsing ----------------------------------------------------------
    def _parse(self) -> None:
        args, i = self.argv[1:], 0
        while i < len(args):
            word = args[i]
            if not word.startswith("-") or word == "-":
                self.positional.append(word)
                i += 1
                continue
            name = word.lstrip("-")
            takes_arg = name in MODELLED or (
                name not in FLAGS and i + 1 < len(args) and not args[i + 1].startswith("-"))
            if not takes_arg or i + 1 >= len(args):
                self.flags.add(name)
                i += 1
                continue
            if name in MODELLED:
                self._add(name, args[i + 1], i + 1)
            else:
                self.options.append(Option(name, {"": args[i + 1]}, False, i + 1))
            i += 2

    def _add(self, name: str, value: str, index: int) -> None:
        props, is_json = parse_option_value(name, value)
        opt = Option(name, props, is_json, index)
        self.options.append(opt)
        ident = props.get("id")
        ident = str(ident) if ident is not None else None
        if name in ("netdev", "nic", "net"):
            kind = str(props.get("type", ""))
            if name == "nic" and not kind:
                kind = "user"       # QEMU's net_param_nic: a -nic without a type is user
            if name in ("nic", "net") and kind == "none":
                return              # no network at all (and no default NIC)
            if name == "net" and kind == "nic":
                # The legacy NIC half of -net nic -net user: a device the
                # board creates, on a hub.
                model = props.get("model")
                self.devices.append(Device(_nic_model(model), ident, is_json, props, "net"))
                return
            self.netdevs.append(Netdev(kind, ident, name, is_json, props))
            if name == "nic":
                self.devices.append(Device(_nic_model(props.get("model")), ident, is_json,
                                           dict(props, netdev=ident), "nic"))
        elif name == "chardev":
            self.chardevs.append(Chardev(ident, str(props.get("backend", "")), is_json, props))
        elif name == "device":
            self.devices.append(Device(str(props.get("driver", "")), ident, is_json, props))
        elif name == "object":
            self.objects.append(opt)

    # -- questions --------------------------------------------------------
    @property
    def binary(self) -> str:
        return self.argv[0] if self.argv else ""

    def given(self, name: str) -> list[Option]:
        """Every modelled option called `name` (no dashes), in order."""
        return [o for o in self.options if o.name == name]

    @property
    def readconfig(self) -> bool:
        """A configuration file can add anything: no pruning by command line."""
        return bool(self.given("readconfig"))

    @property
    def nodefaults(self) -> bool:
        return "nodefaults" in self.flags

    @property
    def default_nic(self) -> bool:
        """QEMU adds a user-networking NIC of its own: no network option and
        no -nodefaults."""
        return (not self.netdevs and not self.given("net") and not self.given("nic")
                and not self.nodefaults)

    def chardev(self, ident: str | None) -> Chardev | None:
        return next((c for c in self.chardevs if ident is not None and c.id == ident), None)

    def netdev(self, ident: str | None) -> Netdev | None:
        return next((n for n in self.netdevs if ident is not None and n.id == ident), None)

    def device_of(self, netdev_id: str | None) -> Device | None:
        """The NIC that uses a netdev."""
        return next((d for d in self.devices if netdev_id and d.netdev == netdev_id), None)

    def vhost_user(self) -> list[tuple[Netdev, Chardev | None]]:
        """Each vhost-user netdev with its chardev."""
        return [(n, self.chardev(n.chardev)) for n in self.netdevs if n.type == "vhost-user"]

    def vhost_nics(self) -> list[tuple[Device, Netdev]]:
        """Each virtio-net NIC whose netdev has a vhost backend (vhost-user,
        vhost-vdpa, tap with vhost=on): the NICs whose start a guest driver
        makes QEMU send to a backend."""
        out = []
        for n in self.netdevs:
            d = self.device_of(n.id)
            if (d is not None and d.driver.startswith("virtio-net")
                    and (n.type in ("vhost-user", "vhost-vdpa") or n.vhost)):
                out.append((d, n))
        return out

    def unix_sockets(self) -> list[Chardev]:
        """The unix-socket chardevs, in order."""
        return [c for c in self.chardevs if c.backend == "socket" and c.path]

    def server_sockets(self) -> list[Chardev]:
        return [c for c in self.unix_sockets() if c.server]

    def client_sockets(self) -> list[Chardev]:
        return [c for c in self.unix_sockets() if not c.server]

    def netdev_types(self) -> set[str]:
        types = {n.type for n in self.netdevs}
        if self.default_nic:
            types.add("user")
        return types

    def facts(self) -> frozenset[str]:
        """What this command line asks for, as words the data files test
        ([needs] in init-path.toml): netdev, netdev:TYPE, netdev:tap+vhost,
        netdev-json, netdev-keyval, nic-option, net-option, default-nic, chardev,
        chardev:BACKEND, chardev:socket:server, chardev:socket:client,
        chardev:socket:wait (a server that waits for its first client),
        device, device:DRIVER (also a -nic's model), device-option,
        device-json, device-keyval, object:TYPE,
        readconfig.  Computed once: the plan asks for every function."""
        if self._facts is None:
            self._facts = frozenset(self._compute_facts())
        return self._facts

    def _compute_facts(self) -> set[str]:
        f: set[str] = set()
        for n in self.netdevs:
            f |= {"netdev", f"netdev:{n.type}", f"{n.option}-option"}
            if n.option == "netdev":
                f.add(f"netdev-{'json' if n.json else 'keyval'}")
            if n.vhost:
                f.add("netdev:tap+vhost")
        if self.given("net"):
            f.add("net-option")
        if self.default_nic:
            f |= {"netdev", "netdev:user", "default-nic"}
        for c in self.chardevs:
            f |= {"chardev", f"chardev:{c.backend}"}
            if c.backend == "socket":
                f.add(f"chardev:socket:{c.role}")
                if c.wait:
                    f.add("chardev:socket:wait")
        for d in self.devices:
            if d.driver:
                f |= {"device", f"device:{d.driver}"}
            if d.option == "device":
                f |= {"device-option", f"device-{'json' if d.json else 'keyval'}"}
        for o in self.objects:
            f.add(f"object:{o.props.get('qom-type', '')}")
        if self.readconfig:
            f.add("readconfig")
        return f

    def satisfies(self, needs: list[str] | str) -> bool:
        """Does the command line ask for any of `needs` (facts)?  Always
        true with -readconfig, which may add anything."""
        if isinstance(needs, str):
            needs = [needs]
        if self.readconfig:
            return True
        # the same matching as [needs] in init-path.toml: a name or a glob
        return facts_match(needs, self.facts())

    def summary(self) -> dict:
        """Plain data for the trace JSON."""
        return {
            "netdevs": [{"id": n.id, "type": n.type, "option": n.option, "json": n.json,
                         "chardev": n.chardev, "queues": n.queues} for n in self.netdevs],
            "chardevs": [{"id": c.id, "backend": c.backend, "path": c.path,
                          "role": c.role if c.backend == "socket" else None,
                          "wait": c.wait, "reconnect_seconds": c.reconnect_seconds,
                          "json": c.json} for c in self.chardevs],
            "devices": [{"driver": d.driver, "id": d.id, "netdev": d.netdev, "json": d.json,
                         "option": d.option}
                        for d in self.devices],
            "default_nic": self.default_nic, "readconfig": self.readconfig}

"""The device-start section (`model/devicestart`) as text: a line per NIC
after a run, and the whole of it in the report."""

from __future__ import annotations

from collections import Counter

from ..model.devicestart import FAILED, STARTED, NicStart


def _head(n: NicStart) -> str:
    who = f"{n.netdev}" + (f" ({n.device}" + (f", chardev {n.chardev}" if n.chardev else "")
                           + ")" if n.device else "")
    if n.result == STARTED:
        return f"{who}: started at {n.t:.2f} s (vhost_net_start returned 0)"
    if n.result == FAILED:
        return (f"{who}: start FAILED at {n.t:.2f} s: vhost_net_start returned {n.ret}"
                + (f" ({n.error})" if n.error else "")
                + (f", in {n.failed_in}" if n.failed_in else ""))
    return f"{who}: not started" + (f": {n.why}" if n.why else "")


def brief_lines(starts: list[NicStart]) -> list[str]:
    """A line per NIC, for the text printed after a run."""
    lines = []
    for n in starts:
        line = f"  device start of {_head(n)}"
        if n.result != "not started":
            line += f"; {len(n.requests)} requests to the backend"
            if n.pairs_not_started:
                line += (f"; queue pairs never started: "
                         f"{', '.join(map(str, n.pairs_not_started))}")
        lines.append(line)
    return lines


def format_section(starts: list[NicStart]) -> str:
    if not starts:
        return ""
    lines = ["Device start (each vhost NIC, as the guest's driver started it)"]
    for n in starts:
        lines.append(f"  {_head(n)}")
        if n.result == "not started" and not n.hit:
            continue
        if n.queue_pairs is not None:
            lines.append(f"    queue pairs: the guest drives {n.queue_pairs} of {n.queues}"
                         + (", with the control queue" if n.control_queue else "")
                         + (f"; never started: {', '.join(map(str, n.pairs_not_started))}"
                            if n.pairs_not_started else ""))
        if n.why and n.pairs_not_started:
            lines.append(f"      {n.why}")
        if n.guest_features:
            lines.append(f"    the guest acked: {n.guest_features.hex} "
                         f"({', '.join(n.guest_features.bits or []) or 'none'})")
        if n.sent_features:
            lines.append(f"    SET_FEATURES to the backend: {n.sent_features.hex} "
                         f"({', '.join(n.sent_features.bits or [])})")
        if n.offered_not_taken:
            lines.append(f"    offered by the backend, not taken by the guest: "
                         f"{', '.join(n.offered_not_taken)}")
        counts = Counter(n.requests)
        lines.append(f"    {len(n.requests)} requests on the wire during the start: "
                     + ", ".join(f"{name}" + (f" x{c}" if c > 1 else "")
                                 for name, c in counts.items()))
        if n.result == FAILED and n.requests:
            lines.append(f"    the last request before the failure: {n.requests[-1]}")
        for said in n.qemu_said:
            lines.append(f"    QEMU: {said}")
    return "\n".join(lines) + "\n"

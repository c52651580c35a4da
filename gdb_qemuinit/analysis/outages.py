"""How long each NIC was without a backend in a watch: from its link going
down (a backend gone) to its link going up again (QEMU negotiated with
the next one); the two events are the phase's data ([PHASE.outage])."""

from __future__ import annotations

from ..model.origins import StopRule
from ..model.phases import Phase
from ..model.trace import Hit


def outages(hits: list[Hit], phase: Phase) -> list[dict]:
    """[{"netdev", "down", "up", "seconds"}], in the order they began; an
    outage still going when the watch ended has "up" and "seconds" None."""
    if phase.outage is None:
        return []
    down, up = (phase.event(name) for name in phase.outage)
    is_down = StopRule(functions=down.functions, within=down.within).chooses
    is_up = StopRule(functions=up.functions, within=up.within).chooses
    out: list[dict] = []
    open_by_netdev: dict[str, dict] = {}
    for h in hits:
        netdev = str((h.reads or {}).get("netdev"))
        if is_down(h) and netdev not in open_by_netdev:
            open_by_netdev[netdev] = {"netdev": netdev, "down": h.t, "up": None,
                                      "seconds": None}
            out.append(open_by_netdev[netdev])
        elif is_up(h) and netdev in open_by_netdev:
            o = open_by_netdev.pop(netdev)
            o["up"] = h.t
            if o["down"] is not None and h.t is not None:
                o["seconds"] = round(h.t - o["down"], 6)
    return out


"""`where` questions (data/questions.toml) and their answers, from a trace.

    {"schema": "qemuinit.where/1", "question", "outcome", "none",
     "answers": [{"function", "device", "id", "bdf", "config_size", "express",
                  "chain": [frames], "throwaway": note | null, ...}]}
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..datafile import data_file, read_toml
from ..errors import QemuinitError
from .summary import format_frame
from ..model.trace import Hit, Trace

SCHEMA = "qemuinit.where/1"
QUESTIONS_FILE = data_file("questions.toml")
_C_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class QuestionError(QemuinitError, ValueError):
    """An unknown question, with the closest known names."""


class Question(NamedTuple):
    name: str
    summary: str
    stops: list[str]
    reads: dict[str, dict[str, str]] = {}       # stop -> {name: expression}
    final: dict[str, str] = {}
    key: str | None = None
    within: str | None = None
    none: str = "the stop points never ran"


def load_questions() -> dict[str, Question]:
    doc = read_toml(QUESTIONS_FILE)
    return {name: Question(name=name, summary=q.get("summary", ""),
                           stops=list(q["stops"]), reads=q.get("read", {}),
                           final=q.get("final", {}), key=q.get("key"),
                           within=q.get("within"),
                           none=q.get("none", Question._field_defaults["none"]))
            for name, q in doc.get("question", {}).items()}


def throwaway_functions() -> dict[str, str]:
    """Function -> note: objects created under it are throwaway ([throwaway])."""
    return dict(read_toml(QUESTIONS_FILE).get("throwaway", {}))


def throwaway_note(hit: Hit, functions: dict[str, str] | None = None) -> str | None:
    """Why the object of this hit is no object of the user's, if it is not."""
    functions = throwaway_functions() if functions is None else functions
    return next((functions[f.function] for f in hit.frames if f.function in functions),
                None)


def throwaway_hits(trace: Trace) -> list[dict]:
    """The trace's hits on throwaway objects: [{"hit", "function", "under", "note"}]."""
    functions = throwaway_functions()
    out = []
    for h in trace.hits:
        under = next((f.function for f in h.frames if f.function in functions), None)
        if under:
            out.append({"hit": h.seq, "function": h.function, "under": under,
                        "note": functions[under]})
    return out


def resolve(name: str) -> Question:
    """A question by name, or any C function name as a one-stop question."""
    questions = load_questions()
    if name in questions:
        return questions[name]
    if _C_NAME.match(name):
        return Question(name=name, summary=f"where {name} runs", stops=[name],
                        none=f"{name} never ran during init")
    import difflib
    close = difflib.get_close_matches(name, list(questions), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise QuestionError(f"unknown question {name!r}{hint} (qinit where --list "
                        f"shows them; a function name works too)")


def listing() -> str:
    qs = load_questions()
    width = max(len(n) for n in qs)
    return "\n".join(f"  {n:<{width}}  {q.summary}" for n, q in qs.items())


# ---------------------------------------------------------------- answers
def _bdf(reads: dict) -> str | None:
    devfn = reads.get("devfn")
    if devfn is None:
        return None
    return f"{reads.get('bus') or '?'}:{int(devfn) >> 3:02x}.{int(devfn) & 7}"


def _frames_json(hit: Hit) -> list[dict]:
    return [{"function": f.function, "file": f.file, "line": f.line}
            for f in reversed(hit.frames)]


def _config_reason(hit: Hit, express: bool) -> str:
    stack = hit.stack()
    if not express:
        return "conventional PCI: 256 bytes (QEMU_PCI_CAP_EXPRESS not set)"
    if "virtio_pci_dc_realize" in stack:
        return ("4096 bytes: virtio_pci_dc_realize set QEMU_PCI_CAP_EXPRESS (modern "
                "virtio, disable-pcie=off) before pci_qdev_realize allocated")
    return "4096 bytes: the type implements INTERFACE_PCIE_DEVICE (pci_qdev_realize)"


def answers(q: Question, trace: Trace) -> list[dict]:
    hits = [h for h in trace.hits if h.function in q.stops
            and (not q.within or q.within in h.stack())]
    finals = trace.extra.get("final_reads", {})
    throwaway = throwaway_functions()
    if not q.key:
        return _users_first([dict(_generic(h, throwaway), **(h.reads or {})) for h in hits])
    out: dict[object, dict] = {}
    for h in hits:
        reads = h.reads or {}
        key = reads.get(q.key)
        if key is None:
            continue
        ans = out.setdefault(key, dict(_blank(), steps=[]))
        where = format_frame(h.frames[0])
        ans["steps"].append({"function": h.function, "at": where, "hit": h.seq})
        if h.function == q.stops[0]:           # the allocation: the main answer
            express = bool(reads.get("express"))
            ans.update(function=h.function, device=reads.get("device"),
                       throwaway=throwaway_note(h, throwaway),
                       id=reads.get("id"), bdf=_bdf(reads),
                       config_size=reads.get("config_size"),
                       express_at_alloc=express, chain=_frames_json(h),
                       config_reason=_config_reason(h, express))
        elif h.function in ("pcie_endpoint_cap_init", "pcie_cap_init"):
            caller = h.frames[1] if len(h.frames) > 1 else h.frames[0]
            # the outermost capability call says who decided (the device's realize)
            ans.setdefault("pcie_cap_added", f"{h.function} from {format_frame(caller)}")
        elif h.function == "virtio_pci_realize":
            ans["bus_is_express"] = bool(reads.get("bus_is_express"))
    for key, ans in out.items():
        final = finals.get(str(key)) or {}
        if "express" in final:
            ans["express"] = bool(final["express"])
            if ans.get("express_at_alloc") and not ans["express"]:
                ans["express_note"] = ("allocated as PCIe (4096 bytes), but "
                                       "virtio_pci_realize cleared QEMU_PCI_CAP_EXPRESS: "
                                       "not behind a PCIe port, so it is a conventional "
                                       "PCI device (pci_config_size() is 256 from then on)")
        elif ans.get("express_at_alloc") is not None:
            ans["express"] = None
            ans["express_note"] = "realize had not finished: final state unknown"
    return _users_first([a for a in out.values() if a["function"]])


def _users_first(answers: list[dict]) -> list[dict]:
    """The user's objects first, throwaway ones after (each in run order)."""
    return sorted(answers, key=lambda a: a["throwaway"] is not None)


def _blank() -> dict:
    """Every answer has these fields; null where they do not apply."""
    return dict.fromkeys(("function", "device", "id", "bdf", "config_size", "express",
                          "chain", "throwaway"))


def _generic(h: Hit, throwaway: dict[str, str]) -> dict:
    return dict(_blank(), function=h.function, chain=_frames_json(h),
                throwaway=throwaway_note(h, throwaway))


def result(q: Question, trace: Trace) -> dict:
    ans = answers(q, trace)
    return {"schema": SCHEMA, "question": q.name, "summary": q.summary,
            "qemu": trace.qemu,
            "outcome": {"state": trace.outcome.state, "detail": trace.outcome.detail},
            "none": None if ans else q.none, "answers": ans}


def format_result(res: dict, device: str | None = None) -> str:
    ans = res["answers"]
    if device:
        ans = [a for a in ans if device in (a.get("device"), a.get("id"))]
    lines = [f"qinit where {res['question']}: {res['summary']}",
             f"  QEMU {res['qemu'].get('version', '?')}: {res['outcome']['state']}"]
    if not ans:
        lines.append(f"  no answer: {res['none'] or f'no device {device!r}'}")
    for i, a in enumerate(ans, 1):
        head = [a["function"]]
        for k in ("device", "id", "bdf"):
            if a.get(k):
                head.append(f"{k}={a[k]}")
        lines.append(f"\n[{i}] " + "  ".join(head))
        if a.get("throwaway"):
            lines.append(f"    throwaway: {a['throwaway']}")
        if a.get("config_size") is not None:
            lines.append(f"    config space: {a['config_size']} bytes; "
                         f"{a.get('config_reason', '')}")
        if "express" in a and a.get("express_at_alloc") is not None:
            final = {True: "PCI Express", False: "conventional PCI",
                     None: "unknown"}[a["express"]]
            lines.append(f"    after realize: {final}"
                         + (f" ({a['express_note']})" if a.get("express_note") else ""))
        if a.get("pcie_cap_added"):
            lines.append(f"    PCIe capability added by {a['pcie_cap_added']}")
        for k, v in a.items():
            if k not in ("function", "device", "id", "bdf", "config_size", "express",
                         "chain", "steps", "express_at_alloc", "config_reason",
                         "express_note", "pcie_cap_added", "bus_is_express",
                         "pci_dev", "throwaway") and v is not None:
                lines.append(f"    {k}: {v}")
        if a.get("chain"):
            lines.append("    chain:")
            for f in a["chain"]:
                where = f" ({f['file']}:{f['line']})" if f.get("file") else ""
                lines.append(f"      {f['function'] or '??'}{where}")
    return "\n".join(lines)

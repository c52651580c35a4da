"""gdb convenience functions the data files' expressions may call: reads
gdb cannot write as one expression (reads only; nothing runs in QEMU).

    $_qinit_qdict_string("FUNCTION", "VAR", "KEY")
        the string KEY holds in the QDict `VAR` of the newest frame of
        FUNCTION on the stack; 0 (no string) when there is no such frame,
        key or string (the key holds another type).  A QDict is a hash table of QLIST buckets: its
        buckets are walked (their number read from the binary's type), so
        no hash function of QEMU's is copied here.
"""

from __future__ import annotations

import gdb

from .frames import stack


def _text(value: gdb.Value) -> str:
    """A string argument as gdb hands it over (a char array)."""
    return value.string()


def qdict_string(frame_function: str, variable: str, key: str) -> gdb.Value | None:
    """The char * KEY holds in that frame's QDict, or None."""
    frame = next((f for f in stack() if f.name() == frame_function), None)
    if frame is None:
        return None
    qdict = frame.read_var(variable)
    if not int(qdict):
        return None
    table = qdict.dereference()["table"]
    low, high = table.type.range()
    for bucket in range(low, high + 1):
        entry = table[bucket]["lh_first"]
        while int(entry):
            if entry["key"].string() == key:
                value = entry["value"]
                if str(value["base"]["type"]) != "QTYPE_QSTRING":
                    return None     # a number or a dict under that key: no string
                return value.cast(gdb.lookup_type("QString").pointer())["string"]
            entry = entry["next"]["le_next"]
    return None


class QdictString(gdb.Function):
    """$_qinit_qdict_string("FUNCTION", "VAR", "KEY"): see the module's help."""

    def __init__(self):
        super().__init__("_qinit_qdict_string")

    def invoke(self, frame_function, variable, key):
        try:
            found = qdict_string(_text(frame_function), _text(variable), _text(key))
        except (gdb.error, gdb.MemoryError, ValueError):
            found = None
        if found is None:
            return gdb.Value(0).cast(gdb.lookup_type("char").pointer())
        return found


def register() -> None:
    QdictString()

"""The section names of an ELF file, read from its section headers (enough
to tell whether a binary has debug info and a gdb index, without gdb)."""

from __future__ import annotations

import struct

# Sections through which gdb finds a symbol without reading all debug info.
INDEX_SECTIONS = (".gdb_index", ".debug_names")


def section_names(path: str) -> set[str]:
    """Every section's name; an empty set for a file that is not ELF."""
    with open(path, "rb") as f:
        ident = f.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
            return set()
        end = "<" if ident[5] == 1 else ">"
        wide = ident[4] == 2
        header = f.read(48 if wide else 36)
        # e_shoff, then e_shentsize, e_shnum, e_shstrndx (after flags/ehsize/ph*)
        if wide:
            shoff, = struct.unpack_from(end + "Q", header, 24)
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", header, 42)
        else:
            shoff, = struct.unpack_from(end + "I", header, 16)
            shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", header, 30)
        if not shoff or not shnum or shstrndx >= shnum:
            return set()
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        # sh_name, then sh_offset and sh_size of each header
        fmt = end + ("IIQQQQ" if wide else "IIIIII")

        def entry(i):
            fields = struct.unpack_from(fmt, table, i * shentsize)
            return fields[0], fields[4], fields[5]     # name, offset, size
        _, str_off, str_size = entry(shstrndx)
        f.seek(str_off)
        strings = f.read(str_size)
        names = set()
        for i in range(shnum):
            name_at = entry(i)[0]
            names.add(strings[name_at:strings.find(b"\0", name_at)].decode("ascii", "replace"))
        names.discard("")
        return names


def lacks_gdb_index(path: str) -> bool:
    """True for a binary with debug info but no index gdb could use."""
    try:
        names = section_names(path)
    except (OSError, struct.error):
        return False
    return ".debug_info" in names and not names & set(INDEX_SECTIONS)

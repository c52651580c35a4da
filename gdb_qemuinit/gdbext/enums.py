"""Names QEMU's own binary gives to numbers: the enumerators of an enum in
its debug info (vhost-user requests and protocol features), so that a
release that renames them needs no data change."""

from __future__ import annotations

import gdb


def enum_names(types: list[str], prefix: str = "", skip=(), block=None) -> dict[int, str] | None:
    """{value: name without `prefix`} of the first of `types` (typedef or
    `enum TAG`) the debug info has, or None.  Enumerators named in `skip`
    (after the prefix: bounds such as NONE, MAX) are left out."""
    for name in types:
        try:
            t = _lookup(name, block)
        except (gdb.error, RuntimeError):
            continue
        if t is None:
            continue
        t = t.strip_typedefs()
        if t.code != gdb.TYPE_CODE_ENUM:
            continue
        out = {}
        for f in t.fields():
            short = f.name[len(prefix):] if prefix and f.name.startswith(prefix) else f.name
            if short not in skip:
                out[int(f.enumval)] = short
        return out
    return None


def _lookup(name: str, block):
    """A type by name as that compilation unit sees it.  gdb.lookup_type
    ignores the block for `enum TAG`, and another file may have an enum of
    the same tag (libvhost-user's), so a tag is looked up as a symbol in
    the block's struct domain."""
    if name.startswith("enum ") and block is not None:
        sym = gdb.lookup_symbol(name[5:], block, gdb.SYMBOL_STRUCT_DOMAIN)[0]
        return sym.type if sym is not None else None
    return gdb.lookup_type(name, block) if block is not None else gdb.lookup_type(name)


def block_of(function: str):
    """The static block of a function's compilation unit, where a type local
    to that file (a typedef in a .c file) is found; None if unknown."""
    try:
        sym = gdb.lookup_global_symbol(function) or gdb.lookup_static_symbol(function)
        if sym is None or sym.symtab is None:
            return None
        return sym.symtab.static_block()
    except (gdb.error, RuntimeError, AttributeError):
        return None


def read_enums(wanted: dict[str, dict], used: set[str] | None = None) -> dict:
    """The binary's own names for each enum `wanted` describes ({name:
    {"types", "prefix", "skip", "near"}}, as Spec.enums() gives them), as
    {name: {"N": enumerator}}; with `used`, only those whose "near"
    function is in it (the run used them)."""
    out = {}
    for name, spec in wanted.items():
        near = spec.get("near")
        if used is not None and near and near not in used:
            continue
        values = enum_names(list(spec["types"]), spec.get("prefix", ""),
                            tuple(spec.get("skip", ())), block_of(near) if near else None)
        if values:
            out[name] = {str(k): v for k, v in sorted(values.items())}
    return out

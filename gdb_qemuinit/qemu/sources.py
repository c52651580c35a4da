"""QEMU's source tree: the file names gdb gives, made relative to it."""

from __future__ import annotations

import os


class SourceRoots:
    """Turns gdb's absolute source names into paths relative to QEMU's tree
    ("softmmu/vl.c"), caching the answer per directory."""

    MARKERS = ("VERSION", "meson.build", "qemu-options.hx")

    def __init__(self) -> None:
        self._root_of: dict[str, str | None] = {}

    def _root(self, directory: str) -> str | None:
        if directory in self._root_of:
            return self._root_of[directory]
        root = None
        d = directory
        while True:
            if all(os.path.exists(os.path.join(d, m)) for m in self.MARKERS):
                root = d
                break
            up = os.path.dirname(d)
            if up == d:
                break
            d = up
        self._root_of[directory] = root
        return root

    def relative(self, fullname: str | None) -> str | None:
        if not fullname:
            return None
        full = os.path.normpath(fullname)
        root = self._root(os.path.dirname(full))
        if root is None:
            return full
        return os.path.relpath(full, root)

"""A run's private directory: made before anything else of the run (the
shell starts gdb with it), light to import for that reason."""

from __future__ import annotations

import fcntl
import os
import tempfile

LOCK = ".lock"


class PrivateDir(tempfile.TemporaryDirectory):
    """A new private directory (mode 0700) named after this process, with a
    lock held while it is in use: a run in another PID namespace sharing
    this /tmp is told from a dead one by its lock, not by its PID
    (leftovers.py removes those of dead runs)."""

    def __init__(self):
        super().__init__(prefix=f"qemuinit-{os.getpid()}-")
        self._lock: int | None = os.open(os.path.join(self.name, LOCK),
                                         os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)

    def cleanup(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        super().cleanup()


def private_dir() -> PrivateDir:
    return PrivateDir()

"""What a `qemuinit` process leaves when it is killed outright (SIGKILL):
its private directory (named qemuinit-PID-..., PID its own) and DPDK's
runtime directory for its file prefix (qemuinit-PID).  The next run
removes those of runs whose process is gone."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from .backend import dpdk_runtime_dirs

_PRIVATE = re.compile(r"qemuinit-(\d+)-")
_DPDK = re.compile(r"qemuinit-(\d+)$")


def private_dir() -> tempfile.TemporaryDirectory:
    """A new private directory (mode 0700) named after this process."""
    return tempfile.TemporaryDirectory(prefix=f"qemuinit-{os.getpid()}-")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def remove_stale() -> list[str]:
    """Remove the private and DPDK runtime directories of qemuinit runs
    that are gone (ours only: owned by this user).  Returns what it removed."""
    removed = []
    places = [(tempfile.gettempdir(), _PRIVATE)]
    places += [(os.path.dirname(d), _DPDK) for d in dpdk_runtime_dirs("x")]
    for base, pattern in dict.fromkeys(places):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            m = pattern.match(name)
            path = os.path.join(base, name)
            if not m or int(m.group(1)) == os.getpid() or not _gone(int(m.group(1))):
                continue
            try:
                if os.lstat(path).st_uid != os.getuid():
                    continue
            except OSError:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed

"""What a `qemuinit` process leaves when it is killed outright (SIGKILL):
its private directory (named qemuinit-PID-..., PID its own) and DPDK's
runtime directories for its backends' file prefixes (qemuinit-PID-N).  The next run
removes those of runs whose process is gone."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import tempfile

from . import privatedir
from .backend import dpdk_runtime_dirs

# Exactly the names we make: tempfile's eight random characters after the
# prefix, and DPDK's directory for a --file-prefix of ours.
_PRIVATE = re.compile(r"qemuinit-(\d+)-[a-z0-9_]{8}$")
_DPDK = re.compile(r"qemuinit-(\d+)(-\d+)?$")     # one per backend: -N
LOCK = privatedir.LOCK
PrivateDir, private_dir = privatedir.PrivateDir, privatedir.private_dir


def _in_use(path: str, lock_file: str, lock) -> bool:
    """Does a live process hold the lock on `lock_file` in `path`?"""
    try:
        fd = os.open(os.path.join(path, lock_file), os.O_RDWR)
    except OSError:
        return False
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


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
    # Ours hold a flock on .lock; DPDK's primary process an fcntl lock on
    # its runtime directory's config file.  DPDK makes the directory before
    # that file: a backend killed in between (a quarter of those killed in
    # their first 150 ms) leaves it empty, and an empty one goes too.
    places = [(tempfile.gettempdir(), _PRIVATE, LOCK, fcntl.flock, False)]
    places += [(os.path.dirname(d), _DPDK, "config", fcntl.lockf, True)
               for d in dict.fromkeys(dpdk_runtime_dirs("x"))]
    for base, pattern, lock_file, lock, empty_goes in places:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            m = pattern.match(name)
            path = os.path.join(base, name)
            if not m or int(m.group(1)) == os.getpid() or not _gone(int(m.group(1))):
                continue
            # Only a real directory of ours that has the file we (or DPDK)
            # put there (or DPDK's, empty): never a link, a file or a
            # look-alike of someone else's.
            try:
                st = os.lstat(path)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                    continue
                if not _is_file(os.path.join(path, lock_file)):
                    # rmdir refuses it if a backend still starting has
                    # filled it since (an empty one has no lock to test)
                    if empty_goes and not os.listdir(path):
                        os.rmdir(path)
                        removed.append(path)
                    continue
            except OSError:
                continue
            if _in_use(path, lock_file, lock):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed

#!/usr/bin/python3 -IS
"""QEMU's launcher under a traced start from the shell.

gdb starts its inferior as `$SHELL -c 'exec PROGRAM ARGS'` and counts that
first exec as the shell's.  The runner sets SHELL to this file, so gdb's
startup is unchanged, but no shell ever parses QEMU's arguments: this ignores
the string and execs QEMU with the argv the runner wrote, NUL-separated, to
the file named by QEMUINIT_ARGV (in the run's private directory), byte for
byte.  QEMU gets the user's SHELL back (QEMUINIT_SHELL) and none of ours.

It never runs a shell: anything but that one use is refused.  It runs with
-I -S (no site, no user paths) and imports only os: its cost is a bare
interpreter start.
"""

import os
import sys


def main() -> int:
    env = os.environb
    argv_file = env.pop(b"QEMUINIT_ARGV", None)
    shell = env.pop(b"QEMUINIT_SHELL", None)
    if argv_file is None or len(sys.argv) != 3 or sys.argv[1] != "-c":
        sys.stderr.write("qemuinit launcher: not a shell; it only starts QEMU for "
                         "a qemuinit trace\n")
        return 127
    env.pop(b"QEMUINIT_DONE_FD", None)             # gdb's (not inherited)
    end_fd = env.pop(b"QEMUINIT_END_FD", None)     # gdb's, not QEMU's
    if end_fd is not None and end_fd.isdigit():
        try:
            os.close(int(end_fd))
        except OSError:
            pass
    if shell:
        env[b"SHELL"] = shell
    else:
        env.pop(b"SHELL", None)
    with open(argv_file, "rb") as f:
        argv = f.read().split(b"\0")[:-1]
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        sys.stderr.write(f"qemuinit launcher: cannot run {argv[0]!r}: {exc.strerror}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main())

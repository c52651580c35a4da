"""qemuinit: check QEMU's documented initialization path against a live run.

Everything in this package is plain Python and never imports ``gdb``, except
``gdb_qemuinit.gdbext`` (the gdb adapter: recorder and commands).
"""

__version__ = "0.1.0"

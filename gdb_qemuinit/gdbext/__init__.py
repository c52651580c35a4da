"""The gdb adapter: the only part of qemuinit that imports ``gdb``."""

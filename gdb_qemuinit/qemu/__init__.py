"""QEMU as a program: its binary (binary, elf), its command line (cmdline),
its launcher, the built-in scenarios, and the processes around it (vhost-user
backends, the fault relay, socket peers, private directories).
"""

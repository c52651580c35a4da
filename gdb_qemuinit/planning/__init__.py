"""What a run plants and reads, decided in pure code: the breakpoint plan
from the documented path and QEMU's command line (plan), and the whole
recording description the gdb recorder executes (recording).
"""

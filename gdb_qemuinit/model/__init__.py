"""The plain data the pipeline passes on: the documented path (initpath), a
recorded run (trace: hits, outcome, sections, JSON) and the verdicts.
No gdb, no processes.
"""

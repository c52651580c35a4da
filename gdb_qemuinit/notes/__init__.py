"""A developer's call-graph notes in (DOT, call listings -> a documented
path file) and out (a trace written back as notes).
"""

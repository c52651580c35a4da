"""A developer's call-graph notes in (DOT, call listings -> a documented
path file) and out (a trace written back as notes).
"""

# A function called this many times or more before the main loop is [hot]
# (qemuinit path import --hot); here, so that the commands' help can say it
# without importing the importer.
HOT_THRESHOLD = 10

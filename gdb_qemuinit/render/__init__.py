"""Everything a person reads: text, graphviz, the timeline, sequence
diagrams, the HTML report, and writing outputs to files.
"""

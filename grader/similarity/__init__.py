"""Code similarity across a class and against earlier years: which submissions share their solution.

:mod:`.extract` takes each submission's definitions (from .py files or notebooks, docstrings, comments and layout
normalised away, the template's own code removed), :mod:`.scores` compares them function by function with two
measures (copydetect's winnowed fingerprints over name-filtered tokens, and shingles of syntax-tree-normalised
statements), and :mod:`.report` writes ``similarity.csv`` and an HTML report. Runs only for instructors (never in
the student kit, never on a student's code: nothing of it is executed).
"""

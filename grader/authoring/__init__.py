"""Authoring an assignment for a new year: declare it from the instructor's solution (``autograde assignment new``)
and prove the grader on it (``autograde assignment verify``): the solution earns full marks, the template nothing,
generated mutants of the solution are each caught, and the accuracy thresholds are calibrated on the solution.

Instructor-only: the student kit never ships this package (an import-linter contract keeps it out)."""

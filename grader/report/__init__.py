"""Grading results and the formats they are written in."""
from .results import CheckResult, Part, Report

__all__ = ["CheckResult", "Part", "Report"]

"""Grading results and the formats they are written in (none of these modules imports torch)."""
from .results import CheckResult, Part, Report

__all__ = ["CheckResult", "Part", "Report"]

"""The checks, one module per concern; each module declares its checks in ``CHECKS`` (see :mod:`.registry`).

The rubric decides which checks run and in which order.
"""
from .registry import Check, GeneratedCases, Settings, builtin_checks, find_check

__all__ = ["Check", "GeneratedCases", "Settings", "builtin_checks", "find_check"]

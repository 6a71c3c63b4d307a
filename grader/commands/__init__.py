"""What the command line runs: keyword-only ``main`` functions over one :class:`~grader.options.GradingOptions`."""
from __future__ import annotations

from ..selection import InputError

EXIT_OK, EXIT_GRADER_FAILED, EXIT_BAD_INPUT = 0, 1, 2

__all__ = ["EXIT_BAD_INPUT", "EXIT_GRADER_FAILED", "EXIT_OK", "InputError"]

"""mlp-autograde: an autograder for the MLP backpropagation / SGD assignment (see README.md and docs/).

In a notebook: ``import grader; grader.check("backpropagation")`` grades what the kernel executed.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .interactive import CheckReport

from .version import __version__

__all__ = ["__version__", "check"]


def check(module: str | None = None, **options: Any) -> CheckReport:
    """Grade the code this Jupyter, VS Code or Colab kernel executed (see :func:`grader.interactive.check`)."""
    from .interactive import check as check_kernel

    return check_kernel(module, **options)

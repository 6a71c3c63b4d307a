"""What the command line runs: keyword-only ``main`` functions that hold the one set of defaults."""
from __future__ import annotations

EXIT_OK, EXIT_GRADER_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class InputError(Exception):
    """Bad arguments or input; the message says what to do next."""

"""Busy processes beside a grading: the load lane's tests and benchmarks/load.py share them."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

SPIN = "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n"
"""A busy process (it ends by itself after 15 minutes if whatever started it could not stop it)."""


@contextmanager
def busy(processes: int, core: int | None = None) -> Iterator[None]:
    """``processes`` spinning interpreters, pinned to ``core`` when given, for the duration of the block."""
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN], preexec_fn=pin) for _ in range(processes)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()

"""The load lane: correct code keeps every point on a busy or slow machine (``python -m pytest -m load``).

Busy processes (twice the cores) spin beside the grader while the correct catalogue is graded in both sandboxes,
and one ``autograde grade`` runs pinned to a single core that a busy process shares (about Gradescope's half
vCPU). A call's budget is charged in the CPU time its worker used, so waiting for a core costs nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.options import GradingSetup
from grader.report.feedback import feedback
from tests.catalogue import REFERENCE
from tests.catalogue.correct import CORRECT
from tests.support.grading import ROOT, grade, rubric_for

pytestmark = [pytest.mark.load, pytest.mark.slow]
CPU_CHECKS = ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules", "grad_check", "train",
              "train_manual_update", "MyMLP", "load_cifar")
SPIN = "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n"
"""A busy process (it ends by itself after 15 minutes if the test that started it could not stop it)."""


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


@pytest.mark.parametrize("sandbox", ["linux", "portable"])
def test_the_correct_catalogue_keeps_full_marks_beside_busy_processes(tmp_path, sandbox):
    rubric = rubric_for(*CPU_CHECKS, examples=20)
    with busy(2 * (os.cpu_count() or 1)):
        for submission in CORRECT:
            folder = submission.write(tmp_path / submission.name.replace(" ", "_"))
            report = grade(folder, rubric, options=GradingSetup(sandbox=sandbox))
            failed = {r.name: feedback(r) for r in report.results if not r.passed}
            assert not failed, (submission.name, failed)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning to one core needs sched_setaffinity (Linux)")
def test_a_grade_on_one_core_shared_with_a_busy_process_keeps_full_marks(tmp_path: Path):
    out = tmp_path / "results.json"
    with busy(1, core=0):
        result = subprocess.run([sys.executable, "-m", "grader", "grade", str(REFERENCE), "--skip-accuracy", "--json",
                                 str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900,
                                preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["score"] == 85, [t["name"] for t in report["tests"] if t["score"] != t["max_score"]]

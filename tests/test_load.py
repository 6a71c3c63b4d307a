"""The load lane: correct code keeps every point on a busy or slow machine (``python -m pytest -m load``).

Busy processes (twice the cores) spin beside the grader, at a higher priority than the grading's, while the
correct catalogue is graded as a class in both sandboxes, and one ``autograde grade`` runs pinned to a single core
that a busy process shares (about Gradescope's half vCPU). A call's budget is charged in the CPU time its worker
used, so waiting for a core costs nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalogue import REFERENCE
from tests.catalogue.correct import CORRECT
from tests.support.grading import ROOT
from tests.support.load import busy

pytestmark = [pytest.mark.load, pytest.mark.slow]


def test_the_correct_class_keeps_full_marks_beside_busy_processes_that_outrank_it(tmp_path: Path):
    """benchmarks/load.py: the reference and the correct catalogue as a batch (2 workers) in each sandbox, beside
    twice the cores of busy processes, the grading at nice 10 (about a tenth of its share of the machine)."""
    out = tmp_path / "load.json"
    result = subprocess.run([sys.executable, "benchmarks/load.py", "--nice", "10", "--json", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert set(figures) == {"linux", "portable"}
    for sandbox, figure in figures.items():
        assert figure["submissions"] == len(CORRECT) + 1 and figure["lost"] == {}, (sandbox, figure)


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

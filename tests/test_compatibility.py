"""The declared Python range (>= 3.10, Gradescope's default image) is true of the code that runs there."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.grading import ROOT


def test_grader_reference_and_template_need_no_more_than_python_3_10():
    vermin = shutil.which("vermin")
    if vermin is None:
        pytest.fail("vermin is missing: install the dev extras (pip install -e '.[dev]')")
    result = subprocess.run([vermin, "-t=3.10-", "--violations", "--no-tips", "--eval-annotations",
                             "grader", "reference", "student_template"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

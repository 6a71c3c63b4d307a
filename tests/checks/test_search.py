"""The hypothesis case search: shrunk failures, fail-closed grader errors, cases drawn once, and the same cases in
every process and install (nothing written where it runs)."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from grader.checks import backprop
from grader.checks.cases import net_cases, sgd_configs
from grader.checks.search import GraderCheckError, _hypothesis_search, drawn_cases, find_failure
from grader.outcomes import FailureKind
from grader.report.feedback import feedback
from grader.report.results import Part
from tests.support.grading import REFERENCE, grade, rubric_for


def too_big(n):
    return Part.fail("small", f"{n} is too big") if n >= 10 else None


def test_a_failing_case_is_shrunk_and_reported():
    runs, part = find_failure(st.integers(0, 1000), 50, 1, too_big)
    assert part.message == "10 is too big" and runs >= 2


def test_a_failure_that_makes_more_cases_pointless_stops_the_run_at_once():
    calls = []

    def crashes(n):
        calls.append(n)
        return Part.fail("runs", "the worker crashed", FailureKind.CRASH) if n >= 10 else None

    runs, part = find_failure(st.integers(0, 1000), 50, 1, crashes)
    assert part.kind is FailureKind.CRASH and runs == len(calls) and calls[-1] >= 10


def test_no_failure_means_no_message():
    assert find_failure(st.integers(0, 5), 20, 1, lambda n: None) == (6, None)


def test_a_grader_exception_while_judging_is_an_error_not_a_pass():
    def judge(n):
        if n > 3:
            raise KeyError("odd reply")
        return None

    with pytest.raises(GraderCheckError, match="KeyError: 'odd reply'"):
        find_failure(st.integers(0, 100), 50, 1, judge)


def test_a_grader_exception_inside_a_generated_case_check_is_an_autograder_error(monkeypatch):
    def broken(*arguments):
        raise KeyError("dL_dw")

    monkeypatch.setattr(backprop, "gradient_mismatch", broken)
    result = grade(REFERENCE, rubric_for("backpropagation_one_sample", examples=5)).results[0]
    assert result.status == "error" and result.score == 0
    assert "Autograder error" in feedback(result) and "KeyError" not in feedback(result)
    assert "KeyError: 'dL_dw'" in result.error


@pytest.mark.parametrize("strategy", [net_cases(batch_sizes=st.integers(2, 8)), sgd_configs({"momentum": 0.0})],
                         ids=["networks", "configurations"])
def test_the_cases_drawn_once_are_the_ones_a_passing_search_runs(strategy):
    seen = []

    def passing(case):
        seen.append(case)
        return None

    assert _hypothesis_search(strategy, 30, 265, passing) == (30, None)
    assert drawn_cases(strategy, 30, 265) == seen
    assert drawn_cases(strategy, 30, 265) is drawn_cases(strategy, 30, 265), "drawn once per process"


def test_a_failure_after_passing_cases_is_shrunk_without_calling_the_passing_cases_again():
    calls = []

    def fails_on_wide_networks(case):
        calls.append(case)
        return Part.fail("wide", f"width {max(case.n_l)}") if max(case.n_l) >= 6 else None

    runs, part = find_failure(net_cases(), 40, 265, fails_on_wide_networks)
    assert part is not None and part.message == "width 6", part
    passing = [case for case in calls if max(case.n_l) < 6]
    assert len({id(case) for case in passing}) == len(passing), "a case that passed is never judged twice"


DRAW = """
import json, sys
sys.path.insert(0, {folder!r})
if {local!r}:
    import many_constants  # a "local" module (not in site-packages), as a student's notebook imports its own file
from hypothesis import strategies as st
from grader.checks.search import drawn_cases
print(json.dumps(drawn_cases(st.integers(0, 10**6), 200, 265)))
"""


def test_the_drawn_cases_do_not_depend_on_the_local_modules_a_process_imported_and_nothing_is_written_here(tmp_path):
    import json
    import subprocess
    import sys

    (tmp_path / "many_constants.py").write_text("VALUES = [" + ", ".join(str(7919 * n + 3) for n in range(60)) + "]\n")
    draws = []
    for local in (False, True):
        script = DRAW.format(folder=str(tmp_path), local=local)
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                              env={**__import__("os").environ, "HYPOTHESIS_STORAGE_DIRECTORY": ""})
        assert done.returncode == 0, done.stderr
        draws.append(json.loads(done.stdout))
    assert draws[0] == draws[1], "constants of a local module changed the cases drawn"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many_constants.py"], "nothing is written where it runs"

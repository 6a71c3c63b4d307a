"""The statistics behind the accuracy thresholds (benchmarks/calibrate_accuracy.py): known values, and the
threshold search keeps its promise."""
from __future__ import annotations

import random
import statistics
import sys

import pytest

from tests.support.grading import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import calibrate_accuracy as calibration


@pytest.mark.parametrize("x, nu, expected", [(-1.0, 1, 0.25), (-2.015, 5, 0.05), (-2.042, 30, 0.025),
                                             (0.0, 4, 0.5), (3.747, 4, 0.99), (-6.869, 5, 0.0005)])
def test_student_t_cdf_matches_tables(x, nu, expected):
    assert calibration.t_cdf(x, nu) == pytest.approx(expected, abs=2e-5)


def test_chi2_quantile_matches_tables():
    assert calibration.chi2_quantile(0.05, 19) == pytest.approx(10.117, rel=2e-3)
    assert calibration.chi2_quantile(0.05, 99) == pytest.approx(77.046, rel=1e-3)


def test_the_heavy_tailed_fit_sees_heavy_tails_and_the_normal_one_does_not_matter_for_normal_data():
    generator = random.Random(1)
    normal = [generator.gauss(0.84, 0.01) for _ in range(200)]
    cauchy_like = [0.84 + 0.005 * generator.gauss(0, 1) / max(abs(generator.gauss(0, 1)), 1e-3) for _ in range(200)]
    assert calibration.heavy_tailed_model(normal)["nu_best"] >= 10
    assert calibration.heavy_tailed_model(cauchy_like)["nu_best"] <= 3


def test_the_threshold_found_keeps_the_bound_below_the_target():
    generator = random.Random(2)
    models = [calibration.heavy_tailed_model([generator.gauss(0.84, 0.01) for _ in range(60)]) for _ in range(2)]
    threshold = calibration.highest_safe_threshold(models)
    assert calibration.false_fail_bound(models, threshold) < calibration.FALSE_FAIL_TARGET
    assert calibration.false_fail_bound(models, threshold + 0.005) >= calibration.FALSE_FAIL_TARGET
    assert threshold < statistics.mean(m["loc"] for m in models)


def test_a_summary_of_too_few_runs_says_so_instead_of_inventing_a_spread():
    rows = [{"function": function, "accuracy": 0.84} for function in calibration.FUNCTIONS]
    summary = calibration.summarise(rows, full_credit=0.765)
    assert summary["too_few_runs"] == {function: 1 for function in calibration.FUNCTIONS}
    assert "student_t" not in summary

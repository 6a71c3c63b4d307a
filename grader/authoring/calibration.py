"""The accuracy thresholds, calibrated on a solution's own trainings (``assignment verify --data-root``).

The solution's ``train`` and ``train_manual_update`` each train ``runs`` times at consecutive seeds through the
worker's ``accuracy`` call, exactly as the accuracy stage does. The accuracies of each function are modelled by a
Student's t (degrees of freedom of highest profile likelihood: correct runs have a heavier left tail than a normal
law) with its location lowered to its 95% confidence bound and its scale raised to its 95% upper bound; the bound on
a correct solution's chance of losing any accuracy point at a threshold is the sum over the two functions of
P(X < threshold). ``full_credit`` is the highest threshold on a 0.005 grid whose bound stays below 1 in 10,000.
(The same statistics calibrated this grader's own template: benchmarks/calibrate_accuracy.py.)"""
from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assignment.declaration import Assignment
from ..checks.accuracy import FUNCTIONS, AccuracySettings, judge_logits, stage_data, stage_payload
from ..checks.rubric import Rubric
from ..data.cifar import load_arrays
from .probe import solution_host

FALSE_FAIL_TARGET = 1e-4
MINIMUM_RUNS = 3

def chi2_quantile(p: float, dof: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (accurate to about 0.1% for dof >= 20)."""
    z = statistics.NormalDist().inv_cdf(p)
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def conservative_model(samples: list[float], confidence: float = 0.95) -> dict[str, Any]:
    """Normal model: mean and sd of ``samples``, a lower confidence bound on the mean, an upper one on the sd."""
    n, mean, sd = len(samples), statistics.mean(samples), statistics.stdev(samples)
    z = statistics.NormalDist().inv_cdf(confidence)
    sd_high = sd * math.sqrt((n - 1) / chi2_quantile(1 - confidence, n - 1))
    return {"kind": "normal", "n": n, "mean": mean, "sd": sd, "min": min(samples), "max": max(samples),
            "mean_low": mean - z * sd / math.sqrt(n), "sd_high": sd_high}


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (Lentz's method)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return result


def t_cdf(x: float, nu: float) -> float:
    """P(T <= x) for Student's t with ``nu`` degrees of freedom."""
    z = nu / (nu + x * x)
    front = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - math.lgamma(0.5) + nu / 2 * math.log(z)
                     + 0.5 * math.log(1 - z)) if z < 1 else 0.0
    if z < (nu / 2 + 1) / (nu / 2 + 2.5):
        tail = front * _betacf(nu / 2, 0.5, z) / (nu / 2)
    else:
        tail = 1 - front * _betacf(0.5, nu / 2, 1 - z) / 0.5
    return tail / 2 if x < 0 else 1 - tail / 2


def fit_t(samples: list[float], nu: float) -> tuple[float, float, float]:
    """(location, scale, log-likelihood) of Student's t with ``nu`` degrees of freedom, by EM."""
    loc, scale = statistics.median(samples), statistics.stdev(samples)
    for _ in range(200):
        weights = [(nu + 1) / (nu + ((x - loc) / scale) ** 2) for x in samples]
        loc = sum(w * x for w, x in zip(weights, samples)) / sum(weights)
        scale = math.sqrt(sum(w * (x - loc) ** 2 for w, x in zip(weights, samples)) / len(samples))
    constant = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(scale)
    loglik = sum(constant - (nu + 1) / 2 * math.log(1 + ((x - loc) / scale) ** 2 / nu) for x in samples)
    return loc, scale, loglik


NU_GRID = (2.5, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)


def heavy_tailed_model(samples: list[float], confidence: float = 0.95) -> dict[str, Any]:
    """Student's t with the degrees of freedom of highest likelihood (profiled on NU_GRID), its location lowered
    by 1.645 standard errors and its scale raised to its 95% upper bound. Also reports the heaviest tail within
    the 95% likelihood interval (``nu_low``), which few samples cannot narrow."""
    fits = {nu: fit_t(samples, nu) for nu in NU_GRID}
    best = max(fits, key=lambda nu: fits[nu][2])
    nu_low = min(v for v in NU_GRID if 2 * (fits[best][2] - fits[v][2]) <= 3.841)
    loc, scale, _ = fits[best]
    n, z = len(samples), statistics.NormalDist().inv_cdf(confidence)
    standard_error = scale * math.sqrt(best / (best - 2)) / math.sqrt(n)
    return {"kind": "student_t", "n": n, "nu_best": best, "nu_low": nu_low, "nu": best, "loc": loc, "scale": scale,
            "loc_low": loc - z * standard_error,
            "scale_high": scale * math.sqrt((n - 1) / chi2_quantile(1 - confidence, n - 1))}


def tail_probability(model: dict[str, Any], threshold: float) -> float:
    """P(X < threshold) under a model of either kind."""
    if model["kind"] == "normal":
        return statistics.NormalDist(model["mean_low"], model["sd_high"]).cdf(threshold)
    return t_cdf((threshold - model["loc_low"]) / model["scale_high"], model["nu"])


def false_fail_bound(models: list[dict[str, Any]], threshold: float) -> float:
    """Upper bound on P(a correct solution loses any point): the sum over functions of P(X < threshold)."""
    return sum(tail_probability(model, threshold) for model in models)


def highest_safe_threshold(models: list[dict[str, Any]], target: float = FALSE_FAIL_TARGET,
                           grid: float = 0.005) -> float:
    """The highest threshold on ``grid`` whose false-fail bound is below ``target``."""
    threshold = math.floor(min(float(m.get("mean_low", m.get("loc_low", 0.0))) for m in models) / grid) * grid
    while false_fail_bound(models, threshold) >= target:
        threshold -= grid
    return round(threshold, 6)


@dataclass
class Calibration:
    """The solution's trainings and the threshold they allow."""

    device: str
    epochs: int
    accuracies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    full_credit: float | None = None
    bound: float | None = None
    """The false-fail bound at ``full_credit``."""

    def lines(self) -> list[str]:
        """The summary's lines: each function's runs, and the threshold."""
        lines = [f"{name}: {len(values)} runs on {self.device}, {self.epochs} epochs: mean "
                 f"{statistics.mean(values):.4f}, min {min(values):.4f}, max {max(values):.4f}"
                 for name, values in self.accuracies.items() if values]
        lines += self.failures[:5]
        if self.full_credit is not None:
            lines.append(f"full_credit = {self.full_credit:.3f}: a correct solution loses an accuracy point with "
                         f"probability at most {self.bound:.1e}; {self.seconds / max(self.runs, 1):.1f} s a training")
        return lines

    @property
    def runs(self) -> int:
        return sum(len(values) for values in self.accuracies.values())


def calibrate(solution: Path, assignment: Assignment, rubric: Rubric, data_root: Path, *, device: str = "cpu",
              runs: int = 20, sandbox: str = "auto", progress: Callable[[str], None] = lambda line: None
              ) -> Calibration:
    """Train the solution's ``train`` and ``train_manual_update`` ``runs`` times each (seeds from the rubric's) as
    the accuracy stage does, on ``device``, and find the highest safe ``full_credit``."""
    chosen = next((s.settings for s in rubric.checks if s.name == "accuracy"), None)
    settings = chosen if isinstance(chosen, AccuracySettings) else AccuracySettings()
    arrays = load_arrays(Path(data_root))
    result = Calibration(device, settings.epochs)
    started = time.monotonic()
    functions = [f for f in FUNCTIONS if assignment.has(f) and not assignment.callable(f).given]
    with solution_host(solution, assignment, rubric.limits, device=device, sandbox=sandbox) as host:
        data = stage_data(arrays, assignment, host.scratch_dir())
        for function in functions:
            result.accuracies[function] = []
            for seed in range(rubric.seed, rubric.seed + runs):
                payload = {**stage_payload(data, settings, seed, device), "function": function}
                reply = host.call("accuracy", payload, timeout=settings.seconds)
                outcome = judge_logits(reply.value, function, arrays.test_labels) if reply.ok else reply.failure
                if isinstance(outcome, dict):
                    result.accuracies[function].append(outcome["accuracy"])
                    progress(f"{function} seed {seed}: {outcome['accuracy']:.4f}")
                else:
                    result.failures.append(f"{function} seed {seed}: {outcome}")
    result.seconds = time.monotonic() - started
    samples = [values for values in result.accuracies.values() if len(values) >= MINIMUM_RUNS]
    if samples and len(samples) == len(functions):
        models = [heavy_tailed_model(values) for values in samples]
        threshold = highest_safe_threshold(models)
        if threshold > 0:
            result.full_credit, result.bound = threshold, false_fail_bound(models, threshold)
        else:
            result.failures.append("the runs spread too widely for a threshold a correct solution stays above: "
                                   "train more epochs, or run more trainings (--runs)")
    elif functions:
        result.failures.append(f"fewer than {MINIMUM_RUNS} trainings of a function succeeded: no threshold")
    return result


def write_full_credit(rubric_path: Path, found: Calibration) -> bool:
    """Set ``full_credit`` (and lower ``partial_credit`` below it) in the rubric file; False when it has none."""
    text = rubric_path.read_text(encoding="utf-8")
    if found.full_credit is None or not re.search(r"(?m)^full_credit = ", text):
        return False
    line = (f"full_credit = {found.full_credit:.3f}           # calibrated by assignment verify: "
            f"{found.runs} trainings on {found.device}, false-fail bound {found.bound:.1e}")
    text = re.sub(r"(?m)^full_credit = .*$", line, text)
    partial = re.search(r"(?m)^partial_credit = ([0-9.]+)", text)
    if partial and float(partial.group(1)) >= found.full_credit:
        text = re.sub(r"(?m)^partial_credit = .*$", f"partial_credit = {max(0.0, found.full_credit - 0.05):.3f}", text)
    rubric_path.write_text(text, encoding="utf-8")
    return True

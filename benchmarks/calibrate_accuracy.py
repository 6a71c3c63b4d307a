"""Calibrate the accuracy stage: the run-to-run spread of correct solutions, thresholds, and broken loops.

    python benchmarks/calibrate_accuracy.py --data-root ../shared/data/cifar10-airplane-bird \
        [--device cpu] [--seeds 265 1 2 ... 19] [--broken] [--out benchmarks/results/calibration-cpu.json]

1. Every correct submission whose training differs from the reference's (tests/catalogue/correct.py,
   TRAINS_DIFFERENTLY) and the reference itself run the real accuracy stage (sandboxed worker, rubric
   hyperparameters) at every seed: the test accuracy of ``train`` and of ``train_manual_update``.
2. From the pooled samples of each function: a normal model with a lower 95% confidence bound on the mean and
   an upper 95% confidence bound on the standard deviation; the bound on a correct solution's chance of losing
   any accuracy point at the rubric's threshold is the sum over both functions of P(X < threshold) under that
   model; and the highest threshold (on a 0.005 grid) whose bound stays below 1 in 10,000.
3. ``--broken``: the broken loops (tests/catalogue/buggy.py, BROKEN_LOOPS) at the first three seeds, with the
   score each gets, to show which lose points and which accuracy cannot tell apart.

Rows are printed as they come (JSON lines) and everything is written to --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.checks.accuracy import FUNCTIONS, reached  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.sandbox.zygote import Zygote  # noqa: E402
from tests.catalogue import REFERENCE  # noqa: E402
from tests.catalogue.buggy import BROKEN_LOOPS  # noqa: E402
from tests.catalogue.correct import BY_NAME, TRAINS_DIFFERENTLY  # noqa: E402

DEFAULT_SEEDS = (265, *range(1, 20))
FALSE_FAIL_TARGET = 1e-4


def accuracy_rubric(seed: int, epochs: int | None = None):
    rubric = dataclasses.replace(load_rubric().only("accuracy"), seed=seed)
    return rubric.configure("accuracy", epochs=epochs) if epochs else rubric


def run_one(folder: Path, seed: int, data_root: Path, device: str, zygote=None, epochs: int | None = None) -> dict:
    """One accuracy stage: each function's test accuracy, the stage's score, and the training time."""
    rubric = accuracy_rubric(seed, epochs)
    result = grade(folder, rubric, device=device, data_root=data_root, zygote=zygote).results[0]
    runs = reached(result)
    return {"seed": seed, **{name: runs.get(name, {}).get("accuracy") for name in FUNCTIONS},
            "train_seconds": sum(run["train_seconds"] for run in runs.values()),
            "score": result.score, "max_score": result.max_score}


def sweep(submissions: dict[str, Path], seeds, data_root: Path, device: str, log, epochs=None) -> list[dict]:
    rows = []
    with Zygote() as zygote:
        for name, folder in submissions.items():
            for seed in seeds:
                row = {"submission": name, **run_one(folder, seed, data_root, device, zygote, epochs)}
                rows.append(row)
                log(json.dumps(row))
    return rows


# ---------------------------------------------------------------- statistics

def chi2_quantile(p: float, dof: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (accurate to about 0.1% for dof >= 20)."""
    z = statistics.NormalDist().inv_cdf(p)
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def conservative_model(samples: list[float], confidence: float = 0.95) -> dict:
    """Mean and sd of ``samples`` with a lower confidence bound on the mean and an upper one on the sd."""
    n, mean, sd = len(samples), statistics.mean(samples), statistics.stdev(samples)
    z = statistics.NormalDist().inv_cdf(confidence)
    sd_high = sd * math.sqrt((n - 1) / chi2_quantile(1 - confidence, n - 1))
    return {"n": n, "mean": mean, "sd": sd, "min": min(samples), "max": max(samples),
            "mean_low": mean - z * sd / math.sqrt(n), "sd_high": sd_high}


def false_fail_bound(models: list[dict], threshold: float) -> float:
    """Upper bound on P(a correct solution loses any point): the sum over functions of P(X < threshold)."""
    return sum(statistics.NormalDist(m["mean_low"], m["sd_high"]).cdf(threshold) for m in models)


def highest_safe_threshold(models: list[dict], target: float = FALSE_FAIL_TARGET, grid: float = 0.005) -> float:
    """The highest threshold on ``grid`` whose false-fail bound is below ``target``."""
    threshold = math.floor(min(m["mean_low"] for m in models) / grid) * grid
    while false_fail_bound(models, threshold) >= target:
        threshold -= grid
    return round(threshold, 6)


def summarise(rows: list[dict], full_credit: float) -> dict:
    models = {name: conservative_model([r[name] for r in rows if r[name] is not None]) for name in FUNCTIONS}
    return {"models": models, "rubric_full_credit": full_credit, "cpu": cpu_name(),
            "false_fail_bound_at_rubric_threshold": false_fail_bound(list(models.values()), full_credit),
            "highest_threshold_with_bound_below_1e-4": highest_safe_threshold(list(models.values()))}


def cpu_name() -> str:
    """The CPU model (CPU kernels round differently across instruction sets, one source of the spread)."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        return ""


# ---------------------------------------------------------------- main

def materialise(entries, workdir: Path) -> dict[str, Path]:
    return {entry.name: entry.write(workdir / f"s{index}") for index, entry in enumerate(entries)}


def main(*, data_root: str, device: str = "cpu", seeds=DEFAULT_SEEDS, broken: bool = False,
         out: str | None = None, submissions=None, log=print, epochs: int | None = None) -> dict:
    root = Path(data_root).resolve()
    workdir = Path(tempfile.mkdtemp(prefix="calibration-"))
    chosen = [BY_NAME[name] for name in (TRAINS_DIFFERENTLY if submissions is None else submissions)]
    started = time.perf_counter()
    rows = sweep({"reference": REFERENCE, **materialise(chosen, workdir)}, seeds, root, device, log, epochs)
    result = {"device": device, "seeds": list(seeds), "rows": rows,
              "summary": summarise(rows, load_rubric().spec("accuracy").settings.full_credit)}
    if broken:
        result["broken"] = sweep(materialise(BROKEN_LOOPS, workdir / "broken"), list(seeds)[:3], root, device, log,
                                 epochs)
    result["seconds"] = time.perf_counter() - started
    log(json.dumps(result["summary"], indent=2))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--broken", action="store_true", help="also run the broken loops (first three seeds)")
    parser.add_argument("--submissions", nargs="+", help="correct-catalogue names (default: TRAINS_DIFFERENTLY)")
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args()
    main(data_root=args.data_root, device=args.device, seeds=args.seeds, broken=args.broken, out=args.out,
         submissions=args.submissions, log=lambda text: print(text, flush=True))

"""Calibrate the accuracy stage: the run-to-run spread of correct solutions, the thresholds, and broken loops.

    python benchmarks/calibrate_accuracy.py --data-root ../shared/data/cifar10-airplane-bird \
        [--device cpu] [--seeds 265 1 2 ... 19] [--broken] [--out benchmarks/results/calibration-cpu.json] \
        [--rows earlier.jsonl ...]

1. The reference, and every correct submission whose training arithmetic differs from the reference's
   (tests/catalogue/correct.py, TRAINS_DIFFERENTLY: only in the functions it names; the others run the
   reference's own code, bit-identical on a CPU), train through the worker's ``accuracy`` call, exactly as the
   accuracy stage does, at every seed: one row per (submission, function, seed) with its test accuracy.
2. From the pooled rows of each function, two models with conservative parameters: a normal model (mean
   lowered to its 95% confidence bound, sd raised to its 95% upper bound) and a heavy-tailed Student's t
   (degrees of freedom of highest profile likelihood; location and scale bounded the same way). The rubric's
   threshold follows the Student's t model: correct runs have a heavier left tail than a normal law. The bound on a
   correct solution's chance of losing any accuracy point at a threshold t is the sum over the two functions of
   P(X < t) (each function is judged on its own); the script
   reports it at the rubric's threshold, and the highest threshold on a 0.005 grid whose bound stays below
   1 in 10,000, under each model.
3. ``--broken``: the broken loops (tests/catalogue/buggy.py, BROKEN_LOOPS) through the whole accuracy stage at
   the first seed: the score each gets, to show which lose points and which accuracy cannot tell apart.

Rows are printed as JSON lines as they come; ``--rows`` adds rows measured earlier (JSON lines); everything is
written to --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assignment.declaration import load_assignment
from grader.authoring.calibration import (  # noqa: F401
    FALSE_FAIL_TARGET,
    chi2_quantile,
    conservative_model,
    false_fail_bound,
    heavy_tailed_model,
    highest_safe_threshold,
    t_cdf,
)
from grader.checks.accuracy import FUNCTIONS, judge_logits, reached, stage_data, stage_payload
from grader.checks.rubric import load_rubric
from grader.checks.run import grade
from grader.data.cifar import load_arrays
from grader.options import GradingSetup
from grader.sandbox.host import Host, SandboxOptions
from grader.sandbox.zygote import Zygote
from tests.catalogue import REFERENCE
from tests.catalogue.buggy import BROKEN_LOOPS
from tests.catalogue.correct import BY_NAME, TRAINS_DIFFERENTLY

DEFAULT_SEEDS = (265, *range(1, 20))


def settings(epochs: int | None = None):
    rubric = load_rubric().only("accuracy")
    return (rubric.configure("accuracy", epochs=epochs) if epochs else rubric).spec("accuracy").settings


def train_once(host: Host, arrays, stage, seed: int, device: str, function: str) -> dict:
    """One training of ``function`` at ``seed`` through the worker, judged as the accuracy stage judges it."""
    data = stage_data(arrays, load_assignment(None), host.scratch_dir())
    reply = host.call("accuracy", {**stage_payload(data, stage, seed, device), "function": function},
                      timeout=stage.seconds)
    outcome = judge_logits(reply.value, function, arrays.test_labels) if reply.ok else reply.failure
    if not isinstance(outcome, dict):
        return {"accuracy": None, "train_seconds": None, "failure": str(outcome)}
    return {"accuracy": outcome["accuracy"], "train_seconds": outcome["train_seconds"]}


def sweep(plan: dict[str, tuple[Path, tuple[str, ...]]], seeds, arrays, device: str, stage, log) -> list[dict]:
    """Rows for every (submission, function, seed) of ``plan`` (name -> (folder, functions))."""
    rows = []
    with Zygote() as zygote:
        for name, (folder, functions) in plan.items():
            with Host(folder, SandboxOptions(device=device), zygote=zygote) as host:
                for function in functions:
                    for seed in seeds:
                        row = {"submission": name, "function": function, "seed": seed,
                               **train_once(host, arrays, stage, seed, device, function)}
                        rows.append(row)
                        log(json.dumps(row))
    return rows


def broken_loops(data_root: Path, device: str, seed: int, epochs, log) -> list[dict]:
    """Each broken loop through the whole accuracy stage: what each function reached, and the score."""
    rubric = dataclasses.replace(load_rubric().only("accuracy"), seed=seed)
    rubric = rubric.configure("accuracy", epochs=epochs) if epochs else rubric
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="broken-"))
    for index, entry in enumerate(BROKEN_LOOPS):
        setup = GradingSetup(device=device, data_root=data_root)
        result = grade(entry.write(workdir / f"b{index}"), rubric, options=setup).results[0]
        runs = reached(result)
        lost = sorted({p.label for p in result.failed_parts})
        row = {"broken": entry.name, "seed": seed, "score": result.score, "max_score": result.max_score,
               **{function: runs.get(function, {}).get("accuracy") for function in FUNCTIONS}, "lost": lost}
        rows.append(row)
        log(json.dumps(row))
    return rows


# ---------------------------------------------------------------- the models (grader.authoring.calibration)

MINIMUM_SAMPLES = 3


def summarise(rows: list[dict], full_credit: float) -> dict:
    """Both models of each function's accuracy and the thresholds they allow; a note instead when a function has
    fewer than MINIMUM_SAMPLES runs (a spread needs several)."""
    samples = {function: [r["accuracy"] for r in rows if r["function"] == function and r["accuracy"] is not None]
               for function in FUNCTIONS}
    too_few = {function: len(values) for function, values in samples.items() if len(values) < MINIMUM_SAMPLES}
    if too_few:
        return {"too_few_runs": too_few, "needed": MINIMUM_SAMPLES, "rubric_full_credit": full_credit}
    normal = [conservative_model(values) for values in samples.values()]
    heavy = [heavy_tailed_model(values) for values in samples.values()]
    return {"normal": dict(zip(FUNCTIONS, normal)), "student_t": dict(zip(FUNCTIONS, heavy)),
            "rubric_full_credit": full_credit, "cpu": cpu_name(),
            "false_fail_bound_at_rubric_threshold": {"normal": false_fail_bound(normal, full_credit),
                                                     "student_t": false_fail_bound(heavy, full_credit)},
            "highest_threshold_with_bound_below_1e-4": {"normal": highest_safe_threshold(normal),
                                                        "student_t": highest_safe_threshold(heavy)}}


def cpu_name() -> str:
    """The CPU model (CPU kernels round differently across instruction sets, one source of the spread)."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        return ""


# ---------------------------------------------------------------- main

def plan_for(submissions, workdir: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    chosen = TRAINS_DIFFERENTLY if submissions is None else {name: TRAINS_DIFFERENTLY.get(name, FUNCTIONS)
                                                             for name in submissions}
    plan = {"reference": (REFERENCE, FUNCTIONS)}
    for index, (name, functions) in enumerate(chosen.items()):
        plan[name] = (BY_NAME[name].write(workdir / f"s{index}"), tuple(functions))
    return plan


def main(*, data_root: str, device: str = "cpu", seeds=DEFAULT_SEEDS, broken: bool = False,
         out: str | None = None, submissions=None, log=print, epochs: int | None = None,
         earlier: list[dict] = (), skip_reference: bool = False) -> dict:
    root = Path(data_root).resolve()
    stage, arrays = settings(epochs), load_arrays(root)
    plan = plan_for(submissions, Path(tempfile.mkdtemp(prefix="calibration-")))
    if skip_reference:
        plan.pop("reference")
    started = time.perf_counter()
    rows = [*earlier, *sweep(plan, seeds, arrays, device, stage, log)]
    result = {"device": device, "seeds": list(seeds), "epochs": stage.epochs, "rows": rows,
              "summary": summarise(rows, load_rubric().spec("accuracy").settings.full_credit)}
    if broken:
        result["broken"] = broken_loops(root, device, list(seeds)[0], epochs, log)
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
    parser.add_argument("--broken", action="store_true", help="also run the broken loops (first seed)")
    parser.add_argument("--submissions", nargs="*", help="correct-catalogue names (default: TRAINS_DIFFERENTLY)")
    parser.add_argument("--rows", nargs="*", default=[], help="JSON-lines files of rows measured earlier")
    parser.add_argument("--skip-reference", action="store_true", help="the reference's rows come from --rows")
    parser.add_argument("--out", help="write the JSON result here")
    args = parser.parse_args()
    earlier = [json.loads(line) for path in args.rows for line in Path(path).read_text().splitlines() if line.strip()]
    main(data_root=args.data_root, device=args.device, seeds=args.seeds, broken=args.broken, out=args.out,
         submissions=args.submissions, log=lambda text: print(text, flush=True), earlier=earlier,
         skip_reference=args.skip_reference)

"""Calibrate the accuracy thresholds: the reference's accuracy stage over several seeds.

    python benchmarks/calibrate_accuracy.py --data-root ../shared/data/cifar10-airplane-bird [--seeds 265 1 2 3 4]

Runs the real pipeline (sandboxed worker, rubric hyperparameters) with only the accuracy check, once per seed,
and prints the test accuracy reached with train and with train_manual_update, and the training time.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.pipeline import grade  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402


def main(*, data_root: str, seeds=(265, 1, 2, 3, 4), device="cpu", epochs=None) -> dict:
    rubric = load_rubric()
    accuracy = rubric.accuracy if epochs is None else dataclasses.replace(rubric.accuracy, epochs=epochs)
    rows = []
    for seed in seeds:
        only = dataclasses.replace(rubric, seed=seed, accuracy=accuracy,
                                   checks=tuple(s for s in rubric.checks if s.name == "accuracy"))
        result = grade(ROOT / "reference", only, device=device, data_root=Path(data_root)).results[0]
        row = {"seed": seed, "train": result.details["train"]["accuracy"],
               "manual": result.details["manual"]["accuracy"],
               "train_seconds": result.details["train"]["train_seconds"], "score": result.score}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {name: {"min": min(r[name] for r in rows), "mean": statistics.mean(r[name] for r in rows),
                      "max": max(r[name] for r in rows)} for name in ("train", "manual")}
    print(json.dumps({"device": device, "epochs": accuracy.epochs, "summary": summary}, indent=2))
    return {"rows": rows, "summary": summary}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[265, 1, 2, 3, 4])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    main(data_root=args.data_root, seeds=tuple(args.seeds), device=args.device, epochs=args.epochs)

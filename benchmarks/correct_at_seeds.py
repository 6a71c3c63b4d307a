"""Every correct-catalogue submission (and the reference), fully graded, accuracy stage included, at several
seeds: the claim that correct code never loses a point, checked end to end through ``autograde batch``.

    python benchmarks/correct_at_seeds.py --data-root ../shared/data/cifar10-airplane-bird [--seeds 265 1 2 3 4 5 6]
        [--device cpu] [--workers 1] [--out DIR]

Prints one JSON line per seed (scores by submission) and a final summary: every score that is not full marks;
writes every grading (score and the test accuracy each training function reached) to OUT/correct-at-seeds.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import load_states
from grader.checks.accuracy import reached
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from grader.report.results import CheckResult
from tests.catalogue import REFERENCE
from tests.catalogue.correct import CORRECT

SEEDS = (265, 1, 2, 3, 4, 5, 6)


def correct_class(folder: Path) -> Path:
    shutil.copytree(REFERENCE, folder / "reference")
    for index, submission in enumerate(CORRECT):
        submission.write(folder / f"correct-{index}")
    return folder


FUNCTIONS = ("train", "train_manual_update")


def grading_row(seed: int, submission: str, report: dict) -> dict:
    """One grading: its score and the accuracy each training function reached in the accuracy stage."""
    accuracy = next(CheckResult.from_dict(r) for r in report["results"] if r["name"] == "accuracy")
    return {"seed": seed, "submission": submission, "score": report["score"], "max_score": report["max_score"],
            **{function: run["accuracy"] for function, run in reached(accuracy).items()}}


def main(*, data_root: str, seeds=SEEDS, device: str = "cpu", workers: int = 1, out: str | None = None) -> dict:
    workdir = Path(out or tempfile.mkdtemp(prefix="correct-at-seeds-"))
    klass = correct_class(workdir / "class")
    names = {"reference": "reference", **{f"correct-{i}": s.name for i, s in enumerate(CORRECT)}}
    rows = []
    for seed in seeds:
        target = workdir / f"seed-{seed}"
        options = GradingOptions(seed=seed, data_root=data_root, device=device)
        assert batch_main(submissions=str(klass), out=str(target), options=options, workers=workers) == 0
        graded = [grading_row(seed, names[name], state["report"]) for name, state in load_states(target).items()]
        print(json.dumps({"seed": seed, "scores": {row["submission"]: row["score"] for row in graded}}), flush=True)
        rows += graded
    summary = {"device": device, "seeds": list(seeds), "submissions": len(names), "gradings": len(rows),
               "not_full_marks": [row for row in rows if row["score"] != row["max_score"]],
               **{f"lowest_{function}": min(row.get(function, 1.0) for row in rows) for function in FUNCTIONS}}
    (workdir / "correct-at-seeds.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out")
    args = parser.parse_args()
    main(data_root=args.data_root, seeds=args.seeds, device=args.device, workers=args.workers, out=args.out)

"""Every correct-catalogue submission (and the reference), fully graded, accuracy stage included, at several
seeds: the claim that correct code never loses a point, checked end to end through ``autograde batch``.

    python benchmarks/correct_at_seeds.py --data-root ../shared/data/cifar10-airplane-bird [--seeds 265 1 2 3 4 5 6]
        [--device cpu] [--workers 1] [--out DIR]

Prints one JSON line per seed (scores by submission) and a final summary: every score that is not full marks.
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

from grader.batch.gradebook import load_states  # noqa: E402
from grader.commands.batch import batch_main  # noqa: E402
from tests.catalogue import REFERENCE  # noqa: E402
from tests.catalogue.correct import CORRECT  # noqa: E402

SEEDS = (265, 1, 2, 3, 4, 5, 6)


def correct_class(folder: Path) -> Path:
    shutil.copytree(REFERENCE, folder / "reference")
    for index, submission in enumerate(CORRECT):
        submission.write(folder / f"correct-{index}")
    return folder


def main(*, data_root: str, seeds=SEEDS, device: str = "cpu", workers: int = 1, out: str | None = None) -> dict:
    workdir = Path(out or tempfile.mkdtemp(prefix="correct-at-seeds-"))
    klass = correct_class(workdir / "class")
    names = {"reference": "reference", **{f"correct-{i}": s.name for i, s in enumerate(CORRECT)}}
    scores = {}
    for seed in seeds:
        target = workdir / f"seed-{seed}"
        assert batch_main(submissions=str(klass), out=str(target), seed=seed, data_root=data_root, device=device,
                          workers=workers) == 0
        states = load_states(target)
        scores[seed] = {names[n]: (s["report"]["score"], s["report"]["max_score"]) for n, s in states.items()}
        print(json.dumps({"seed": seed, "scores": scores[seed]}), flush=True)
    lost = {f"{name} @ seed {seed}": score for seed, by_name in scores.items() for name, score in by_name.items()
            if score[0] != score[1]}
    summary = {"device": device, "seeds": list(seeds), "submissions": len(names), "gradings": len(names) * len(seeds),
               "not_full_marks": lost}
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

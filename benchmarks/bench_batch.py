"""Grading a class of 100 submissions made from the catalogues (correct, buggy, hostile, notebooks, stubs).

    python benchmarks/bench_batch.py [--workers 2] [--size 100] [--out DIR] [--data-root DIR --device cuda]

Measures, through ``autograde batch`` itself: the whole batch (CPU stage unless --data-root is given), the
slowest submission (the endless loop in backpropagation is in the class), a rerun with nothing changed, and
``--only`` one student. Prints one JSON object. The class always holds the same 100 submissions.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import load_states
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from tests.catalogue import REFERENCE, TEMPLATE, Submission
from tests.catalogue.buggy import BUGS
from tests.catalogue.correct import CORRECT
from tests.catalogue.hostile import ENDLESS_LOOP, SELF_CONTAINED


def make_class(folder: Path, size: int = 100) -> dict[str, str]:
    """``size`` submissions in ``folder``, each named ``NN-kind-name``; returns name -> kind. Exactly one endless
    loop (the known worst case); the rest cycles through the correct, buggy and other hostile submissions."""
    folder.mkdir(parents=True, exist_ok=True)
    pool = [("correct", s) for s in CORRECT] + [("buggy", s) for s in BUGS] + \
        [("hostile", s) for s in SELF_CONTAINED if s is not ENDLESS_LOOP] + \
        [("reference", Submission("reference")), ("template", Submission("template"))]
    chosen = [("hostile", ENDLESS_LOOP)] + list(itertools.islice(itertools.cycle(pool), size - 1))
    kinds = {}
    for index, (kind, submission) in enumerate(chosen):
        name = f"{index:02d}-{kind}-{submission.name}".replace(" ", "_").replace("/", "_")[:60]
        if kind == "template":
            shutil.copytree(TEMPLATE, folder / name)
        elif kind == "reference":
            shutil.copytree(REFERENCE, folder / name)
        else:
            submission.write(folder / name)
        kinds[name] = kind
    return kinds


def timed(**batch) -> float:
    started = time.perf_counter()
    assert batch_main(**batch) == 0
    return time.perf_counter() - started


def main(*, workers: int = 2, size: int = 100, out: str | None = None, device: str = "cpu",
         data_root: str | None = None, rubric_path: str | None = None) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    kinds = make_class(workdir / "class", size)
    target = Path(out) if out else workdir / "out"
    options = GradingOptions(device=device, data_root=data_root, skip_accuracy=data_root is None, rubric=rubric_path)
    batch = {"submissions": str(workdir / "class"), "out": str(target), "workers": workers, "options": options}
    first = timed(**batch)
    rerun = timed(**batch)
    one = timed(**batch, students=(next(iter(kinds)),))
    seconds = {name: state["seconds"] for name, state in load_states(target).items()}
    endless = next(name for name in kinds if "endless" in name)
    statuses = {name: state["status"] for name, state in load_states(target).items()}
    result = {"submissions": size, "workers": workers, "device": device, "accuracy_stage": data_root is not None,
              "batch_seconds": first, "rerun_seconds": rerun, "only_one_seconds": one,
              "per_submission_median_seconds": statistics.median(seconds.values()),
              "slowest": max(seconds.items(), key=lambda item: item[1]),
              "endless_loop_seconds": seconds[endless], "not_ok": {n: s for n, s in statuses.items() if s != "ok"}}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--out")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-root")
    args = parser.parse_args()
    main(workers=args.workers, size=args.size, out=args.out, device=args.device, data_root=args.data_root)

"""Correct code under load: the correct catalogue and the reference graded as a class (``autograde batch
--workers 2 --skip-accuracy``) while busy processes spin beside it, in each sandbox; prints the points each
submission lost (none is the goal) and the batch's seconds.

    python benchmarks/load.py [--busy N] [--nice K] [--sandbox linux portable] [--json FILE]

N defaults to twice the cores. --nice K lowers the grading's own priority by K under the busy processes' (a laptop
whose virus scanner wins every core: K = 10 leaves the grading about a tenth of its share). Run it on two commits to
compare them (the same class, the same load).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import load_states
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from tests.catalogue import REFERENCE
from tests.catalogue.correct import CORRECT
from tests.support.load import busy


def grade_class(folder: Path, sandbox: str, workers: int) -> tuple[dict[str, float], float]:
    """{submission: points lost} for the correct class graded in ``sandbox``, and the batch's seconds."""
    uploads = folder / "uploads"
    if not uploads.exists():
        (uploads / "reference").mkdir(parents=True)
        for module in ("backpropagation.py", "gradient_descent.py"):
            (uploads / "reference" / module).write_text((REFERENCE / module).read_text())
        for submission in CORRECT:
            submission.write(uploads / submission.name.replace(" ", "_"))
    started = time.monotonic()
    code = batch_main(submissions=str(uploads), out=str(folder / sandbox), workers=workers, force=True,
                      options=GradingOptions(skip_accuracy=True, sandbox=sandbox))
    assert code == 0, code
    seconds = time.monotonic() - started
    states = load_states(folder / sandbox)
    return {name: state["report"]["max_score"] - 15 - state["report"]["score"] for name, state in states.items()}, \
        seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sandbox", nargs="+", default=["linux", "portable"])
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="load-") as scratch, busy(args.busy):
        os.nice(args.nice)  # the busy processes keep their priority; the grading and its workers get less
        for sandbox in args.sandbox:
            lost, seconds = grade_class(Path(scratch), sandbox, args.workers)
            figures[sandbox] = {"lost": {k: v for k, v in lost.items() if v}, "seconds": round(seconds, 1),
                                "submissions": len(lost)}
            print(f"{sandbox}: {len(lost)} correct submissions in {seconds:.1f} s beside {args.busy} busy processes "
                  f"(nice {args.nice}); "
                  f"points lost: {figures[sandbox]['lost'] or 'none'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

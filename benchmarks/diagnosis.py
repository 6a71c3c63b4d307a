"""How well and at what cost the grader names misconceptions, on the buggy catalogue.

    python benchmarks/diagnosis.py [--repeat 3] [--workers 2]

1. Coverage: each buggy submission's failing check graded in this process (the checks run here, student code in
   the sandbox): is the misconception it was written with named, and named correctly? Is anything named for the
   ones no misconception explains?
2. Cost: the same check graded with the diagnosis switched off and on, ``--repeat`` times each; the median
   difference per failing check (median and worst over the catalogue).
3. The class: the whole buggy catalogue graded as one class with ``autograde batch``; prints summary.md's
   "Misconceptions in this class" table.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.checks import backprop, grad_check, load_cifar, mlp, training
from grader.checks import run as pipeline
from grader.commands.batch import batch_main
from grader.options import GradingOptions, GradingSetup
from grader.report.results import ids_in
from grader.sandbox.zygote import Zygote
from tests.catalogue.buggy import BUGS
from tests.support.grading import rubric_for


@contextlib.contextmanager
def diagnosis_off():
    """Every check's diagnosis step replaced by "nothing to name" (what the grader did before diagnoses)."""
    saved = [(backprop, "_diagnosis"), (training, "_diagnosis"), (grad_check, "holding"), (mlp, "_diagnosis"),
             (mlp, "_width"), (load_cifar, "_diagnoses")]
    originals = [(module, name, getattr(module, name)) for module, name in saved]
    backprop._diagnosis = training._diagnosis = mlp._diagnosis = mlp._width = lambda *a, **k: None
    grad_check.holding = load_cifar._diagnoses = lambda *a, **k: {}
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def grade_check(bug, folder: Path, zygote: Zygote) -> tuple[list[str], float]:
    started = time.perf_counter()
    report = pipeline.grade(folder, rubric_for(bug.fails[0], examples=40), options=GradingSetup(), zygote=zygote)
    return ids_in(report.results[0].parts), time.perf_counter() - started


def coverage_and_cost(repeat: int) -> None:
    rows, added = [], []
    with Zygote() as zygote, tempfile.TemporaryDirectory() as scratch:
        for index, bug in enumerate(BUGS):
            folder = bug.write(Path(scratch) / str(index))
            named, _ = grade_check(bug, folder, zygote)
            timings = {}
            for label, context in (("off", diagnosis_off), ("on", contextlib.nullcontext)):
                with context():
                    timings[label] = statistics.median(grade_check(bug, folder, zygote)[1] for _ in range(repeat))
            added.append(timings["on"] - timings["off"])
            rows.append((bug, named))
            print(f"{bug.name:55s} expected {bug.diagnosis or '-':27s} named {','.join(named) or '-':27s} "
                  f"+{1000 * added[-1]:7.1f} ms", flush=True)
    written = [(bug, named) for bug, named in rows if bug.diagnosis]
    correct = sum(named == [bug.diagnosis] for bug, named in written)
    wrong = sum(bool(named) and named != [bug.diagnosis] for bug, named in rows)
    silent = sum(not named for bug, named in rows if not bug.diagnosis)
    print(f"\ncoverage: {correct}/{len(written)} buggy submissions written with a catalogue misconception are "
          f"diagnosed correctly; {wrong} wrongly named; {silent}/{len(rows) - len(written)} without one get none.")
    print(f"time added per failing check: median {1000 * statistics.median(added):.1f} ms, worst "
          f"{1000 * max(added):.1f} ms (median of {repeat} gradings each, diagnosis on minus off)")


def class_table(workers: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        uploads = Path(scratch) / "uploads"
        for index, bug in enumerate(BUGS):
            bug.write(uploads / f"{index:02d}")
        out = Path(scratch) / "out"
        assert batch_main(submissions=str(uploads), out=str(out), workers=workers,
                          options=GradingOptions(skip_accuracy=True)) == 0
        summary = (out / "summary.md").read_text()
        start = summary.index("## Misconceptions in this class")
        print("\n" + summary[start:summary.index("\n## ", start + 3)].strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    coverage_and_cost(args.repeat)
    class_table(args.workers)


if __name__ == "__main__":
    main()

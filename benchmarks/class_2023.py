"""A class in the course's 2023 style graded as its instructor would: ``autograde batch --assignment inf265-2023``.

    python benchmarks/class_2023.py [--workers 2] [--data-root DIR] [--out DIR] [--json FILE]

The class is tests/catalogue/inf265_2023.py: the 2023 reference notebooks and the ways students change them
(renamed, reordered and extra parameters, a missing momentum parameter, defaults that read top-level names,
misnamed and ambiguous files, a renamed class, real mistakes). Prints a Markdown table: each submission's verdict
per graded function, its total, and the seconds the batch spent on it. CPU stage unless --data-root is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import load_states
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from tests.catalogue.inf265_2023 import ASSIGNMENT, CLASS

COLUMNS = ("backpropagation_one_sample", "rules", "train", "train_manual_update", "MyMLP", "load_cifar", "accuracy")


def grade_class(out: Path, workers: int, data_root: str | None) -> tuple[dict, float]:
    uploads = out / "uploads"
    for submission in CLASS:
        submission.write(uploads / submission.name.replace(" ", "_"))
    started = time.monotonic()
    options = GradingOptions(assignment=ASSIGNMENT, data_root=data_root, skip_accuracy=data_root is None)
    code = batch_main(submissions=str(uploads), out=str(out / "graded"), options=options, workers=workers, force=True)
    assert code == 0, code
    return load_states(out / "graded"), time.monotonic() - started


def cell(result: dict) -> str:
    if result["status"] == "skipped":
        return "skip"
    mark = "ok" if result["status"] == "passed" else "FAIL"
    return f"{mark} {result['score']:g}/{result['max_score']:g}"


def table(states: dict) -> str:
    lines = ["| submission | " + " | ".join(COLUMNS) + " | total | seconds |",
             "|---|" + "---|" * (len(COLUMNS) + 2)]
    for submission in CLASS:
        state = states[submission.name.replace(" ", "_")]
        results = {r["name"]: r for r in state["report"]["results"]}
        cells = [cell(results[c]) if c in results else "-" for c in COLUMNS]
        report = state["report"]
        lines.append(f"| {submission.name} | " + " | ".join(cells) +
                     f" | {report['score']:g}/{report['max_score']:g} | {state['seconds']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-root")
    parser.add_argument("--out", help="keep the class and the gradebook here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="class-2023-") as scratch:
        out = Path(args.out) if args.out else Path(scratch)
        states, seconds = grade_class(out, args.workers, args.data_root)
        print(table(states))
        per = [state["seconds"] for state in states.values()]
        print(f"\n{len(states)} submissions in {seconds:.1f} s with {args.workers} workers; per submission "
              f"median {sorted(per)[len(per) // 2]:.1f} s, max {max(per):.1f} s.")
        if args.json:
            Path(args.json).write_text(json.dumps({"seconds": seconds, "workers": args.workers, "states": {
                name: {"seconds": s["seconds"], "score": s["report"]["score"],
                       "results": {r["name"]: [r["score"], r["status"]] for r in s["report"]["results"]}}
                for name, s in states.items()}}, indent=1))


if __name__ == "__main__":
    main()

"""How close correct code comes to the per-call time budgets, on a loaded machine.

    python benchmarks/budgets.py [--workers 2] [--rounds 2] [--json FILE]

Grades the correct catalogue (the reference and every differently written correct submission) and the 2023-style
reference through ``autograde batch`` with ``--workers`` gradings at once (two on a 2-core machine load every core),
``--rounds`` times, CPU stage. Every call with a budget records its seconds and its budget (the report's
``budget_use``); prints the call that came closest, per check and overall. The target: at least 10x under.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.batch.gradebook import load_states
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from tests.catalogue import Submission
from tests.catalogue.correct import CORRECT
from tests.catalogue.inf265_2023 import ASSIGNMENT, BY_NAME


def grade_round(folder: Path, workers: int) -> list[dict]:
    uploads = folder / "uploads"
    for submission in [Submission("reference"), *CORRECT]:
        submission.write(uploads / submission.name.replace(" ", "_"))
    for copy in ("a", "b"):  # two at once, like the others
        BY_NAME["reference"].write(folder / "uploads-2023" / f"reference_2023_{copy}")
    use = []
    for source, assignment in ((uploads, None), (folder / "uploads-2023", ASSIGNMENT)):
        out = folder / f"out-{source.name}"
        options = GradingOptions(skip_accuracy=True, assignment=assignment)
        assert batch_main(submissions=str(source), out=str(out), options=options, workers=workers, force=True) == 0
        for name, state in load_states(out).items():
            assert state["report"]["score"] == state["report"]["max_score"] - 15, (name, state["status"])
            for check, worst in state["report"]["metadata"]["budget_use"].items():
                if "share" in worst:  # (an entry with only retries had no call that finished in its budget)
                    use.append({"submission": name, "check": check, **worst})
    return use


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    use = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="budgets-") as scratch:
            use += grade_round(Path(scratch), args.workers)
    per_check = {}
    for entry in use:
        if entry["share"] > per_check.get(entry["check"], {"share": -1})["share"]:
            per_check[entry["check"]] = entry
    worst = max(use, key=lambda entry: entry["share"])
    for check, entry in sorted(per_check.items()):
        print(f"{check:28s} slowest {entry['seconds'] * 1000:8.1f} ms of {entry['budget']:6.2f} s "
              f"({entry['share'] * 100:5.2f} %, {1 / entry['share']:6.0f}x under; {entry['submission']})")
    print(f"\nslowest correct call overall: {worst['call']} in {worst['check']} ({worst['submission']}): "
          f"{worst['seconds']:.3f} s of a {worst['budget']:.2f} s budget, {1 / worst['share']:.0f}x under "
          f"({len(use)} check gradings, {args.workers} at once, {args.rounds} rounds)")
    if args.json:
        Path(args.json).write_text(json.dumps({"per_check": per_check, "worst": worst}, indent=1))


if __name__ == "__main__":
    main()

"""How fast ``autograde similarity`` is: a generated class of N submissions against M earlier ones.

    python benchmarks/similarity.py [--class-size 300] [--earlier 1000] [--json FILE]

The submissions are the correct and buggy catalogues, each written again and again in other disguises (renamed,
reordered and re-commented, as notebooks), so that every pair is compared on real code. Prints the seconds of the
whole command (reading, fingerprinting, every pair, the reports) on this machine.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.commands.similarity import similarity_main
from tests.catalogue.buggy import BUGS
from tests.catalogue.correct import CORRECT
from tests.support.disguise import disguise


def generate(folder: Path, count: int, offset: int = 0) -> None:
    """``count`` submissions in ``folder``: catalogue entries in turn, each in one of the disguises."""
    sources = folder.parent / "sources"
    catalogue = [*CORRECT, *BUGS]
    for entry in catalogue:
        if not (sources / entry.name.replace(" ", "_")).exists():
            entry.write(sources / entry.name.replace(" ", "_"))
    ways = itertools.cycle(["renamed", "notebook", "renamed"])
    for index in range(count):
        entry = catalogue[(index + offset) % len(catalogue)]
        disguise(sources / entry.name.replace(" ", "_"), folder / f"s{index:04d}", next(ways))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--class-size", type=int, default=300)
    parser.add_argument("--earlier", type=int, default=1000)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="similarity-bench-") as scratch:
        root = Path(scratch)
        generate(root / "class", args.class_size)
        generate(root / "2025", args.earlier, offset=7)
        started = time.monotonic()
        code = similarity_main(submissions=str(root / "class"), against=(str(root / "2025"),), out=str(root / "out"))
        seconds = time.monotonic() - started
        assert code == 0, code
        pairs = args.class_size * (args.class_size - 1) // 2 + args.class_size * args.earlier
        print(f"{args.class_size} submissions against {args.earlier} earlier ones: {pairs} pairs in {seconds:.1f} s")
        if args.json:
            Path(args.json).write_text(json.dumps({"class": args.class_size, "earlier": args.earlier, "pairs": pairs,
                                                   "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()

"""Structural figures of the grader package: function lengths and module sizes.

    python benchmarks/code_metrics.py [PACKAGE_DIR]

Prints one JSON object: the number of functions, the median / p90 / max function length in lines (from the
``def`` line to the last line of the body, decorators and docstrings included), the longest functions, and the
largest modules. Used for the before/after figures of structural changes.
"""
from __future__ import annotations

import ast
import json
import statistics
import sys
from pathlib import Path


def function_lengths(root: Path) -> list[tuple[str, int]]:
    """(qualified name, length in lines) of every function and method under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((f"{path.relative_to(root.parent)}:{node.name}", node.end_lineno - node.lineno + 1))
    return found


def percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(root: Path) -> dict:
    lengths = function_lengths(root)
    values = [length for _, length in lengths]
    modules = sorted(((str(p.relative_to(root.parent)), len(p.read_text().splitlines())) for p in root.rglob("*.py")),
                     key=lambda item: -item[1])
    return {"functions": len(values), "median": statistics.median(values), "p90": percentile(values, 0.9),
            "max": max(values), "longest": sorted(lengths, key=lambda item: -item[1])[:5],
            "largest_modules": modules[:5], "modules": len(modules), "lines": sum(n for _, n in modules)}


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "grader")
    print(json.dumps(main(target.resolve()), indent=2))

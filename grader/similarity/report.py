"""The similarity outputs: ``similarity.csv`` (every pair's score, per unit, with the matched lines of flagged
pairs), ``similarity.html`` (flagged pairs side by side, the shared code highlighted, and the class's score
distribution), and, beside a batch's gradebook, its columns ``similar_to`` and ``similarity``."""
from __future__ import annotations

import base64
import csv
import functools
import html
import io
from pathlib import Path
from typing import Any

from .extract import Submission, Unit
from .scores import TOKEN_K, TOKEN_WINDOW, PairScore

CSV_FIELDS = ("first", "second", "unit", "score", "tokens", "structure", "flagged", "first_lines", "second_lines")


def matched(first: Unit, second: Unit) -> tuple[list[tuple[int, int]], list[tuple[int, int]], str, str]:
    """The line ranges of each unit that copydetect finds in the other, and both units as HTML with them marked."""
    return _matched(first, second)


@functools.lru_cache(maxsize=4096)
def _copydetect_print(code: str) -> Any:
    from copydetect import CodeFingerprint

    return CodeFingerprint("unit.py", TOKEN_K, TOKEN_WINDOW, filter=True, language="python", fp=io.StringIO(code))


@functools.lru_cache(maxsize=4096)
def _matched(first: Unit, second: Unit) -> tuple[list[tuple[int, int]], list[tuple[int, int]], str, str]:
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    _, _, slices = compare_files(_copydetect_print(first.code), _copydetect_print(second.code))
    ranges: list[list[tuple[int, int]]] = []
    marked: list[str] = []
    for unit, cut in zip((first, second), slices):
        if len(cut) == 0 or cut.shape[-1] == 0:
            ranges.append([])
            marked.append(html.escape(unit.code))
            continue
        ranges.append([(unit.code.count("\n", 0, int(a)) + 1, unit.code.count("\n", 0, int(b)) + 1)
                       for a, b in zip(cut[0], cut[1])])
        marked.append(highlight_overlap(unit.code, cut, "<mark>", "</mark>", escape_html=True)[0])
    return ranges[0], ranges[1], marked[0], marked[1]


def write_csv(path: Path, scored: list[tuple[float, str, str]], near: list[PairScore], reported: list[PairScore],
              submissions: dict[str, Submission], threshold: float) -> None:
    """Every pair's overall score; per function, the pairs that came near the threshold; the lines copydetect
    matched, for the reported (highest flagged) pairs."""
    detail = {(p.first, p.second): p for p in near}
    lines = {(p.first, p.second) for p in reported}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for score, first, second in sorted(scored, key=lambda entry: -entry[0]):
            pair = detail.get((first, second))
            writer.writerow({"first": first, "second": second, "unit": "(all)", "score": f"{score:.3f}",
                             "flagged": int(pair is not None and pair.score >= threshold)})
            for unit in pair.units if pair is not None else ():
                row = {"first": first, "second": second, "unit": unit.key, "score": f"{unit.score:.3f}",
                       "tokens": f"{unit.tokens:.3f}", "structure": f"{unit.structure:.3f}"}
                if (first, second) in lines:
                    mine, theirs, _, _ = matched(submissions[first].units[unit.key],
                                                 submissions[second].units[unit.key])
                    row.update(first_lines=_ranges(mine), second_lines=_ranges(theirs))
                writer.writerow(row)


def _ranges(ranges: list[tuple[int, int]]) -> str:
    return " ".join(f"{a}-{b}" for a, b in ranges)


def write_html(path: Path, scores: list[float], flagged: list[PairScore], submissions: dict[str, Submission],
               threshold: float, shown: int) -> None:
    """The distribution of every pair's score, and the ``shown`` highest flagged pairs side by side."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>Code similarity</title><style>{STYLE}</style>",
             f"<h1>Code similarity</h1><p>{len(scores)} pairs compared; {len(flagged)} at or above the threshold "
             f"{threshold:g}{f' (the {shown} highest shown)' if len(flagged) > shown else ''}. Code is shown as the "
             "grader re-printed it (comments, docstrings and layout removed, local names numbered); "
             "<mark>marked</mark> code is what copydetect found in both.</p>",
             f"<img alt='distribution of pair scores' src='data:image/png;base64,{_histogram(scores, threshold)}'>"]
    for pair in flagged[:shown]:
        parts.append(f"<h2>{html.escape(pair.first)} &harr; {html.escape(pair.second)}: {pair.score:.2f}</h2>")
        for unit in pair.units:
            _, _, left, right = matched(submissions[pair.first].units[unit.key],
                                        submissions[pair.second].units[unit.key])
            parts.append(f"<h3>{html.escape(unit.key)}: {unit.score:.2f} (tokens {unit.tokens:.2f}, structure "
                         f"{unit.structure:.2f})</h3><div class='pair'><pre>{left}</pre><pre>{right}</pre></div>")
    path.write_text("\n".join(parts), encoding="utf-8")


STYLE = ("body{font-family:sans-serif;margin:2em} .pair{display:flex;gap:1em} pre{flex:1;overflow:auto;"
         "background:#f6f6f6;padding:.5em;font-size:12px} mark{background:#ffd54f}")


def _histogram(scores: list[float], threshold: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 2.5))
    axes.hist(scores, bins=50, range=(0, 1), color="#607d8b")
    axes.axvline(threshold, color="#d32f2f", linestyle="--", label=f"threshold {threshold:g}")
    axes.set_xlabel("pair score")
    axes.set_ylabel("pairs")
    axes.set_yscale("log")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def add_to_gradebook(folder: Path, best: dict[str, tuple[str, float]]) -> bool:
    """Add ``similar_to`` and ``similarity`` columns to a batch's grades.csv in ``folder`` (each student's closest
    match); False when there is no gradebook there."""
    grades = folder / "grades.csv"
    if not grades.is_file():
        return False
    with open(grades, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return False
    fields = [f for f in rows[0] if f not in ("similar_to", "similarity")] + ["similar_to", "similarity"]
    for row in rows:
        other, score = best.get(row.get("name", ""), ("", 0.0))
        row.update(similar_to=other, similarity=f"{score:.3f}" if other else "")
    with open(grades, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return True


def add_to_summary(folder: Path, flagged: list[PairScore], threshold: float) -> None:
    """Append the flagged pairs to a batch's summary.md in ``folder`` (when there is one)."""
    summary = folder / "summary.md"
    if not summary.is_file():
        return
    text = summary.read_text(encoding="utf-8").split("\n## Code similarity")[0].rstrip("\n")
    lines = ["", "", "## Code similarity", "",
             f"{len(flagged)} pair(s) at or above {threshold:g} (similarity.html shows them side by side).", ""]
    if flagged:
        lines += ["| first | second | score | units |", "|---|---|---:|---|"]
        lines += [f"| {p.first} | {p.second} | {p.score:.2f} | "
                  + ", ".join(f"{u.key} {u.score:.2f}" for u in p.units) + " |" for p in flagged]
    summary.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")

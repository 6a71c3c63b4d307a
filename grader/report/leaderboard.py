"""Leaderboard values (Gradescope's ``leaderboard`` and the batch's ``leaderboard.csv``), from the results alone."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .results import CheckResult, Report


@dataclass(frozen=True)
class LeaderboardEntry:
    """One column of Gradescope's leaderboard (and of the batch's leaderboard.csv)."""

    name: str
    value: str
    """One of LEADERBOARD_VALUES."""
    order: str = "desc"


def entries(results: list[CheckResult], columns: Sequence[LeaderboardEntry],
            names: dict[str, str]) -> list[dict[str, Any]]:
    """One {"name", "value", "order"} per rubric column: a test accuracy or training seconds the accuracy stage
    measured (0.0 accuracy when the function did not train), or the total score. ``names``: the assignment's name of
    each graded function, by key."""
    measured = _measured(results)
    built = []
    for column in columns:
        what, _, key = column.value.partition(":")
        value: float | None
        if what == "score":
            value = round(sum(r.score for r in results), 4)
        elif what == "accuracy":
            value = measured.get(names.get(key, key), {}).get("accuracy", 0.0)
        else:
            value = measured.get(names.get(key, key), {}).get("train_seconds")
        if value is not None:
            built.append({"name": column.name, "value": round(value, 4), "order": column.order})
    return built


def _measured(results: list[CheckResult]) -> dict[str, dict[str, Any]]:
    return {p.details["function"]: p.details for r in results for p in r.parts
            if "accuracy" in p.details and "function" in p.details}


def leaderboard_csv(reports: dict[str, Report]) -> str | None:
    """The class's leaderboard: a row per student, ranked by the first column (None when no report has one)."""
    boards = {name: report.leaderboard for name, report in reports.items() if report.leaderboard}
    if not boards:
        return None
    columns = list(dict.fromkeys(e["name"] for board in boards.values() for e in board))
    first = next(iter(boards.values()))[0]
    values = {name: {e["name"]: e["value"] for e in board} for name, board in boards.items()}
    ranked = sorted(values, key=lambda n: values[n].get(first["name"], float("-inf") if first["order"] == "desc"
                                                        else float("inf")), reverse=first["order"] == "desc")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "student", *columns])
    for rank, name in enumerate(ranked, start=1):
        writer.writerow([rank, name, *(values[name].get(column, "") for column in columns)])
    return out.getvalue()

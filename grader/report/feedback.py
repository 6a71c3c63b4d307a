"""A check's student-visible text, rendered from its parts (shared by every text-based format)."""
from __future__ import annotations

from ..kinds import Status
from .results import AUTOGRADER_ERROR, CheckResult

MARKS = {True: "[ok]", False: "[FAIL]"}


def feedback(result: CheckResult) -> str:
    """Each part as a ``[ok]`` / ``[FAIL]`` line with its message indented below it (a message shared with an
    earlier part is not repeated); a skipped check gives its reason, a grader error the notice."""
    if result.status is Status.ERROR:
        return AUTOGRADER_ERROR
    if result.status is Status.SKIPPED:
        return f"Skipped: {result.skipped}"
    lines, shown = [], set()
    for part in result.parts:
        lines.append(f"{MARKS[part.passed]} {part.label}")
        if part.message and part.message not in shown:
            lines.append(indent(part.message))
        elif part.message and not part.passed:
            lines.append(indent("(same reason as above)"))
        shown.add(part.message)
    return "\n".join(lines)


def short(result: CheckResult) -> str:
    """One line for a check that fails only because it is not implemented yet; else its full feedback."""
    missing = result.not_implemented
    return f"not implemented yet: {', '.join(missing)}" if missing else feedback(result)


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())

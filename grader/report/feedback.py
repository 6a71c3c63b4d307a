"""A check's student-visible text, rendered from its parts (shared by every text-based format)."""
from __future__ import annotations

from ..outcomes import Status
from .results import AUTOGRADER_ERROR, CheckResult, Part

MARKS = {True: "[ok]", False: "[FAIL]"}
NOT_CHECKED = "[--]"


def mark(part: Part) -> str:
    """``[ok]``, ``[FAIL]``, or ``[--]`` for a part that could not be checked and is worth nothing either way."""
    return NOT_CHECKED if part.details.get("not_checked") else MARKS[part.passed]


def feedback(result: CheckResult) -> str:
    """Each part as a ``[ok]`` / ``[FAIL]`` line with its message indented below it (a message shared with an
    earlier part is not repeated); a skipped check gives its reason, a grader error the notice."""
    if result.status is Status.ERROR:
        return AUTOGRADER_ERROR
    if result.status is Status.SKIPPED:
        return f"Skipped: {result.skipped}"
    lines, shown = [], set()
    for part in result.parts:
        lines.append(f"{mark(part)} {part.label}")
        if part.message and part.message not in shown:
            lines.append(indent(part.message))
        elif part.message and not part.passed:
            lines.append(indent("(same reason as above)"))
        shown.add(part.message)
    return "\n".join(lines)


SHORT_LINE = 240
"""How much of a further failing part the short feedback shows."""


def short(result: CheckResult) -> str:
    """What a student sees first: one line for a check that fails only because it is not implemented yet; for
    another failed check its first failing part in full and each further failing part in one line (the same mistake
    is said so); else the full feedback."""
    missing = result.not_implemented
    if missing:
        return f"not implemented yet: {', '.join(missing)}"
    failed = result.failed_parts
    if result.status is not Status.FAILED or len(failed) < 2:
        return feedback(result)
    first, lines = failed[0], []
    for part in result.parts:
        if part.passed:
            lines.append(f"{mark(part)} {part.label}")
        elif part is first:
            lines += [f"{MARKS[False]} {part.label}", indent(part.message)]
        else:
            lines.append(f"{MARKS[False]} {part.label}: {_again(part, first)}")
    return "\n".join(lines + ["(autograde check --verbose shows every failing case in full)"])


def _again(part: Part, first: Part) -> str:
    """A further failing part in one line: the same mistake as the first, or its first line."""
    diagnosis = part.details.get("diagnosis")
    if diagnosis and diagnosis == first.details.get("diagnosis"):
        return "the same mistake (see above)"
    if part.message == first.message:
        return "same reason as above"
    lines = part.message.splitlines() or [""]
    line = f"{lines[0][:-1]}: {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return line if len(line) <= SHORT_LINE else line[:SHORT_LINE - 3] + "..."


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())

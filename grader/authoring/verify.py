"""``assignment verify``: the proof that a declaration grades its year as the instructor means it.

0. Every TODO line ``assignment new`` wrote is answered. 1. The solution earns full marks on the CPU stage at several
seeds. 2. The template earns nothing, and says only that its functions are not implemented yet. 3. Every mutant of
the solution (:mod:`grader.authoring.mutants`) loses points in the check of the function it changed, and is named by
the diagnosis where the catalogue has its misconception. 4. With data, the accuracy thresholds are calibrated on the
solution (:mod:`grader.authoring.calibration`). Steps 0-3 decide the exit code."""
from __future__ import annotations

import ast
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import pipeline
from ..assignment.declaration import Assignment
from ..checks.rubric import load_rubric
from ..options import GradingOptions
from ..outcomes import FailureKind
from ..pipeline import grade_one
from ..report.results import Report, ids_in
from ..selection import sandbox_for
from .mutants import Mutant, mutants

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

UNFINISHED = frozenset({FailureKind.NOT_IMPLEMENTED, FailureKind.NOT_RUN})


@dataclass
class Step:
    """One step of the proof: passed or not, how long it took, what it found (lines for the summary)."""

    name: str
    passed: bool
    seconds: float
    lines: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclass
class MutantRow:
    """One mutant's outcome: whether the check of the function it changed lost points, and what it diagnosed."""

    id: str
    function: str
    description: str
    checks: str
    caught: bool
    lost: float
    diagnosed: tuple[str, ...]
    expected: str | None

    @property
    def named(self) -> bool | None:
        """The catalogue's diagnosis was given (None: the catalogue has no such misconception)."""
        return None if self.expected is None else self.expected in self.diagnosed


class Grader:
    """Gradings of folders with one declaration and one rubric file (its CPU-stage checks, or ``checks``), each by
    :func:`grader.pipeline.grade_one`, through one fork server."""

    def __init__(self, assignment: Assignment, rubric: Path, sandbox: str, checks: tuple[str, ...] = ()):
        self.assignment = assignment
        loaded = load_rubric(rubric)
        self.rubric = loaded.only(*(checks or [s.name for s in loaded.checks if not s.check.needs_data]))
        self.options = GradingOptions(rubric=str(rubric), sandbox=sandbox,
                                      checks=tuple(s.name for s in self.rubric.checks))
        self.zygote = pipeline.fork_server() if sandbox_for(self.options) == "linux" else None

    def __call__(self, folder: Path, *, seed: int | None = None, checks: tuple[str, ...] = ()) -> Report:
        """``folder`` graded (at ``seed``; only ``checks``, when given); a grading that failed is its report too."""
        options = self.options.but(seed=seed, **({"checks": checks} if checks else {}))
        return grade_one(folder, options, assignment=self.assignment, zygote=self.zygote).report

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()


def todo_step(declaration: Path) -> Step:
    """Step 0: the TODO lines of the declaration still unanswered (a TODO above a parameter is answered once that
    parameter has a role; any other TODO line once it is deleted)."""
    started = time.monotonic()
    lines = declaration.read_text(encoding="utf-8").splitlines() if declaration.is_file() else []
    open_lines = [f"line {number}: {text.strip().removeprefix('# TODO').strip()}"
                  for number, text in enumerate(lines, start=1)
                  if text.lstrip().startswith("# TODO") and not _answered(lines[number:])]
    summary = ["none left"] if not open_lines else \
        [f"{len(open_lines)} TODO line(s) in {declaration} not answered (answer each as it says, then delete it):"]
    return Step("every TODO line of the declaration is answered", not open_lines, time.monotonic() - started,
                summary + [f"  {line}" for line in open_lines])


def _answered(following: list[str]) -> bool:
    """A TODO above a parameter entry is answered when the entry has a role or a default, and its default (if any)
    is a literal value."""
    entry = next((line.strip() for line in following if not line.lstrip().startswith("#")), "")
    if not entry.startswith("{"):
        return False
    try:
        table = tomllib.loads(f"entry = {entry.rstrip(',')}")["entry"]
    except tomllib.TOMLDecodeError:
        return False
    default = table.get("default")
    return bool(table.get("role") or default is not None) and (default is None or _literal(str(default)))


def _literal(source: str) -> bool:
    try:
        ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return False
    return True


def solution_step(run: Grader, solution: Path, seeds: tuple[int, ...], min_points: float = 1.0) -> tuple[Step, Report]:
    """Step 1, and the solution's report at the first seed (what each mutant is measured against). Fails unless
    every seed earns full marks on at least ``min_points`` points: a declaration that grades nothing proves
    nothing."""
    started, lines, passed, reports = time.monotonic(), [], True, []
    for seed in seeds:
        report = run(solution, seed=seed)
        reports.append(report)
        short = [f"{r.name} {r.score:g}/{r.max_score:g}" for r in report.results if r.score < r.max_score]
        passed &= not short
        lines.append(f"seed {seed}: {report.score:g}/{report.max_score:g}"
                     + (f" (short: {', '.join(short)})" if short else ""))
        lines += [f"  {r.name}: {p.message.splitlines()[0] if p.message else p.label}" for r in report.results
                  for p in r.parts if not p.passed][:6]
    graded = min(report.max_score for report in reports)
    if graded < min_points:
        passed = False
        lines.append(f"only {graded:g} point(s) graded, fewer than --min-points {min_points:g}: the rubric's "
                     "CPU-stage checks grade too little of the solution (see the notes assignment new wrote)")
    return Step("the solution earns full marks", passed, time.monotonic() - started, lines), reports[0]


def template_step(run: Grader, template: Path) -> Step:
    started = time.monotonic()
    report = run(template)
    failed = [(r.name, p) for r in report.results for p in r.parts if not p.passed]
    other = [(name, p) for name, p in failed if p.kind not in UNFINISHED]
    earned = [f"{r.name} {r.score:g}" for r in report.results if r.score > 0]
    lines = [f"{report.score:g}/{report.max_score:g}; {len(failed)} part(s) not implemented yet"]
    lines += [f"  earns: {', '.join(earned)}"] if earned else []
    lines += [f"  {name}: {p.kind}: {p.message.splitlines()[0] if p.message else p.label}" for name, p in other][:8]
    return Step("the template earns nothing, and only hears 'not implemented yet'", not earned and not other,
                time.monotonic() - started, lines)


def mutant_rows(run: Grader, made: list[Mutant], baseline: Report, seed: int | None = None,
                progress: Callable[[str], None] = lambda _: None) -> list[MutantRow]:
    """Each mutant graded on the checks of the function it changed that the solution passes (in ``baseline``, at
    ``seed``): points lost there catch it; a check the solution fails too proves nothing and is left out."""
    passing = {r.name for r in baseline.results if r.max_score > 0 and r.score >= r.max_score - 1e-9}
    rows = []
    for mutant in made:
        key = mutant.mutation.key
        names = tuple(s.name for s in run.rubric.checks if key in s.check.grades and s.settings.points > 0
                      and s.name in passing)
        report = run(mutant.folder, seed=seed, checks=names) if names else Report(str(mutant.folder), [])
        lost = sum(r.max_score - r.score for r in report.results)
        rows.append(MutantRow(mutant.mutation.id, mutant.name, mutant.mutation.description,
                              ", ".join(names) or "none the solution passes", lost > 1e-9, round(lost, 4),
                              tuple(ids_in(p for r in report.results for p in r.parts)), mutant.mutation.diagnosis))
        progress(f"{mutant.mutation.id}: {'caught' if rows[-1].caught else 'MISSED'} ({lost:g} points)")
    return rows


def mutant_step(run: Grader, solution: Path, assignment: Assignment, baseline: Report, seed: int | None = None,
                progress: Callable[[str], None] = lambda _: None) -> tuple[Step, list[MutantRow]]:
    """Step 3: every mutant of the solution caught (see :func:`mutant_rows`)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        rows = mutant_rows(run, mutants(solution, assignment, Path(scratch)), baseline, seed, progress)
    caught = sum(r.caught for r in rows)
    named = [r for r in rows if r.expected]
    lines = [f"{caught} of {len(rows)} mutants caught (mutation score {caught / max(len(rows), 1):.0%}); "
             f"{sum(bool(r.named) for r in named)} of {len(named)} with a catalogue misconception named by it"]
    return Step("every mutant of the solution is caught", bool(rows) and caught == len(rows),
                time.monotonic() - started, lines), rows


def mutation_table(rows: list[MutantRow]) -> str:
    """The mutants as a Markdown table: caught or missed, points lost, the diagnosis given."""
    lines = ["| mutant | function | change | check(s) | caught | points lost | diagnosis |",
             "|---|---|---|---|---|---:|---|"]
    for r in rows:
        named = "" if r.expected is None else (f"`{r.expected}`" if r.named else f"not named (`{r.expected}` expected"
                                                + (f"; got {', '.join(r.diagnosed)}" if r.diagnosed else "") + ")")
        lines.append(f"| `{r.id}` | {r.function} | {r.description} | {r.checks} | "
                     f"{'yes' if r.caught else '**missed**'} | {r.lost:g} | {named} |")
    return "\n".join(lines)

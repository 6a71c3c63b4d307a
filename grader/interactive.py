"""Checking from inside a notebook: ``import grader; grader.check("backpropagation")`` (or ``grader.check()``).

What is graded is what the KERNEL holds: the cells it executed, in the order it executed them (IPython's input
history, so an edit that was run counts even when the notebook is not saved, and a cell never run does not), through
the same notebook conversion (top-level training code never runs) and the same sandboxed worker as ``autograde
check``. A module the kernel does not define is taken from its file in ``folder`` when there is one. The result shows
as an HTML table in Jupyter, VS Code and Colab (check, points, the first failure and its shrunk case), and as text
elsewhere.
"""
from __future__ import annotations

import ast
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assignment.declaration import Assignment, load_assignment
from .report.results import CheckResult, Report, points
from .submission.naming import match_modules

FIRST_FAILURE_CHARS = 1200


@dataclass
class CheckReport:
    """What :func:`check` graded: the report, shown as HTML in a notebook and as text elsewhere."""

    report: Report
    modules: list[str]
    cells: int
    shown_in: int | None = None
    """The kernel's execution count when this report was last displayed: a cell whose last line is
    ``grader.check(...)`` shows it once, not once by check() and again as the cell's result."""

    def _ipython_display_(self) -> None:
        from IPython.core.getipython import get_ipython
        from IPython.display import display

        shell = get_ipython()
        count = getattr(shell, "execution_count", None)
        if count is not None and count == self.shown_in:
            return
        self.shown_in = count
        display({"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True)

    def __repr__(self) -> str:
        from .report.terminal import render

        return f"{self._summary()}\n{render(self.report, student=True)}"

    def _summary(self) -> str:
        return (f"Graded {', '.join(self.modules)} as this kernel holds it: the {self.cells} cell(s) it executed, in "
                "the order it executed them (unsaved edits that ran count; cells never run do not).")

    def _repr_html_(self) -> str:
        rows = "".join(_row(result) for result in self.report.results)
        return (f"<div><p><b>autograde: {points(self.report.score)} / {points(self.report.max_score)}</b> &mdash; "
                f"{html.escape(self._summary())}</p>"
                "<table><thead><tr><th>check</th><th>result</th><th>points</th><th>first failure</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>"
                + (f"<p><b>{html.escape(self.report.not_final_reason())}</b></p>" if not self.report.final else "")
                + "".join(f"<p><small>{html.escape(note)}</small></p>" for note in self.report.notes) + "</div>")


def _row(result: CheckResult) -> str:
    from .report.feedback import short

    failure = next((p for p in result.parts if not p.passed), None)
    detail = short(result) if result.not_implemented or result.skipped or result.error else \
        (f"{failure.label}\n{failure.message}" if failure else "")
    shown = detail[:FIRST_FAILURE_CHARS] + ("\n..." if len(detail) > FIRST_FAILURE_CHARS else "")
    mark = {"passed": "&#9989; pass", "failed": "&#10060; fail", "skipped": "skipped", "error": "error"}[
        str(result.status)]
    return (f"<tr><td>{html.escape(result.title)}</td><td>{mark}</td>"
            f"<td>{points(result.score)} / {points(result.max_score)}</td>"
            f"<td><pre style='white-space: pre-wrap'>{html.escape(shown)}</pre></td></tr>")


def check(module: str | None = None, *, folder: str | Path = ".", assignment: str | None = None,
          data_root: str | None = None, sandbox: str = "auto", show: bool = True) -> CheckReport:
    """Grade the code this kernel executed as ``module`` (default: every module of the assignment whose functions
    it defines) and display the result. Raises RuntimeError outside an IPython kernel."""
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("grader.check() grades what a Jupyter, VS Code or Colab kernel executed; in a terminal, "
                           "run: autograde check (or python -m grader check)")
    declared = load_assignment(assignment)
    sources = executed_cells(shell)
    modules = [module] if module else defined_modules(sources, declared)
    if not modules:
        raise RuntimeError(f"this kernel defines none of the functions of {', '.join(declared.modules)}; pass the "
                           "module to check, e.g. grader.check(\"backpropagation\")")
    result = CheckReport(_grade(sources, modules, declared, Path(folder), data_root, sandbox, assignment), modules,
                         len(sources))
    if show:
        from IPython.display import display

        display(result)
    return result


def executed_cells(shell: Any) -> list[tuple[int, str]]:
    """(execution count, raw source) of every input this kernel ran, in the order it ran them."""
    return [(number, source) for number, source in enumerate(shell.history_manager.input_hist_raw) if source.strip()]


def defined_modules(sources: list[tuple[int, str]], assignment: Assignment) -> list[str]:
    """The modules whose graded functions the cells define (a module of given code or classes only is not)."""
    names = set()
    for _, source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return [module for module in assignment.modules
            if any(spec.module == module and spec.kind == "function" and names & {spec.name, *spec.aliases}
                   for spec in assignment.graded())]


def _grade(sources: list[tuple[int, str]], modules: list[str], assignment: Assignment, folder: Path,
           data_root: str | Path | None, sandbox: str, name: str | None) -> Report:
    from .checks.rubric import load_rubric
    from .options import GradingOptions
    from .pipeline import grade_one
    from .submission.notebooks import convert_sources

    with tempfile.TemporaryDirectory(prefix="autograde-kernel-") as scratch:
        submission = Path(scratch) / "submission"
        submission.mkdir()
        conversion = convert_sources("this kernel's cells", sources, assignment)
        for module in modules:
            (submission / f"{module}.py").write_text(conversion.source, encoding="utf-8")
        available = set(modules) | _copy_other_modules(folder, submission, assignment, modules)
        graded = {spec.key for spec in assignment.callables.values() if spec.module in modules}
        callables = {spec.key for spec in assignment.callables.values() if spec.module in available}
        chosen = tuple(spec.name for spec in load_rubric(assignment.rubric_path).checks if not spec.check.grades or
                       (set(spec.check.grades) & graded and set(spec.check.grades) <= callables))
        options = GradingOptions(assignment=name, data_root=str(data_root) if data_root else None, sandbox=sandbox,
                                 checks=chosen)
        report = grade_one(submission, options, assignment=assignment, notes=conversion.notes).report
    return _without_absent_modules(report, set(assignment.modules) - available)


def _without_absent_modules(report: Report, absent: set[str]) -> Report:
    """The report without the interface's complaints about modules this check did not ask about."""
    for result in report.results:
        if result.name == "interface":
            result.parts = tuple(p for p in result.parts if not any(p.label.startswith(f"{m}.py ") for m in absent))
    report.submission = "this kernel"
    return report


def _copy_other_modules(folder: Path, submission: Path, assignment: Assignment, done: list[str]) -> set[str]:
    """Copy the saved files of the modules the kernel does not hold (the other notebook, say); which were found."""
    from .submission.notebooks import convert

    found = set()
    for module, match in match_modules(folder, assignment.modules).found.items():
        if module in done:
            continue
        text = convert(match.path, assignment).source if match.path.suffix == ".ipynb" else \
            match.path.read_text(encoding="utf-8")
        (submission / f"{module}.py").write_text(text, encoding="utf-8")
        found.add(module)
    return found

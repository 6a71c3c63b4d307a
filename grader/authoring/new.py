"""``assignment new``: the declaration and rubric of a year's assignment, read from its solution (and template)
and completed by running the solution in the sandbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..assignment.declaration import AssignmentError, parse
from . import declare, probe, write
from .fitting import fit_to_solution
from .sources import read_folder


@dataclass
class Declaration:
    """What ``new`` produced: the texts, where they went (or the differences with what is there), what to fix."""

    draft: declare.Draft
    assignment_text: str
    rubric_text: str
    differences: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    template: Path | None = None
    """The template folder, copied beside the declaration (what the student kit ships)."""


def declare_assignment(name: str, solution: Path, template: Path | None = None, *,
                       sandbox: str = "auto") -> Declaration:
    """The declaration the solution implies, checked by :func:`grader.assignment.declaration.parse`, completed by a
    probe of the solution in the sandbox and narrowed to the case families the solution passes
    (:mod:`grader.authoring.fitting`). Raises SourceError/AssignmentError for an unreadable folder or declaration."""
    modules = read_folder(solution)
    draft = declare.draft(name, modules, read_folder(template) if template else None)
    if not draft.callables:
        raise AssignmentError(f"nothing in {solution} looks like the assignment's functions (backpropagation, "
                              "train, ...): is it the solution folder?")
    found = probe.probe(solution, parse(draft.raw(provisional=True), Path(solution)), sandbox=sandbox)
    for key, returns in found.returns.items():
        draft.callables[key].returns = returns
        draft.callables[key].returned = f"returned {found.shown[key]} on a 2-epoch problem"
    if len(found.mlp_sizes) >= 2:
        draft.mlp = {"sizes": found.mlp_sizes}
    elif "mlp" in draft.callables and not draft.mlp:
        draft.callables["mlp"].notes.append(
            f"TODO write [mlp] sizes = [input, hidden..., output]: neither {draft.callables['mlp'].name}'s source "
            "nor the model it built showed the widths of its linear layers (the packaged widths stand in)")
    declare.resolve_defaults(draft, found.defaults)
    parse(draft.raw(), Path(solution))
    fitted = fit_to_solution(draft, Path(solution), sandbox=sandbox)
    draft.notes += fitted.notes
    nothing = tuple(key for key, returns in found.returns.items() if returns == "nothing")
    problems = found.problems + [f"{check} is left out of the rubric: the solution fails it ({why})"
                                 for check, why in fitted.left_out.items()]
    return Declaration(draft, write.assignment_text(draft, str(solution), str(template) if template else None),
                       write.rubric_text(draft, nothing, fitted.left_out), problems=problems, template=template)


def write_declaration(declaration: Declaration, out: Path, force: bool = False) -> Declaration:
    """Write both files into ``out``, and the template's files into ``out/template/``; a file already there and
    different is kept, its diff recorded."""
    out.mkdir(parents=True, exist_ok=True)
    for file, text in (("assignment.toml", declaration.assignment_text), ("rubric.toml", declaration.rubric_text)):
        diff = write.write_or_compare(out / file, text, force)
        if diff:
            declaration.differences[file] = diff
    if declaration.template is not None:
        for name in write.copy_template(declaration.template, out / write.TEMPLATE_FOLDER, force):
            declaration.differences[f"{write.TEMPLATE_FOLDER}/{name}"] = "differs from the template given"
    return declaration

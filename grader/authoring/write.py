"""The declaration and rubric ``assignment new`` writes: commented TOML an instructor can read and edit.

The rubric is the packaged default's, cut to the checks the declaration can run (a check of a callable the
solution lacks, or gives, is left out; the mini-batch check only where the network takes batches), with the
points of a left-out backpropagation check given to the one-sample check and the rest spread over the others in
proportion, so that the total stays 100."""
from __future__ import annotations

import difflib
import json
import re
import shutil
from pathlib import Path

from ..assignment.declaration import DEFAULT_NAME, PACKAGED
from ..checks.registry import find_check
from .declare import Declared, Draft, Parameter

TEMPLATE_FOLDER = "template"
"""Where ``new`` copies the template, beside the declaration."""
HEADER = """\
# Declared by `autograde assignment new` from {source}.
# Every value below was read from the solution{template}; review it, fix the lines marked TODO (the grader cannot
# call what they name until you do), then prove it: autograde assignment verify {name} --solution ... --template ...
"""


def value(item: object) -> str:
    """``item`` as a TOML value (strings, numbers, booleans, lists of them)."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return repr(item)
    if isinstance(item, str):
        return json.dumps(item)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(v) for v in item) + "]"
    raise TypeError(f"no TOML for {item!r}")


def _line(key: str, item: object, comment: str = "") -> str:
    text = f"{key} = {value(item)}"
    return f"{text:<39} # {comment}" if comment else text


def assignment_text(draft: Draft, source: str, template: str | None) -> str:
    """The declaration file's text."""
    lines = [HEADER.format(source=source, template=f" and the template {template}" if template else "",
                           name=draft.name).rstrip()]
    if draft.todos:
        lines += [f"# {len(draft.todos)} line(s) below are marked TODO (verify fails until each is answered):"]
        lines += [f"#   {todo}" for todo in draft.todos]
    lines += [f"# {note}" for note in draft.notes]
    lines += [_line("name", draft.name), _line("title", draft.title), _line("rubric", "rubric.toml")]
    if template:
        lines.append(_line("template", TEMPLATE_FOLDER, f"a copy of {Path(template).name}/: the student kit's files"))
    if draft.helpers:
        lines.append(_line("helpers", draft.helpers, "the course's helpers the solution imports: stood in for"))
    lines += [_line("modules", draft.modules), ""]
    if draft.globals:
        readers = {name: [c.name for c in draft.callables.values()
                          if any(p.name == name and not p.in_template for p in c.parameters)]
                   for name in draft.globals}
        lines += ["[globals]"] + [_line(name, role, f"read by {', '.join(readers[name])}: the grader sets it")
                                  for name, role in draft.globals.items()] + [""]
    for table in ("data", "network", "mlp"):
        spec = getattr(draft, table)
        if spec:
            lines += [f"[{table}]"] + [_line(k, v, _comment(f"{table}.{k}", v)) for k, v in spec.items()] + [""]
    for c in draft.callables.values():
        lines += _callable_lines(c) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _comment(key: str, item: object) -> str:
    if key == "network.max_batch" and item == 1:
        return "the solution's backpropagation handles one sample at a time: no mini-batch check"
    if key == "data.dtype":
        return "torch.set_default_dtype(torch.float64) in the solution" if item == "float64" else \
            "torch's default (the solution never calls torch.set_default_dtype)"
    return COMMENTS.get(key, "")


COMMENTS = {
    "data.split_fraction_of": "what load_cifar's split parameter is the share of",
    "data.split_before_filtering": "the split is drawn from all ten classes, then filtered",
    "network.activations": "what the given network computes",
    "network.template_widths": "the networks the notebooks build",
    "network.max_batch": "set 1 where the template promises one sample at a time (no mini-batch check then)",
    "mlp.sizes": "built in the sandbox",
}


def _callable_lines(c: Declared) -> list[str]:
    how = "by its name" if c.found_by == "name" else f"because {c.found_by}"
    lines = [f"[callables.{c.key}]", f"# {c.name} was found {how}."] + [f"# {note}" for note in c.notes]
    lines += [_line("module", c.module), _line("name", c.name)]
    if c.kind == "class":
        lines.append(_line("kind", "class"))
    if c.given:
        lines.append(_line("given", True))
    if c.key != "network":
        lines.append(_line("returns", c.returns, c.returned))
    if c.aliases:
        lines.append(_line("aliases", list(c.aliases)))
    if c.parameters:
        lines += ["parameters = ["] + [_parameter_line(p) for p in c.parameters] + ["]"]
    return lines


def _parameter_line(p: Parameter) -> str:
    fields = ([f"role = {value(p.role)}"] if p.role else []) + [f"name = {value(p.name)}"]
    if p.default is not None:
        fields.append(f"default = {value(p.default)}")
    if not p.in_template:
        fields.append("in_template = false")
    text = f"    {{ {', '.join(fields)} }},"
    if p.todo:
        return f"    # TODO {p.todo}\n{text}"
    if not p.role and p.default is not None:
        return f"{text:<60} # kept at its default"
    return text


# ---------------------------------------------------------------- the rubric

def applicable_checks(draft: Draft) -> list[str]:
    """The default rubric's checks this declaration can run, in its order."""
    graded = {key for key, c in draft.callables.items() if not c.given}
    batches = int(str(draft.network.get("max_batch", 8))) > 1
    names = []
    for name in _blocks(_default_rubric()):
        needs = find_check(name).grades
        if needs and not (set(needs) & graded if name in ("rules", "accuracy") else set(needs) <= graded):
            continue
        if name == "backpropagation_mini_batch" and not batches:
            continue
        names.append(name)
    return names


def rubric_text(draft: Draft, returns_nothing: tuple[str, ...] = (), left_out: dict[str, str] | None = None) -> str:
    """The rubric file's text: the default rubric's blocks of the applicable checks (but those ``left_out``, each
    said in a comment with why), points summing to 100."""
    text = _default_rubric()
    blocks = _blocks(text)
    left_out = left_out or {}
    kept = [name for name in applicable_checks(draft) if name not in left_out]
    points = _points({name: _points_of(block) for name, block in blocks.items()}, kept)
    start = re.search(r"(?m)^\[checks\.", text)
    head = text[:start.start() if start else 0]
    head = head.replace(f'(assignment "{DEFAULT_NAME}")', f'(assignment "{draft.name}")')
    body = []
    for name in kept:
        block = re.sub(r"^points = \d+(\.\d+)?", f"points = {points[name]:g}", blocks[name], count=1, flags=re.M)
        if name in returns_nothing:
            block = re.sub(r"^history_share = [0-9.]+ *(#.*)?$", "history_share = 0              # returns nothing",
                           block, flags=re.M)
        body.append(block.rstrip())
    notes = [f"# [checks.{name}] left out by `assignment new`: the solution fails it ({why})"
             for name, why in left_out.items()]
    return head + "\n".join(notes + body) + "\n"


def _default_rubric() -> str:
    return (PACKAGED / DEFAULT_NAME / "rubric.toml").read_text(encoding="utf-8")


def _blocks(text: str) -> dict[str, str]:
    """Each ``[checks.NAME]`` table of a rubric's text, with the comment lines that follow it."""
    parts = re.split(r"(?m)^(?=\[checks\.)", text)[1:]
    return {re.match(r"\[checks\.(\w+)\]", part).group(1): re.sub(r"(?m)^# \[checks.*\n(#.*\n)*", "", part)  # type: ignore[union-attr]
            for part in parts}


def _points_of(block: str) -> float:
    found = re.search(r"(?m)^points = (\d+(?:\.\d+)?)", block)
    return float(found.group(1)) if found else 0.0


def _points(default: dict[str, float], kept: list[str]) -> dict[str, float]:
    points = {name: default[name] for name in kept}
    left_out = {name: p for name, p in default.items() if name not in kept}
    if "backpropagation_one_sample" in points:
        points["backpropagation_one_sample"] += left_out.pop("backpropagation_mini_batch", 0.0)
    spare = sum(left_out.values())
    paying = [name for name in kept if points[name] > 0]
    if spare and paying:
        total = sum(points[name] for name in paying)
        for name in paying:
            points[name] = round(points[name] + spare * points[name] / total)
        largest = max(paying, key=lambda name: points[name])
        points[largest] += round(sum(default.values()) - sum(points.values()))
    return points


def copy_template(template: Path, target: Path, force: bool) -> list[str]:
    """Copy the template's files (its top level: notebooks, modules, the course's helpers; no hidden files, no
    caches) into ``target``; a file already there and different is kept unless ``force``. The names kept."""
    target.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in sorted(template.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.suffix in (".pyc", ".zip"):
            continue
        copy = target / path.name
        if copy.is_file() and copy.read_bytes() != path.read_bytes() and not force:
            kept.append(path.name)
            continue
        shutil.copyfile(path, copy)
    return kept


def write_or_compare(path: Path, text: str, force: bool) -> str | None:
    """Write ``text`` to ``path``; where a different file is already there (and not ``force``), leave it and return
    the unified diff instead (None when written or unchanged)."""
    if path.is_file() and not force:
        old = path.read_text(encoding="utf-8")
        if old == text:
            return None
        return "".join(difflib.unified_diff(old.splitlines(True), text.splitlines(True), f"{path} (yours)",
                                            f"{path} (from the solution)"))
    path.write_text(text, encoding="utf-8")
    return None

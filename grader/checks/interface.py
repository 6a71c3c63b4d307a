"""The submission's shape, as the assignment declares it (feedback first; a course may give it points).

- ``interface``: both modules import; each graded function and class is found (under its name, an accepted alias,
  or, for a class, as the one buildable nn.Module subclass) and can be called with the assignment's values. What
  the submission printed while being imported is this check's output.
- ``signatures``: each signature is the template's (names, order, defaults); 0 points by default, so a course
  that wants students to keep the template's signatures can charge for it, and nobody else does.
"""
from __future__ import annotations

from typing import Any

from ..assignment.binding import NO_DEFAULT, StudentParameter, described_signature, literal
from ..assignment.declaration import Callable
from ..outcomes import FailureKind
from ..report.results import Part
from .base import Context, failed_call
from .registry import Check


def run_interface(ctx: Context) -> list[Part]:
    reply = ctx.host.description()
    if reply.output:
        ctx.outputs.append(reply.output)  # what the submission printed while it was imported
    if not reply.ok:
        return [failed_call("both modules import", "import", reply.failure)]
    modules = reply.value["modules"]
    parts = [_imports(module, modules[module]) for module in modules]
    return parts + [_callable(ctx, spec) for spec in ctx.assignment.graded() if "error" not in modules[spec.module]]


def _imports(module: str, description: dict[str, Any]) -> Part:
    label = f"{description.get('file') or f'{module}.py'} imports"
    if "error" not in description:
        return Part.ok(label)
    message = f"{description['error']}\n{description.get('traceback', '')}".strip()
    return Part.fail(label, message, FailureKind.IMPORT)


def _callable(ctx: Context, spec: Callable) -> Part:
    label = f"{spec.module} defines {spec.signature()}, callable with the assignment's arguments"
    found = ctx.host.found(spec.key) or {}
    if "missing" in found:
        return Part.fail(label, found["missing"], FailureKind.IMPORT, details={"function": spec.name})
    binding = ctx.host.binding(spec.key)
    if binding is None:
        return Part.fail(label, f"the signature of {found.get('name', spec.name)} cannot be read.")
    if not binding.callable:
        return Part.fail(label, f"{found['name']} has required parameter(s) {', '.join(binding.unfilled)} that the "
                         "assignment does not provide: give them a default value or remove them.",
                         FailureKind.BINDING, details={"function": spec.name})
    return Part.ok(label)


def run_signatures(ctx: Context) -> list[Part]:
    if not ctx.host.description().ok:
        return [failed_call("both modules import", "import", ctx.host.description().failure)]
    return [_signature(ctx, spec) for spec in ctx.assignment.graded()]


def _signature(ctx: Context, spec: Callable) -> Part:
    label = f"{spec.module}.{spec.signature()} as in the template"
    found = ctx.host.found(spec.key)
    if not found or "parameters" not in found or found["parameters"] is None:
        return Part.fail(label, f"{spec.name} could not be found or read.", details={"function": spec.name})
    described = [StudentParameter.from_description(p) for p in found["parameters"]]
    problem = _difference(spec, found["name"], described)
    return Part.fail(label, problem, details={"function": spec.name}) if problem else Part.ok(label)


def _difference(spec: Callable, name: str, described: list[StudentParameter]) -> str | None:
    written = described_signature(name, described)
    if name != spec.name:
        return f"{written}: the template calls it {spec.name}."
    got = [(p.name, p.default) for p in described if p.kind not in ("VAR_POSITIONAL", "VAR_KEYWORD")]
    expected = [(p.name, p.default) for p in spec.parameters if p.in_template]
    if [n for n, _ in got] != [n for n, _ in expected]:
        return f"{written}; the template's is {spec.signature()}."
    for (parameter, default), (_, wanted) in zip(got, expected):
        if not _same_default(default, wanted):
            shown = "no default" if default is None else f"default {default}"
            return f"{written}: parameter {parameter!r} has {shown}; the template's is {wanted or 'required'}."
    return None


def _same_default(got: str | None, wanted: str | None) -> bool:
    """The same default value, however written (``1e-2`` and ``0.01``)."""
    if got == wanted:
        return True
    value, expected = literal(got), literal(wanted)
    if value is NO_DEFAULT or expected is NO_DEFAULT:
        return False
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return bool(value == expected)


CHECKS = (Check("interface", "Interface: modules import, graded functions and classes found and callable",
                run_interface),
          Check("signatures", "Signatures: as in the template (names, order, defaults)", run_signatures))

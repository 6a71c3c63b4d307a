"""Both modules import, and every contract name exists with the contract's signature (feedback only).
What the submission printed while being imported is this check's output."""
from __future__ import annotations

import ast

from ..contract import CONTRACT, REQUIRED, Entry
from ..kinds import FailureKind
from ..report.results import Part
from .base import Context, failed_call
from .registry import Check


def run(ctx: Context) -> list[Part]:
    reply = ctx.host.description()
    if reply.output:
        ctx.outputs.append(reply.output)  # what the submission printed while it was imported
    if not reply.ok:
        return [failed_call("both modules import", "import", reply.failure)]
    described = reply.value
    parts = [_imports(module, described[module]) for module in described]
    parts += [_signature(entry, described[entry.module]["names"]) for entry in CONTRACT
              if "error" not in described[entry.module]]
    return parts


def _imports(module: str, description: dict) -> Part:
    label = f"{module}.py imports"
    if "error" not in description:
        return Part.ok(label)
    message = f"{description['error']}\n{description.get('traceback', '')}".strip()
    return Part.fail(label, message, FailureKind.IMPORT)


def _signature(entry: Entry, names: dict) -> Part:
    label = f"{entry.module}.{entry.signature()}"
    problem = _mismatch(entry, names)
    return Part.fail(label, problem) if problem else Part.ok(label)


def _mismatch(entry: Entry, names: dict) -> str | None:
    if entry.name not in names:
        return f"{entry.module}.py does not define {entry.name}."
    found = names[entry.name]
    if found["kind"] != entry.kind:
        return f"{entry.name} should be a {entry.kind}, but it is a {found['kind']}."
    if found["parameters"] is None:
        return f"the signature of {entry.name} cannot be read."
    got = [(name, REQUIRED if default is None else default) for name, kind, default in found["parameters"]
           if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")]
    expected = list(entry.parameters)
    if [n for n, _ in got] != [n for n, _ in expected]:
        return (f"parameters are ({', '.join(n for n, _ in got)}); the contract says "
                f"({', '.join(n for n, _ in expected)}).")
    for (name, default), (_, wanted) in zip(got, expected):
        if not _same_default(default, wanted):
            shown = "no default" if default == REQUIRED else f"default {default}"
            return f"parameter {name!r} has {shown}; the contract says {wanted}."
    return None


def _same_default(got: str, wanted: str) -> bool:
    if got == wanted:
        return True
    try:
        return ast.literal_eval(got) == ast.literal_eval(wanted)
    except (ValueError, SyntaxError):
        return False


CHECKS = (Check("interface", "Interface: modules import, contract names and signatures", run),)

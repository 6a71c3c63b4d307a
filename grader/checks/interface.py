"""Check 1: both modules import, and every contract name exists with the contract's signature."""
from __future__ import annotations

import ast

from ..contract import CONTRACT, REQUIRED, Entry
from ..report.results import Part
from .base import Context, failure_text

TITLE = "Interface: modules import, contract names and signatures"


def run(ctx: Context):
    reply = ctx.call("ping", {})
    if not reply.ok:
        return ctx.from_parts(TITLE, [Part("both modules import", False, failure_text("import", reply.failure))])
    described = ctx.host.load_reply.value
    parts = [Part(f"{module}.py imports", "error" not in described[module],
                  f"{described[module].get('error', '')}\n{described[module].get('traceback', '')}".strip())
             for module in described]
    parts += [Part(f"{entry.module}.{entry.signature()}", *_matches(entry, described[entry.module]["names"]))
              for entry in CONTRACT if "error" not in described[entry.module]]
    return ctx.from_parts(TITLE, parts)


def _matches(entry: Entry, names: dict) -> tuple[bool, str]:
    if entry.name not in names:
        return False, f"{entry.module}.py does not define {entry.name}."
    found = names[entry.name]
    if found["kind"] != entry.kind:
        return False, f"{entry.name} should be a {entry.kind}, but it is a {found['kind']}."
    if found["parameters"] is None:
        return False, f"the signature of {entry.name} cannot be read."
    got = [(name, REQUIRED if default is None else default) for name, kind, default in found["parameters"]
           if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY")]
    expected = list(entry.parameters)
    if [n for n, _ in got] != [n for n, _ in expected]:
        return False, (f"parameters are ({', '.join(n for n, _ in got)}); the contract says "
                       f"({', '.join(n for n, _ in expected)}).")
    for (name, default), (_, wanted) in zip(got, expected):
        if not _same_default(default, wanted):
            shown = "no default" if default == REQUIRED else f"default {default}"
            return False, f"parameter {name!r} has {shown}; the contract says {wanted}."
    return True, ""


def _same_default(got: str, wanted: str) -> bool:
    if got == wanted:
        return True
    try:
        return ast.literal_eval(got) == ast.literal_eval(wanted)
    except (ValueError, SyntaxError):
        return False

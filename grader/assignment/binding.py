"""Binding the grader's values to the signature a student actually wrote, by the ROLE each parameter plays.

Students start from a template and change it: they rename parameters (``learning_rate`` for ``lr``), reorder them,
add their own with defaults (``verbose=False``) or drop one they do not use. A call is bound like a careful teaching
assistant would read it:

1. a parameter with the template's name takes that role;
2. then a parameter with one of the role's aliases (the declaration's, then the common ones of
   :mod:`grader.assignment.roles`), compared without case, underscores or dashes;
3. then, in order, what is left of the template's roles takes what is left of the student's positional
   parameters, skipping a parameter whose default cannot mean that role (``verbose=False`` never takes a loader);
4. parameters left over keep their defaults, except that one the grader knows how to fill
   (:data:`grader.assignment.roles.FILLS`:
   a validation loader, an identity preprocessor, ``verbose``, a seed, ...) gets that value when it is required or
   its default is a notebook value that was not run; a required one left over that no fill matches makes the
   function uncallable (named);
5. a role left without a parameter is simply not passed when the grader's value is the template's default (or the
   role may come from a global, such as ``device``); otherwise that call cannot be made, and says why.

Pure data in, pure data out: the grader binds from the signature the worker described (for its reports), and the
worker binds the same way before it calls (see :func:`call_arguments`). Imports nothing heavy.
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .roles import FILL_DESCRIPTIONS, OPTIONAL_ROLES, ROLES, fill_for, normalised

POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
NAMED = (*POSITIONAL, "KEYWORD_ONLY")
NO_DEFAULT = object()
LEFT_OUT = "<left out: "
"""How the worker describes a default that is a notebook value the grader did not run (``<left out: normalizer>``)."""
TEMPLATE_DEFAULT = "="
"""A fill that starts with this passes the template's default (Python source follows)."""


@dataclass(frozen=True)
class Declared:
    """A parameter as an assignment declares it: its role, the template's name and default (None: required)."""

    role: str
    """"" for a template parameter the grader never passes (e.g. a ``preprocessor``): it keeps its default."""
    name: str
    default: str | None = None
    aliases: tuple[str, ...] = ()
    in_template: bool = True
    """False for a role the template does not have but a student may add (bound by name or alias only)."""

    @property
    def key(self) -> str:
        """What the binding records it under: its role, or ``=name`` for a parameter without one."""
        return self.role or f"={self.name}"

    def shown(self) -> str:
        return self.name if self.default is None else f"{self.name}={self.default}"


@dataclass(frozen=True)
class StudentParameter:
    """A parameter as the worker described it: name, inspect's kind name, repr of its default (None: required)."""

    name: str
    kind: str
    default: str | None

    @classmethod
    def from_description(cls, item: Sequence[Any]) -> StudentParameter:
        name, kind, default = item
        return cls(str(name), str(kind), None if default is None else str(default))


@dataclass(frozen=True)
class Binding:
    """Which student parameter plays each role, and what could not be matched."""

    bound: tuple[tuple[str, str, str], ...]
    """(role, student parameter, how: "name", "alias" or "position"), in the template's order."""
    missing: tuple[str, ...] = ()
    """Roles the function has no parameter for."""
    unfilled: tuple[str, ...] = ()
    """The student's required parameters that no role fills: the function cannot be called."""
    extras: tuple[str, ...] = ()
    """The student's parameters with defaults that no role fills: they keep their defaults."""
    positional_only: tuple[str, ...] = ()
    var_keyword: bool = False
    filled: tuple[tuple[str, str], ...] = ()
    """(student parameter, what the grader gives it: a key of :data:`grader.assignment.roles.FILLS`, or ``=`` and the
    template's default): parameters the student requires, or whose default was not run, that the grader fills."""

    def parameter(self, role: str) -> str | None:
        """The student's parameter that plays ``role`` (None when none does)."""
        return next((name for bound_role, name, _ in self.bound if bound_role == role), None)

    def has(self, role: str) -> bool:
        return self.parameter(role) is not None or self.var_keyword

    @property
    def callable(self) -> bool:
        return not self.unfilled

    def to_dict(self) -> dict[str, Any]:
        return {"bound": [list(b) for b in self.bound], "missing": list(self.missing),
                "unfilled": list(self.unfilled), "extras": list(self.extras), "filled": [list(f) for f in self.filled]}


class BindingError(Exception):
    """A call cannot be made with the student's signature; the message says why, for the student."""


def bind(declared: Sequence[Declared], described: Sequence[StudentParameter]) -> Binding:
    """Match the declared roles to the student's parameters (see the module's docstring for the rules)."""
    named = [p for p in described if p.kind in NAMED]
    taken: dict[str, tuple[str, str]] = {}  # role -> (parameter, how)
    used: set[str] = set()

    def take(role: str, parameter: str, how: str) -> None:
        taken[role] = (parameter, how)
        used.add(parameter)

    for entry in declared:
        if entry.name and any(p.name == entry.name for p in named):
            take(entry.key, entry.name, "name")
    for entry in declared:
        if entry.key not in taken and entry.role:
            found = next((p for p in named if p.name not in used and _is_alias(p.name, entry)), None)
            if found is not None:
                take(entry.key, found.name, "alias")
    _bind_by_position(declared, named, taken, used, take)
    left = [p for p in named if p.name not in used]
    filled = _fills(declared, {p.name: p for p in named}, taken, left)
    filled_names = {name for name, _ in filled}
    return Binding(
        bound=tuple((e.key, *taken[e.key]) for e in declared if e.key in taken),
        missing=tuple(e.key for e in declared if e.key not in taken),
        unfilled=tuple(p.name for p in left if p.default is None and p.name not in filled_names),
        extras=tuple(p.name for p in left if p.default is not None and p.name not in filled_names),
        positional_only=tuple(p.name for p in named if p.kind == "POSITIONAL_ONLY"),
        var_keyword=any(p.kind == "VAR_KEYWORD" for p in described), filled=filled)


def is_left_out(default: str | None) -> bool:
    """Whether a described default is a notebook value the grader did not run."""
    return default is not None and default.startswith(LEFT_OUT)


def _fills(declared: Sequence[Declared], by_name: dict[str, StudentParameter], taken: dict[str, tuple[str, str]],
           left: list[StudentParameter]) -> tuple[tuple[str, str], ...]:
    """What the grader gives the student's parameters that would otherwise have no usable value: a parameter no
    role took that is required or whose default was not run (when a fill matches its name); a template parameter
    without a role whose default was not run (the template's default); a required validation loader."""
    filled = [(p.name, fill) for p in left
              if (p.default is None or is_left_out(p.default)) and (fill := fill_for(p.name)) is not None]
    for entry in declared:
        parameter = by_name.get(taken[entry.key][0]) if entry.key in taken else None
        if parameter is None:
            continue
        if not entry.role and is_left_out(parameter.default) and entry.default is not None:
            filled.append((parameter.name, TEMPLATE_DEFAULT + entry.default))
        elif entry.role == "val_loader" and parameter.default is None:
            filled.append((parameter.name, "val_loader"))
    return tuple(filled)


def _is_alias(name: str, entry: Declared) -> bool:
    names = {entry.name, entry.role, *entry.aliases, *ROLES.get(entry.role, ())}
    return normalised(name) in {normalised(n) for n in names if n}


def _bind_by_position(declared: Sequence[Declared], named: list[StudentParameter], taken: dict[str, tuple[str, str]],
                      used: set[str], take: Callable[[str, str, str], None]) -> None:
    roles = [e for e in declared if e.key not in taken and e.in_template and e.role]
    for parameter in (p for p in named if p.kind in POSITIONAL and p.name not in used):
        entry = next((e for e in roles if _compatible(parameter.default, e.default)), None)
        if entry is not None:
            roles.remove(entry)
            take(entry.key, parameter.name, "position")


def _compatible(student_default: str | None, template_default: str | None) -> bool:
    """Whether a parameter with ``student_default`` can play a role whose template default is ``template_default``
    (a flag such as ``verbose=False`` cannot be a number, a loader or a device)."""
    if student_default is None or template_default is None:
        return True
    return _kind(student_default) == _kind(template_default) or "other" in (_kind(student_default),
                                                                             _kind(template_default))


def _kind(default: str) -> str:
    value = literal(default)
    if value is NO_DEFAULT:
        return "other"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "none"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else "other"


def literal(text: str | None) -> Any:
    """The value a default's repr stands for (NO_DEFAULT when it is not a plain literal)."""
    if text is None:
        return NO_DEFAULT
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return NO_DEFAULT


def call_arguments(function: str, declared: Sequence[Declared], binding: Binding, values: dict[str, Any],
                   fills: dict[str, Any] | None = None) -> tuple[list[Any], dict[str, Any]]:
    """(args, kwargs) that pass each role's value in ``values`` to the student's parameter for it, and each filled
    parameter its fill (``fills``: the worker's values by :data:`grader.assignment.roles.FILLS` key; the template's
    default for a ``=`` fill).

    Raises BindingError, worded for the student, when a required parameter of the student's has no role, or when a
    role with a value other than the template's default has no parameter (a role the grader may set as a global,
    such as ``device``, is then left out).
    """
    if binding.unfilled:
        raise BindingError(f"{function} has required parameter(s) {', '.join(binding.unfilled)} that the assignment "
                           "does not provide; give them a default value or remove them.")
    by_role = {entry.role: entry for entry in declared if entry.role}
    kwargs: dict[str, Any] = {}
    for role, value in values.items():
        entry = by_role.get(role)
        if entry is None:
            continue
        parameter = binding.parameter(role)
        if parameter is not None:
            kwargs[parameter] = value
        elif binding.var_keyword and entry.name and entry.in_template:
            kwargs[entry.name] = value
        elif role not in OPTIONAL_ROLES and not _is_default(value, entry):
            raise BindingError(missing_role_message(function, entry, value))
    for parameter, fill in binding.filled:
        kwargs[parameter] = literal(fill[1:]) if fill.startswith(TEMPLATE_DEFAULT) else (fills or {}).get(fill)
    args = []
    for index, name in enumerate(binding.positional_only):
        if name not in kwargs:
            if any(later in kwargs for later in binding.positional_only[index:]):
                raise BindingError(f"{function}'s positional-only parameter {name} has no value the grader can give, "
                                   "so the ones after it cannot be passed.")
            break
        args.append(kwargs.pop(name))
    return args, kwargs


def _is_default(value: Any, entry: Declared) -> bool:
    default = literal(entry.default)
    if default is NO_DEFAULT:
        return entry.default is not None and value is None
    try:
        return type(value) in (int, float, bool, str, type(None)) and value == default
    except Exception:  # a value whose comparison raises is not the default
        return False


def missing_role_message(function: str, entry: Declared, value: Any) -> str:
    """Why ``function`` cannot be called with ``value`` for ``entry``'s role (no parameter plays it)."""
    usual = [name for name in (entry.role, *entry.aliases, *ROLES.get(entry.role, ())) if name != entry.name][:4]
    return (f"{function} has no parameter for the template's {entry.name!r} (none is called {entry.name}"
            + (f", nor {', '.join(usual)}" if usual else "") + f"), so it cannot be called with "
            f"{entry.name}={value!r}. This part needs that value; the parts that use the default are graded.")


def describe_fill(fill: str) -> str:
    """What the grader gave a filled parameter, in words."""
    if fill.startswith(TEMPLATE_DEFAULT):
        return f"the template's default, {fill[len(TEMPLATE_DEFAULT):]}"
    return FILL_DESCRIPTIONS.get(fill, fill)


def described_signature(function: str, described: Sequence[StudentParameter]) -> str:
    """``function(a, b=1, *args, **kwargs)`` as the student wrote it."""
    shown = []
    for p in described:
        prefix = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(p.kind, "")
        shown.append(prefix + p.name + ("" if p.default is None else f"={p.default}"))
    return f"{function}({', '.join(shown)})"


def binding_note(function: str, declared: Sequence[Declared], binding: Binding,
                 described: Sequence[StudentParameter]) -> str | None:
    """One line saying how a signature that differs from the template was bound (None when it does not differ)."""
    template = [e for e in declared if e.in_template]
    same = ([p.name for p in described if p.kind in NAMED] == [e.name for e in template]
            and all(how == "name" for _, _, how in binding.bound))
    if same and not binding.unfilled and not binding.filled:
        return None
    names = {e.key: e.name for e in declared}
    said = [f"{parameter} as {names[role]}" for role, parameter, how in binding.bound
            if how != "name" or parameter != names[role]]
    if binding.extras:
        said.append(f"{', '.join(binding.extras)} kept {'its' if len(binding.extras) == 1 else 'their'} default")
    said += [f"{parameter} was given {describe_fill(fill)}" for parameter, fill in binding.filled]
    template_missing = [names[k] for k in binding.missing if any(e.key == k and e.in_template for e in declared)]
    if template_missing:
        said.append(f"no parameter for {', '.join(template_missing)} (only its default can be used)")
    if binding.unfilled:
        said.append(f"required {', '.join(binding.unfilled)} has no value the grader can give (cannot be called)")
    how = "; ".join(said) if said else "same parameters, in another order (passed by name)"
    return f"{described_signature(function, described)} differs from the template: {how}."

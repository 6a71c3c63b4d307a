"""Worker side: find the student's version of each declared function and class, describe it, and call it with the
grader's values bound by role (:mod:`grader.assignment.binding`). Runs only in the worker, on the submission's modules.

A function is found by its declared name, then by a declared alias. A class likewise, and else as the one
``nn.Module`` subclass its module defines that builds without arguments (students rename the template's class).
Module-level names the template provides (``device``) are set by the grader before every call.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
from types import ModuleType
from typing import Any

import torch

from grader.assignment.binding import LEFT_OUT, Binding, StudentParameter, bind, call_arguments
from grader.assignment.declaration import Assignment, Callable
from grader.submission.notebooks import LeftOut

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

_found: dict[str, tuple[Any, str, str]] = {}
"""Callable key -> (the student's object, the name it was found under, how: "name", "alias" or "discovered")."""
_bound: dict[str, Binding] = {}
"""Callable key -> how its roles bind to the student's signature (bound once: the signature does not change)."""


class SubmissionImportError(Exception):
    """A submission module that failed to import is needed by this call."""


class NotDefined(Exception):
    """The submission does not define a declared callable; the message says what was looked for."""


def reset() -> None:
    _found.clear()
    _bound.clear()


def module_of(name: str, import_errors: dict[str, str]) -> ModuleType:
    """The imported submission module ``name``; SubmissionImportError when it did not import."""
    if name in import_errors:
        raise SubmissionImportError(import_errors[name])
    return sys.modules.get(name) or importlib.import_module(name)


def find(spec: Callable, import_errors: dict[str, str]) -> tuple[Any, str, str]:
    """(object, name found under, how) for a declared callable; NotDefined when the submission has none."""
    if spec.key in _found:
        return _found[spec.key]
    module = module_of(spec.module, import_errors)
    for how, names in (("name", (spec.name,)), ("alias", spec.aliases)):
        for name in names:
            if _is_kind(getattr(module, name, None), spec.kind):
                _found[spec.key] = (getattr(module, name), name, how)
                return _found[spec.key]
    if spec.kind == "function":
        method = _method_in_a_class(module, spec)
        if method is not None:
            _found[spec.key] = method
            return method
    if spec.kind == "class":
        candidates = _buildable_modules(module)
        if len(candidates) == 1:
            _found[spec.key] = (candidates[0], candidates[0].__name__, "discovered")
            return _found[spec.key]
        listed = f" It defines {len(candidates)}: {', '.join(c.__name__ for c in candidates)}." if candidates else ""
        raise NotDefined(f"{spec.module} defines no class {spec.name}" + _aliases(spec) + " and not exactly one "
                         f"nn.Module subclass that builds without arguments.{listed}")
    raise NotDefined(f"{spec.module} defines no function {spec.name}" + _aliases(spec) + ".")


def _method_in_a_class(module: ModuleType, spec: Callable) -> tuple[Any, str, str] | None:
    """A graded function the student wrote inside one of their classes (``def backpropagation(self, y_true, y_pred)``
    in MyNet): that function, graded as the top-level one with its first parameter in the place of the template's
    first (``self`` stands for ``model``), found "in class NAME"; None when no class holds exactly one."""
    classes = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__]
    found = [(cls, vars(cls)[name]) for cls in classes for name in (spec.name, *spec.aliases)
             if inspect.isfunction(vars(cls).get(name)) or isinstance(vars(cls).get(name), staticmethod)]
    if len(found) != 1:
        return None
    cls, value = found[0]
    function = value.__func__ if isinstance(value, staticmethod) else value
    if isinstance(value, staticmethod) or not spec.parameters:
        return function, f"{cls.__name__}.{function.__name__}", f"in class {cls.__name__}"
    return _as_function(function, spec.parameters[0].name), f"{cls.__name__}.{function.__name__}", \
        f"in class {cls.__name__}"


def _as_function(method: Any, first: str) -> Any:
    """``method`` callable as a function whose first parameter is called ``first`` (``self`` renamed)."""
    signature = inspect.signature(method)
    parameters = list(signature.parameters.values())

    def function(*args: Any, **kwargs: Any) -> Any:
        if first in kwargs:
            args = (kwargs.pop(first), *args)
        return method(*args, **kwargs)

    if parameters:
        parameters[0] = parameters[0].replace(name=first)
    function.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    function.__name__, function.__qualname__ = method.__name__, method.__qualname__
    function.__wrapped__ = method  # type: ignore[attr-defined]  # is_stub reads the student's own body
    return function


def _aliases(spec: Callable) -> str:
    return f" (nor {', '.join(spec.aliases)})" if spec.aliases else ""


def _is_kind(obj: object, kind: str) -> bool:
    """Anything callable counts under a declared name (a function that builds the model stands for a class)."""
    return callable(obj) and not inspect.ismodule(obj)


def _buildable_modules(module: ModuleType) -> list[type]:
    """The nn.Module subclasses ``module`` itself defines that can be built without arguments."""
    found = []
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module) and obj.__module__ == module.__name__:
            try:
                obj()
            except Exception:  # a class that needs arguments (or is broken) is not the graded MLP
                continue
            found.append(obj)
    return found


def parameters(obj: Any) -> list[list[Any]] | None:
    """[name, kind, repr(default) or None] of each parameter of ``obj`` (None when unreadable)."""
    try:
        return [[p.name, p.kind.name, None if p.default is p.empty else _safe_repr(p.default)]
                for p in inspect.signature(obj).parameters.values()]
    except (TypeError, ValueError):
        return None


def _safe_repr(value: object) -> str:
    """A default as reports show it: a notebook value that was not run as ``<left out: NAME>``, never a memory
    address."""
    if isinstance(value, LeftOut):
        return f"{LEFT_OUT}{value.__dict__['_name']}>"
    try:
        return ADDRESS.sub("", repr(value))[:200]
    except Exception:  # a default whose repr raises
        return f"<{type(value).__name__}>"


def describe(assignment: Assignment, import_errors: dict[str, str]) -> dict[str, dict[str, Any]]:
    """For each declared callable: where it was found and its parameters, or why it is missing (plain data)."""
    described: dict[str, dict[str, Any]] = {}
    for spec in assignment.callables.values():
        if spec.module in import_errors:
            continue
        try:
            obj, name, how = find(spec, import_errors)
        except NotDefined as missing:
            described[spec.key] = {"missing": str(missing)}
            continue
        described[spec.key] = {"name": name, "how": how, "kind": "class" if inspect.isclass(obj) else "function",
                               "parameters": parameters(obj)}
    return described


def set_globals(assignment: Assignment, device: str) -> None:
    """Give every submission module the module-level names the template provides (e.g. ``device``)."""
    values = {"device": torch.device(device)}
    for module_name in assignment.modules:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for name, role in assignment.globals.items():
            if role in values:
                setattr(module, name, values[role])


def call(assignment: Assignment, key: str, values: dict[str, Any], import_errors: dict[str, str],
         fills: dict[str, Any] | None = None) -> Any:
    """Call the student's version of ``key`` with ``values`` (by role) bound to its own signature, and ``fills``
    for the parameters the grader fills (see :func:`grader.assignment.binding.bind`)."""
    spec = assignment.callable(key)
    obj, name, _ = find(spec, import_errors)
    if key not in _bound:
        _bound[key] = bind(spec.parameters, [StudentParameter.from_description(p) for p in parameters(obj) or []])
    args, kwargs = call_arguments(name, spec.parameters, _bound[key], values, fills)
    if is_stub(obj):
        raise NotImplementedError(f"{name} is still the template's stub (its body does nothing)")
    return obj(*args, **kwargs)


def is_stub(function: Any) -> bool:
    """A template's placeholder: a function whose body is only a docstring, ``pass``, ``...``, empty results
    (``losses = []``) and ``return`` of one of those (``#TODO`` comments aside), as the course's templates hand them
    out."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None:
        return False
    if code not in _stubs:
        _stubs[code] = _stub_source(inspect.unwrap(function))
    return _stubs[code]


_stubs: dict[Any, bool] = {}


def _stub_source(function: Any) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    empties = {t.id for s in definition.body if isinstance(s, ast.Assign) and _empty(s.value)
               for t in s.targets if isinstance(t, ast.Name)}
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               or (isinstance(s, ast.Assign) and _empty(s.value))
               or (isinstance(s, ast.Return) and (s.value is None or _empty(s.value) or
                                                  (isinstance(s.value, ast.Name) and s.value.id in empties)))
               for s in definition.body)


def _empty(node: ast.expr) -> bool:
    """``None``, a constant, or an empty list, dict, tuple or set: what a stub hands back."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return not node.elts
    return isinstance(node, ast.Dict) and not node.keys

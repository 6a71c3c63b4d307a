"""Mutants of the instructor's solution: source-level transformations that write, into the solution's own code,
the mistakes the misconception catalogue knows (:mod:`grader.checks.diagnosis.catalogue`) and a few it does not.

Each mutation applies to one declared callable, found by its role names (the declaration says which parameter is
the momentum, the learning rate, ...) and by the shape of the code (``y_pred - y_true``, ``optimizer.step()``,
``p -= lr * step``); one that finds nothing to change is left out. A mutant is the solution folder with one
definition rewritten, in its .py file or its notebook cell, everything else as it was."""
from __future__ import annotations

import ast
import copy
import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..assignment.declaration import Assignment
from .sources import HELPER, module_name, notebook_code

Rewrite = Callable[[ast.AST, dict[str, str]], bool]
"""Change a definition in place (given the role -> parameter name map); False when nothing applies."""


@dataclass(frozen=True)
class Mutation:
    id: str
    key: str
    """The declared callable it changes."""
    description: str
    rewrite: Rewrite
    diagnosis: str | None = None
    """The catalogue's misconception that names it, where there is one."""
    needs_batches: bool = False


@dataclass(frozen=True)
class Mutant:
    mutation: Mutation
    folder: Path
    name: str
    """The definition it changed."""


# ---------------------------------------------------------------- small tree edits

def _calls_named(tree: ast.AST, *names: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and (n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")) in names]


def _mentions(node: ast.AST, name: str | None) -> bool:
    return name is not None and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _replace(tree: ast.AST, match: Callable[[ast.AST], bool], make: Callable[[ast.AST], ast.AST],
             first_only: bool = True) -> bool:
    """Replace the nodes ``match`` selects (the first, or all) by ``make(node)``."""
    done = False

    class Swap(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            nonlocal done
            if (not done or not first_only) and match(node):
                done = True
                made: ast.AST = make(node)
                return made
            visited: ast.AST = super().visit(node)
            return visited

    Swap().visit(tree)
    return done


def _statements(tree: ast.AST, match: Callable[[ast.stmt], bool], edit: Callable[[list[ast.stmt], int], None]) -> bool:
    """Apply ``edit(body, index)`` to each statement ``match`` selects (last first, so indices stay valid)."""
    found = [(body, i) for node in ast.walk(tree) for field in ("body", "orelse")
             if isinstance(body := getattr(node, field, None), list)
             for i, statement in enumerate(body) if isinstance(statement, ast.stmt) and match(statement)]
    for body, i in reversed(found):
        edit(body, i)
    return bool(found)


def _is_call_statement(statement: ast.stmt, *names: str) -> bool:
    return isinstance(statement, ast.Expr) and bool(_calls_named(statement, *names))


def _remove(body: list[ast.stmt], i: int) -> None:
    body[i] = ast.Pass()


def _duplicate(body: list[ast.stmt], i: int) -> None:
    body.insert(i + 1, copy.deepcopy(body[i]))


def _name_to(role: str, value: Callable[[str], ast.expr]) -> Rewrite:
    """Every read of the parameter playing ``role`` replaced by ``value(its name)``."""
    def rewrite(tree: ast.AST, roles: dict[str, str]) -> bool:
        target = roles.get(role)
        return target is not None and _replace(
            tree, lambda n: isinstance(n, ast.Name) and n.id == target and isinstance(n.ctx, ast.Load),
            lambda n: value(target), first_only=False)
    return rewrite


def _zero(name: str) -> ast.expr:
    return ast.Constant(0.0)


def _squared(name: str) -> ast.expr:
    return ast.BinOp(ast.Name(name, ast.Load()), ast.Mult(), ast.Name(name, ast.Load()))


# ---------------------------------------------------------------- backpropagation

def _sign_flipped(tree: ast.AST, roles: dict[str, str]) -> bool:
    def match(n: ast.AST) -> bool:
        return isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and _mentions(n.left, roles.get("y_pred")) \
            and _mentions(n.right, roles.get("y_true"))
    return _replace(tree, match, lambda n: ast.BinOp(n.right, ast.Sub(), n.left))  # type: ignore[attr-defined]


def _missing_factor_2(tree: ast.AST, roles: dict[str, str]) -> bool:
    def match(n: ast.AST) -> bool:
        return isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and any(
            isinstance(side, ast.Constant) and side.value in (2, 2.0) for side in (n.left, n.right))
    return _replace(tree, match, lambda n: n.right if isinstance(n.left, ast.Constant) else n.left)  # type: ignore[attr-defined]


def _derivative_calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and "df" in ast.unparse(n.func).split("[")[0]]


def _derivative_at_output(tree: ast.AST, roles: dict[str, str]) -> bool:
    changed = False
    for call in _derivative_calls(tree):
        for n in ast.walk(call):
            if isinstance(n, ast.Attribute) and n.attr == "z":
                n.attr, changed = "a", True
    return changed


def _derivative_missing(tree: ast.AST, roles: dict[str, str]) -> bool:
    calls = {id(c) for c in _derivative_calls(tree)}

    def match(n: ast.AST) -> bool:
        return isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and (id(n.right) in calls or id(n.left) in calls)
    return _replace(tree, match, lambda n: n.left if id(n.right) in calls else n.right,  # type: ignore[attr-defined]
                    first_only=False)


def _gradient_store(n: ast.AST, field: str) -> bool:
    return isinstance(n, ast.Assign) and any(field in ast.unparse(t) for t in n.targets)


def _weight_transposed(tree: ast.AST, roles: dict[str, str]) -> bool:
    found = False
    for n in ast.walk(tree):
        if _gradient_store(n, "dL_dw"):
            n.value = ast.Attribute(n.value, "T", ast.Load())  # type: ignore[attr-defined]
            found = True
    return found


def _mean_over_batch(tree: ast.AST, roles: dict[str, str]) -> bool:
    found = False
    batch = ast.parse(f"{roles.get('y_pred', 'y_pred')}.shape[0]", mode="eval").body
    for n in ast.walk(tree):
        if _gradient_store(n, "dL_dw") or _gradient_store(n, "dL_db"):
            n.value = ast.BinOp(n.value, ast.Div(), copy.deepcopy(batch))  # type: ignore[attr-defined]
            found = True
    return found


def _layer_skipped(tree: ast.AST, roles: dict[str, str]) -> bool:
    for call in _calls_named(tree, "range"):
        if len(call.args) == 3 and isinstance(call.args[1], ast.Constant) and call.args[1].value == 0:
            call.args[1] = ast.Constant(1)
            return True
    return False


# ---------------------------------------------------------------- training

def _not_zeroed(tree: ast.AST, roles: dict[str, str]) -> bool:
    def match(s: ast.stmt) -> bool:
        return _is_call_statement(s, "zero_grad", "zero_") or (
            isinstance(s, ast.Assign) and any(ast.unparse(t).endswith(".grad") for t in s.targets))
    return _statements(tree, match, _remove)


def _double_step(tree: ast.AST, roles: dict[str, str]) -> bool:
    return _statements(tree, lambda s: _is_call_statement(s, "step"), _duplicate)


def _no_step(tree: ast.AST, roles: dict[str, str]) -> bool:
    return _statements(tree, lambda s: _is_call_statement(s, "step"), _remove)


def _loss_summed(tree: ast.AST, roles: dict[str, str]) -> bool:
    for call in _calls_named(tree, "append"):
        if call.args and isinstance(call.args[0], ast.BinOp) and isinstance(call.args[0].op, ast.Div):
            call.args[0] = call.args[0].left
            return True
    return False


def _negative_alpha(call: ast.Call) -> ast.keyword | None:
    """``alpha=-x`` of an in-place ``add_`` (``p.add_(g, alpha=-lr)``: the functional update)."""
    return next((k for k in call.keywords if k.arg == "alpha" and isinstance(k.value, ast.UnaryOp)
                 and isinstance(k.value.op, ast.USub)), None)


def _is_update(s: ast.stmt) -> bool:
    return (isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Sub)) or _is_call_statement(s, "sub_") or (
        _is_call_statement(s, "add_") and any(_negative_alpha(c) for c in _calls_named(s, "add_")))


def _double_update(tree: ast.AST, roles: dict[str, str]) -> bool:
    return _statements(tree, _is_update, _duplicate)


def _ascent(tree: ast.AST, roles: dict[str, str]) -> bool:
    found = False
    for n in ast.walk(tree):
        if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Sub):
            n.op, found = ast.Add(), True
        elif isinstance(n, ast.Call) and _calls_named(n, "add_") and (alpha := _negative_alpha(n)) is not None:
            alpha.value, found = alpha.value.operand, True  # type: ignore[attr-defined]
    return found


def _decay_sign(tree: ast.AST, roles: dict[str, str]) -> bool:
    decay = roles.get("weight_decay")

    def match(n: ast.AST) -> bool:
        return isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add) and _mentions(n.right, decay) \
            and not _mentions(n.left, decay)
    if _replace(tree, match, lambda n: ast.BinOp(n.left, ast.Sub(), n.right)):  # type: ignore[attr-defined]
        return True
    for call in _calls_named(tree, "add"):  # g.add(p, alpha=weight_decay): the functional L2 term
        for keyword in call.keywords:
            if keyword.arg == "alpha" and _mentions(keyword.value, decay):
                keyword.value = ast.UnaryOp(ast.USub(), keyword.value)
                return True
    return False


def _reset_each_epoch(tree: ast.AST, roles: dict[str, str]) -> bool:
    """The first empty container made before the epoch loop is made again at the start of each epoch."""
    body = getattr(tree, "body", [])
    for i, statement in enumerate(body):
        if isinstance(statement, ast.Assign) and (isinstance(statement.value, (ast.Dict, ast.List)) and not
                                                  getattr(statement.value, "keys", getattr(statement.value, "elts",
                                                                                           [1]))):
            name = ast.unparse(statement.targets[0])
            loop = next((s for s in body[i + 1:] if isinstance(s, ast.For)), None)
            if loop is not None and name in ast.unparse(loop) and "losses" not in name and "history" not in name:
                loop.body.insert(0, copy.deepcopy(statement))
                return True
    return False


# ---------------------------------------------------------------- load_cifar, the MLP

def _label_dicts(tree: ast.AST) -> list[ast.Dict]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Dict) and len(n.values) == 2 and all(
        isinstance(v, ast.Constant) and v.value in (0, 1) for v in n.values) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, int) for k in n.keys)]


def _labels_swapped(tree: ast.AST, roles: dict[str, str]) -> bool:
    for d in _label_dicts(tree):
        d.values = list(reversed(d.values))
        return True
    return False


def _wrong_class(tree: ast.AST, roles: dict[str, str]) -> bool:
    for d in _label_dicts(tree):
        key = d.keys[1]
        assert isinstance(key, ast.Constant) and isinstance(key.value, int)
        d.keys[1] = ast.Constant(key.value + 1)
        return True
    return False


def _not_normalized(tree: ast.AST, roles: dict[str, str]) -> bool:
    for n in ast.walk(tree):
        if isinstance(n, ast.List) and any(_calls_named(e, "Normalize") for e in n.elts):
            n.elts = [e for e in n.elts if not _calls_named(e, "Normalize")]
            return True
    return False


def _split_seed(tree: ast.AST, roles: dict[str, str]) -> bool:
    for call in _calls_named(tree, "manual_seed"):
        if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, int):
            call.args[0] = ast.Constant(call.args[0].value + 1)
            return True
    return False


def _missing_relu(tree: ast.AST, roles: dict[str, str]) -> bool:
    return _replace(tree, lambda n: isinstance(n, ast.Call) and bool(_calls_named(n, "relu")) and
                    ast.unparse(n.func).endswith("relu") and len(n.args) == 1, lambda n: n.args[0])  # type: ignore[attr-defined]


def _wrong_width(tree: ast.AST, roles: dict[str, str]) -> bool:
    layers = sorted(_calls_named(tree, "Linear"), key=lambda c: (c.lineno, c.col_offset))
    for first, second in zip(layers, layers[1:]):
        if len(first.args) >= 2 and second.args and ast.dump(first.args[1]) == ast.dump(second.args[0]):
            narrower = ast.BinOp(copy.deepcopy(first.args[1]), ast.FloorDiv(), ast.Constant(2))
            first.args[1], second.args[0] = narrower, copy.deepcopy(narrower)
            return True
    return False


def _softmax_output(tree: ast.AST, roles: dict[str, str]) -> bool:
    forward = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    returns = [n for n in ast.walk(forward) if isinstance(n, ast.Return) and n.value is not None] if forward else []
    for r in returns:
        assert r.value is not None
        r.value = ast.Call(ast.Attribute(r.value, "softmax", ast.Load()), [], [ast.keyword("dim", ast.Constant(-1))])
    return bool(returns)


MUTATIONS = (
    Mutation("sign_flipped", "backpropagation", "y_true - y_pred instead of y_pred - y_true", _sign_flipped,
             "sign_flipped"),
    Mutation("missing_factor_2", "backpropagation", "the squared error's factor 2 left out", _missing_factor_2,
             "missing_factor_2"),
    Mutation("derivative_at_output", "backpropagation", "f' evaluated at a instead of z", _derivative_at_output,
             "derivative_at_output"),
    Mutation("derivative_missing", "backpropagation", "the factor f'(z) left out", _derivative_missing,
             "derivative_missing"),
    Mutation("weight_gradient_transposed", "backpropagation", "dL_dw stored transposed", _weight_transposed,
             "weight_gradient_transposed"),
    Mutation("mean_over_batch", "backpropagation", "gradients divided by the batch size", _mean_over_batch,
             "mean_over_batch", needs_batches=True),
    Mutation("first_layer_skipped", "backpropagation", "the loop over layers stops before layer 1", _layer_skipped,
             "layer_skipped"),
    Mutation("train_not_zeroed", "train", "optimizer.zero_grad() removed", _not_zeroed, "gradients_not_zeroed"),
    Mutation("double_step", "train", "optimizer.step() twice per batch", _double_step, "double_step"),
    Mutation("no_step", "train", "optimizer.step() removed", _no_step),
    Mutation("train_loss_summed", "train", "the epoch's losses summed, not averaged", _loss_summed, "loss_summed"),
    Mutation("momentum_ignored", "train_manual_update", "the momentum read as 0", _name_to("momentum", _zero),
             "momentum_ignored"),
    Mutation("decay_ignored", "train_manual_update", "the weight decay read as 0", _name_to("weight_decay", _zero)),
    Mutation("lr_applied_twice", "train_manual_update", "lr * lr instead of lr",
             _name_to("lr", _squared),
             "lr_applied_twice"),
    Mutation("manual_not_zeroed", "train_manual_update", "the gradients never cleared", _not_zeroed,
             "gradients_not_zeroed"),
    Mutation("double_update", "train_manual_update", "the parameter update line run twice (the buffer moves once)",
             _double_update),  # not the catalogue's double_update (two whole steps): a step of 2 x lr
    Mutation("ascent", "train_manual_update", "p += instead of p -=", _ascent),
    Mutation("decay_sign", "train_manual_update", "the decay term subtracted from the gradient", _decay_sign),
    Mutation("momentum_reset_each_epoch", "train_manual_update", "the momentum buffers made again each epoch",
             _reset_each_epoch, "momentum_reset_each_epoch"),
    Mutation("manual_loss_summed", "train_manual_update", "the epoch's losses summed, not averaged", _loss_summed),
    Mutation("labels_swapped", "load_cifar", "the label map's values swapped", _labels_swapped, "labels_swapped"),
    Mutation("wrong_class", "load_cifar", "another CIFAR-10 class kept", _wrong_class, "wrong_class"),
    Mutation("not_normalized", "load_cifar", "Normalize left out of the transforms", _not_normalized,
             "not_normalized"),
    Mutation("split_seed", "load_cifar", "the split drawn with another seed", _split_seed),
    Mutation("missing_relu", "mlp", "a ReLU left out", _missing_relu, "missing_relu"),
    Mutation("wrong_width", "mlp", "a hidden layer half as wide", _wrong_width, "wrong_width"),
    Mutation("softmax_output", "mlp", "a softmax on the output", _softmax_output, "softmax_output"),
)


# ---------------------------------------------------------------- writing mutants

def mutants(solution: Path, assignment: Assignment, into: Path) -> list[Mutant]:
    """Every mutation that applies to the solution, each as a folder under ``into``."""
    made = []
    files = {module_name(p): p for p in sorted(Path(solution).iterdir(), key=lambda p: p.suffix == ".ipynb")
             if p.suffix in (".py", ".ipynb") and not HELPER.match(p.stem)}
    for mutation in MUTATIONS:
        if not assignment.has(mutation.key) or assignment.callable(mutation.key).given:
            continue
        if mutation.needs_batches and assignment.network.max_batch < 2:
            continue
        spec = assignment.callable(mutation.key)
        path = files.get(spec.module)
        if path is None:
            continue
        roles = {p.role: p.name for p in spec.parameters if p.role}
        change = functools.partial(_apply, mutation.rewrite, roles)
        for where in (spec.name, *helpers(path, spec.name, {c.name for c in assignment.callables.values()})):
            text = rewrite_file(path, where, change)
            if text is not None:
                break
        if text is None:
            continue
        folder = into / mutation.id
        shutil.copytree(solution, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        (folder / path.name).write_text(text, encoding="utf-8")
        made.append(Mutant(mutation, folder, spec.name if where == spec.name else f"{spec.name} (in {where})"))
    return made


def helpers(path: Path, name: str, graded: set[str]) -> list[str]:
    """The module-level functions the definition ``name`` calls that are not graded themselves (``_fit``): where a
    mutation that finds nothing in the function itself is tried next."""
    tree = ast.parse(notebook_code(path) if path.suffix == ".ipynb" else path.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    node = functions.get(name)
    called = [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)] \
        if node else []
    return list(dict.fromkeys(c for c in called if c in functions and c not in graded and c != name))


def _apply(rewrite: Rewrite, roles: dict[str, str], node: ast.AST) -> bool:
    return rewrite(node, roles)


def rewrite_file(path: Path, name: str, change: Callable[[ast.AST], bool]) -> str | None:
    """The file's text with the last definition of ``name`` changed (None when ``change`` finds nothing)."""
    if path.suffix == ".py":
        return _rewrite_source(path.read_text(encoding="utf-8"), name, change)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in reversed(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        try:
            changed = _rewrite_source(source, name, change)
        except SyntaxError:
            continue
        if changed is not None:
            cell["source"] = changed
            return json.dumps(notebook, indent=1)
        if _defines(source, name):
            return None
    return None


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name for n in tree.body)


def _rewrite_source(source: str, name: str, change: Callable[[ast.AST], bool]) -> str | None:
    tree = ast.parse(source)
    nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name]
    if not nodes:
        return None
    node = copy.deepcopy(nodes[-1])
    if not change(node):
        return None
    ast.fix_missing_locations(node)
    lines = source.splitlines()
    start = nodes[-1].lineno - 1 - len(nodes[-1].decorator_list)
    end = nodes[-1].end_lineno or len(lines)
    return "\n".join([*lines[:start], ast.unparse(node), *lines[end:]]) + "\n"

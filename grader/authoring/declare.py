"""A first declaration of an assignment, read from the instructor's solution (and template) without running it.

Each graded callable is found by its name (the template's usual names and common variants) or, failing that, by
what its code does (a class storing ``dL_dw`` is the given network, a function storing into it is backpropagation,
one calling ``optimizer.step()`` trains, one updating parameters itself is the manual update, ...). Each parameter's
role comes from the grader's vocabulary (:mod:`grader.assignment.roles`); what it cannot tell becomes a TODO line
naming the parameter. What the training functions return and the MLP's widths are found by running the solution
(:mod:`grader.authoring.probe`)."""
from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass, field

from ..assignment.roles import ROLES, fill_for, normalised
from .sources import HELPER, Definition, Module

KEY_ROLES: dict[str, tuple[str, ...]] = {
    "network": ("widths", "activation"),
    "backpropagation": ("model", "y_true", "y_pred"),
    "grad_check": ("model", "x", "y_true", "loss_fn", "eps", "tol"),
    "load_cifar": ("data_root", "split_fraction", "seed", "download"),
    "mlp": (),
    "train": ("n_epochs", "optimizer", "model", "loss_fn", "train_loader", "val_loader", "device"),
    "train_manual_update": ("n_epochs", "model", "loss_fn", "train_loader", "lr", "momentum", "weight_decay",
                            "val_loader", "device"),
    "compute_accuracy": ("model", "loader", "device"),
}
"""The roles the grader passes to each callable (grader/assignment/calls.py), in the order a declaration lists them."""
REQUIRED: dict[str, tuple[str, ...]] = {
    "backpropagation": ("model", "y_true", "y_pred"), "grad_check": ("model", "x", "y_true"),
    "load_cifar": ("data_root",), "train": ("n_epochs", "optimizer", "model", "train_loader"),
    "train_manual_update": ("n_epochs", "model", "train_loader", "lr"), "compute_accuracy": ("model", "loader")}
"""Roles without which the grader cannot call the function: a TODO when no parameter plays them."""
NAMES: dict[str, tuple[str, ...]] = {
    "backpropagation": ("backpropagation", "backprop", "backward_pass", "manual_backprop"),
    "grad_check": ("grad_check", "gradient_check", "gradcheck", "check_gradients", "check_gradient"),
    "load_cifar": ("load_cifar", "load_cifar2", "load_data", "load_dataset", "get_data", "load_cifar10"),
    "train": ("train", "train_model", "training_loop", "train_sgd", "train_with_optimizer", "fit"),
    "train_manual_update": ("train_manual_update", "train_manual", "manual_update", "train_manual_sgd",
                            "train_manually", "fit_manual"),
    "compute_accuracy": ("compute_accuracy", "accuracy", "get_accuracy", "evaluate_accuracy", "evaluate"),
}
RETURNS = {"network": "nothing", "backpropagation": "nothing", "grad_check": "verdict", "load_cifar": "splits",
           "mlp": "instance", "compute_accuracy": "accuracy", "train": "losses", "train_manual_update": "losses"}
"""What each callable returns, as the grader reads it; the training functions' form is probed."""
ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "softplus": "softplus",
               "leaky_relu": "leaky_relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu"}
ALL_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity", "softplus", "leaky_relu")
CLASS_ALIASES = ("MyMLP", "MLP", "MyNet", "Net")
DATASETS = {"CIFAR10": "official", "ImageFolder": "imagefolder", "glob": "imagefolder", "iterdir": "imagefolder",
            "listdir": "imagefolder"}
FLOAT64 = ("double", "float64")
SPLIT_FIELDS: dict[str, tuple[type[float] | type[int], str]] = {"split_fraction": (float, "split_fraction"),
                                                                "seed": (int, "split_seed")}
"""load_cifar's roles whose default is the [data] split's value."""


@dataclass
class Parameter:
    """A parameter as the declaration lists it."""

    name: str
    role: str = ""
    default: str | None = None
    in_template: bool = True
    todo: str = ""
    guess: str = ""
    """The role a TODO suggests (used, provisionally, to run the solution before the instructor confirms it)."""


@dataclass
class Declared:
    """A graded (or given) callable found in the solution."""

    key: str
    module: str
    name: str
    kind: str
    parameters: list[Parameter]
    returns: str
    given: bool = False
    aliases: tuple[str, ...] = ()
    found_by: str = "name"
    notes: list[str] = field(default_factory=list)
    returned: str = ""
    """What running it returned, described (the probe's finding)."""
    node: Definition | None = field(default=None, repr=False, compare=False)
    """Its definition in the solution (or in the module the solution imports it from)."""


@dataclass
class Draft:
    """Everything ``assignment new`` writes, before it is written: plain values, TODO lines, notes."""

    name: str
    title: str
    modules: list[str]
    callables: dict[str, Declared]
    globals: dict[str, str] = field(default_factory=dict)
    data: dict[str, object] = field(default_factory=dict)
    network: dict[str, object] = field(default_factory=dict)
    mlp: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    """The course's helper modules the solution imports (its tests): stood in for when grading."""

    @property
    def todos(self) -> list[str]:
        return [f"{c.name}: {p.todo}" for c in self.callables.values() for p in c.parameters if p.todo] + \
            [f"{c.name}: {n[5:]}" for c in self.callables.values() for n in c.notes if n.startswith("TODO ")]

    def raw(self, provisional: bool = False) -> dict[str, object]:
        """The declaration as the TOML table :func:`grader.assignment.declaration.parse` reads (``provisional``: with
        the roles the TODO lines suggest)."""
        def table(p: Parameter) -> dict[str, object]:
            return _parameter_table(Parameter(p.name, p.guess, p.default) if provisional and p.guess else p)

        tables = {key: {"module": c.module, "name": c.name, "kind": c.kind, "returns": c.returns, "given": c.given,
                        "aliases": list(c.aliases),
                        "parameters": [table(p) for p in c.parameters
                                       if p.role or p.default is not None or (provisional and p.guess)]}
                  for key, c in self.callables.items()}
        return {"name": self.name, "title": self.title, "rubric": "rubric.toml", "modules": self.modules,
                "globals": self.globals, "data": self.data, "network": self.network, "mlp": self.mlp,
                "callables": tables, **({"helpers": self.helpers} if self.helpers else {})}


def _parameter_table(p: Parameter) -> dict[str, object]:
    table: dict[str, object] = {"role": p.role} if p.role else {}
    table["name"] = p.name
    if p.default is not None:
        table["default"] = p.default
    if not p.in_template:
        table["in_template"] = False
    return table


def draft(name: str, solution: dict[str, Module], template: dict[str, Module] | None = None) -> Draft:
    """The declaration the solution implies (``template``: what the students start from, to tell given code)."""
    found = find_callables(solution)
    callables = {key: declared(key, solution[module], node, how) for key, (module, node, how) in found.items()}
    every = list(solution.values()) + list((template or {}).values())
    result = Draft(name=name, title=f"{name}: declared from {next(iter(solution.values())).path.parent.name}",
                   modules=[m for m in solution if any(c.module == m for c in callables.values())],
                   callables=callables)
    _globals(result, solution)
    _given(result, template or {})
    result.helpers = helper_modules(solution)
    result.data = data_spec(callables.get("load_cifar"), solution, every)
    result.network = network_spec(callables.get("network"), every)
    result.mlp = _mlp_table(callables.get("mlp"))
    missing = [key for key in NAMES if key not in callables and key != "grad_check"]
    result.notes += [f"no {key} found in the solution: not graded" for key in missing]
    return result


def helper_modules(solution: dict[str, Module]) -> list[str]:
    """The course helper modules (``tests_backpropagation.py`` beside the notebooks) the solution imports."""
    imported = {alias.name.split(".")[0] if isinstance(node, ast.Import) else (node.module or "").split(".")[0]
                for module in solution.values() for node in module.tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    folder = next(iter(solution.values())).path.parent
    return sorted(name for name in imported if HELPER.match(name) and (folder / f"{name}.py").is_file())


# ---------------------------------------------------------------- which definition is which callable

def find_callables(modules: dict[str, Module]) -> dict[str, tuple[str, Definition, str]]:
    """key -> (module, definition, how it was found: "name" or what its code does)."""
    definitions = [(m.name, node) for m in modules.values() for node in m.definitions.values()]
    found: dict[str, tuple[str, Definition, str]] = {}
    taken: set[int] = set()

    def take(key: str, module: str, node: Definition, how: str) -> None:
        found[key] = (module, node, how)
        taken.add(id(node))

    network = next(((m, n) for m, n in definitions if isinstance(n, ast.ClassDef) and _stores_gradients(n)), None)
    if network:
        take("network", *network, "it stores dL_dw")
    else:
        given = _imported_network(modules)
        if given:
            take("network", *given, "it stores dL_dw (imported)")
    for key, names in NAMES.items():
        wanted = [normalised(n) for n in names]
        matches = [(wanted.index(normalised(n.name)), m, n) for m, n in definitions
                   if isinstance(n, ast.FunctionDef) and id(n) not in taken and normalised(n.name) in wanted]
        if matches:
            _, module, node = min(matches, key=lambda match: match[0])
            take(key, module, node, "name")
    for key, test, how in STRUCTURE:
        if key in found:
            continue
        match = next(((m, n) for m, n in definitions if id(n) not in taken and test(n)), None)
        if match:
            take(key, *match, how)
    mlp = _mlp_class(definitions, taken, {m for m, _, _ in found.values()})
    if mlp:
        take("mlp", *mlp, "the nn.Module with the most Linear layers")
    return found


def _imported_network(modules: dict[str, Module]) -> tuple[str, ast.ClassDef] | None:
    """A class storing dL_dw that a module imports from given code (``from grader.given import MyNet``)."""
    for module in modules.values():
        for node in module.tree.body:
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    found = module.imported(alias.asname or alias.name)
                    if found and isinstance(found[1], ast.ClassDef) and _stores_gradients(found[1]):
                        return module.name, found[1]
    return None


def _stores_gradients(node: Definition) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr in ("dL_dw", "dL_db") for n in ast.walk(node))


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            names.add(n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", ""))
    return names


def _updates_parameters(node: ast.AST) -> bool:
    return any(isinstance(n, ast.AugAssign) and isinstance(n.op, (ast.Sub, ast.Add)) for n in ast.walk(node)) or \
        bool(_calls(node) & {"sub_", "add_", "copy_"})


def _arguments(node: Definition) -> list[ast.arg]:
    return node.args.args if isinstance(node, ast.FunctionDef) else []


def _is_function(node: Definition) -> bool:
    return isinstance(node, ast.FunctionDef)


STRUCTURE: tuple[tuple[str, Callable[[Definition], bool], str], ...] = (
    ("backpropagation", lambda n: _is_function(n) and _stores_gradients(n), "it stores into model.dL_dw"),
    ("load_cifar", lambda n: _is_function(n) and (bool(_calls(n) & {"CIFAR10", "ImageFolder", "random_split"}) or any(
        role_of(a.arg, "load_cifar") == "data_root" for a in _arguments(n))),
     "it builds the datasets from a data folder"),
    ("train", lambda n: _is_function(n) and {"step", "backward"} <= _calls(n), "it calls optimizer.step()"),
    ("train_manual_update", lambda n: _is_function(n) and "backward" in _calls(n) and "step" not in _calls(n)
     and _updates_parameters(n), "it updates the parameters itself"),
    ("compute_accuracy", lambda n: _is_function(n) and bool(_calls(n) & {"argmax", "max"}) and "backward" not in
     _calls(n) and any(isinstance(c, ast.Compare) for c in ast.walk(n)), "it counts correct predictions"),
)


def _mlp_class(definitions: list[tuple[str, Definition]], taken: set[int],
               modules: set[str]) -> tuple[str, Definition] | None:
    classes = [(len([c for c in ast.walk(n) if isinstance(c, ast.Call) and _name(c.func) == "Linear"]), m, n)
               for m, n in definitions if isinstance(n, ast.ClassDef) and id(n) not in taken
               and any("Module" in ast.unparse(b) for b in n.bases)]
    classes = [c for c in classes if c[0] > 0]
    if not classes:
        return None
    _, module, node = max(classes, key=lambda c: c[0])
    return module, node


def _name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


# ---------------------------------------------------------------- parameters and returns

def declared(key: str, module: Module, node: Definition, how: str) -> Declared:
    """The declaration of ``node`` as the callable ``key``: its parameters' roles, defaults, TODOs."""
    is_class = isinstance(node, ast.ClassDef)
    function = _init(node) if isinstance(node, ast.ClassDef) else node
    parameters = _parameters(key, function, node.name, module) if function is not None and key != "mlp" else []
    aliases = tuple(a for a in CLASS_ALIASES if a != node.name) if key == "mlp" else ()
    result = Declared(key, module.name, node.name, "class" if is_class else "function", parameters, RETURNS[key],
                      given=key == "network", aliases=aliases, found_by=how, node=node)
    roles = {p.role for p in parameters}
    unknown = [p for p in parameters if p.todo and not p.role and p.default is None]
    for role in REQUIRED.get(key, ()):
        if role in roles:
            continue
        if unknown:
            guess = unknown.pop(0)
            guess.guess = role
            guess.todo = (f"the grader needs a parameter for {role!r} and cannot tell which: if {guess.name!r} is it, "
                          f"write role = \"{role}\" on this line")
        else:
            result.notes.append(f"TODO no parameter plays {role!r}: the grader cannot call {node.name} without one")
    return result


def _init(node: ast.ClassDef) -> ast.FunctionDef | None:
    return next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)


def _parameters(key: str, function: ast.FunctionDef, owner: str, module: Module) -> list[Parameter]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    result: list[Parameter] = []
    used: set[str] = set()
    for arg, default in pairs:
        if arg.arg in ("self", "cls"):
            continue
        role = role_of(arg.arg, key, used)
        used.add(role)
        source = _default_source(default, module) if default is not None else None
        todo = "" if role or source is not None or fill_for(arg.arg) else \
            (f"parameter {arg.arg!r} has no role the grader knows and no default: give it a role "
             f"(grader/assignment/roles.py) or a default in {owner}")
        if source is not None and not _is_literal(source):
            todo = f"{owner}'s default {arg.arg}={source} is not a literal the declaration can hold: write its value"
        result.append(Parameter(arg.arg, role, source, todo=todo))
    return result


def _default_source(default: ast.expr, module: Module) -> str:
    """A default as Python source; a module-level constant's name replaced by its literal value."""
    if isinstance(default, ast.Name):
        return module.constant(default.id) or default.id
    return ast.unparse(default)


def _is_literal(source: str) -> bool:
    try:
        ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return False
    return True


def role_of(name: str, key: str, used: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The role a parameter called ``name`` plays in the callable ``key`` ("" when none)."""
    wanted = normalised(name)
    for role in KEY_ROLES.get(key, ()):
        if role not in used and wanted in {normalised(role), *map(normalised, ROLES[role])}:
            return role
    return ""


# ---------------------------------------------------------------- globals, given code

def free_names(function: ast.FunctionDef) -> set[str]:
    """Names a function reads that it neither receives nor assigns (module-level globals, builtins aside)."""
    bound = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    loaded: set[str] = set()
    stored: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not function:
            bound |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
    return loaded - stored - bound - set(dir(builtins))


def _module_names(module: Module) -> set[str]:
    names = set()
    for node in module.tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _globals(result: Draft, solution: dict[str, Module]) -> None:
    device_names = {normalised(n) for n in ("device", *ROLES["device"])}
    for c in result.callables.values():
        node = c.node
        function = _init(node) if isinstance(node, ast.ClassDef) else node
        if function is None or c.key in ("mlp", "network"):
            continue
        read = free_names(function) - _module_names(solution[c.module])
        device = sorted(n for n in read if normalised(n) in device_names)
        if device and c.key in ("train", "train_manual_update", "compute_accuracy") \
                and not any(p.role == "device" for p in c.parameters):
            result.globals[device[0]] = "device"
            c.parameters.append(Parameter(device[0], "device", in_template=False))
        others = sorted(read - set(device))
        if others:
            c.notes.append(f"reads the module-level name(s) {', '.join(others)}: a notebook's cells that define them "
                           "are kept when grading")


def _given(result: Draft, template: dict[str, Module]) -> None:
    """Mark as given what the template already holds, unchanged."""
    for c in result.callables.values():
        theirs = template.get(c.module)
        node = theirs.definitions.get(c.name) if theirs else None
        if node is not None and c.node is not None and ast.dump(node) == ast.dump(c.node) and not c.given:
            c.given = True
            c.notes.append("the template gives it unchanged: described, not graded")


# ---------------------------------------------------------------- data, networks, the MLP

def data_spec(load: Declared | None, solution: dict[str, Module], every: list[Module]) -> dict[str, object]:
    """[data]: dtype from ``torch.set_default_dtype``; the split's meaning, seed and order from load_cifar."""
    spec: dict[str, object] = {"classes": ["airplane", "bird"], "cifar10_index": [0, 2], "image_shape": [3, 32, 32],
                               "dtype": "float64" if any(_sets_float64(m.tree) for m in every) else "float32"}
    if load is None:
        return spec
    node = load.node
    assert node is not None
    split = next((p for p in load.parameters if p.role == "split_fraction"), None)
    if split is not None:
        spec["split_fraction_of"] = "train" if "train" in split.name.lower() else "validation"
        value = _number(split.default)
        if value is not None:
            spec["split_fraction"] = float(value)
    seed = _split_seed(node) or _number(next((p.default for p in load.parameters if p.role == "seed"), None))
    if seed is not None:
        spec["split_seed"] = int(seed)
    spec["split_before_filtering"] = _splits_before_filtering(node)
    helpers = [solution[load.module].definitions.get(name) for name in _calls(node)]
    reached = _calls(node).union(*(_calls(h) for h in helpers if h is not None))
    layouts = sorted({DATASETS[c] for c in reached if c in DATASETS}, key=["imagefolder", "official"].index)
    if layouts:
        spec["layouts"] = layouts
    return spec


def resolve_defaults(draft: Draft, defaults: dict[str, dict[str, str]]) -> None:
    """Each default the source gave as a name the declaration cannot hold (a constant computed in given code,
    ``val_fraction=VAL_FRACTION``) replaced by the literal value the imported solution holds, its TODO answered;
    the data split's fraction and seed filled from load_cifar's resolved defaults."""
    for key, declared in draft.callables.items():
        for parameter in declared.parameters:
            value = defaults.get(key, {}).get(parameter.name)
            if parameter.default is None or _is_literal(parameter.default) or value is None or not _is_literal(value):
                continue
            parameter.default, parameter.todo = value, ""
            number = _number(value)
            if key == "load_cifar" and number is not None and parameter.role in SPLIT_FIELDS:
                kind, field_name = SPLIT_FIELDS[parameter.role]
                draft.data.setdefault(field_name, kind(number))


def _sets_float64(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Call) and _name(n.func) == "set_default_dtype" and n.args
               and _name(n.args[0]) in FLOAT64 for n in ast.walk(tree))


def _split_seed(node: ast.AST) -> int | None:
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and _name(n.func) in ("manual_seed", "seed") and n.args:
            value = _number(ast.unparse(n.args[0]))
            if value is not None:
                return int(value)
    return None


def _splits_before_filtering(node: ast.AST) -> bool:
    """random_split is given the dataset as the CIFAR10/ImageFolder constructor built it (all ten classes)."""
    built = {t.id for n in ast.walk(node) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
             and _name(n.value.func) in DATASETS for t in n.targets if isinstance(t, ast.Name)}
    return any(isinstance(n, ast.Call) and _name(n.func) == "random_split" and n.args
               and isinstance(n.args[0], ast.Name) and n.args[0].id in built for n in ast.walk(node))


def _number(source: str | None) -> float | None:
    if source is None:
        return None
    try:
        value = _evaluate(ast.parse(source, mode="eval").body)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, (int, float)) else None


def _evaluate(node: ast.AST) -> object:
    """A literal, or integer arithmetic on literals (``24*24``, ``32 * 32 * 3``); ValueError otherwise."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub, ast.FloorDiv)):
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return {ast.Mult: left * right, ast.Add: left + right, ast.Sub: left - right,
                    ast.FloorDiv: left // max(right, 1)}[type(node.op)]
        raise ValueError("not integer arithmetic")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(e) for e in node.elts]
    return ast.literal_eval(node)


def network_spec(network: Declared | None, every: list[Module]) -> dict[str, object]:
    """[network]: the given network's activations, and the widths the template builds it with."""
    if network is None:
        return {}
    node = network.node
    assert node is not None
    takes_activation = any(p.role == "activation" for p in network.parameters)
    used = sorted({ACTIVATIONS[c] for c in _calls(node) | {_name(n) for n in ast.walk(node)} if c in ACTIVATIONS},
                  key=ALL_ACTIVATIONS.index)
    spec: dict[str, object] = {"activations": list(ALL_ACTIVATIONS) if takes_activation or not used else used,
                               "max_batch": 8}
    widths: list[list[int]] = []
    default = next((p.default for p in network.parameters if p.role == "widths"), None)
    for candidate in [default, *_built_widths(network.name, every)]:
        try:
            value = _evaluate(ast.parse(candidate, mode="eval").body) if candidate else None
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list) and all(isinstance(v, int) for v in value) and value not in widths:
            widths.append(value)
    if widths:
        spec["template_widths"] = widths
    return spec


def _built_widths(class_name: str, modules: list[Module]) -> list[str]:
    """The first argument of every top-level ``ClassName(...)`` call (the networks the notebooks build)."""
    found = []
    for module in modules:
        for statement in module.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
                continue
            for n in ast.walk(statement):
                if isinstance(n, ast.Call) and _name(n.func) == class_name and n.args:
                    found.append(ast.unparse(n.args[0]))
    return found


def _mlp_table(mlp: Declared | None) -> dict[str, object]:
    """[mlp]: the widths of the ``nn.Linear`` layers the solution's class builds, where they are literal numbers
    (else empty: the probe reads them from the built model)."""
    sizes = mlp_sizes(mlp.node) if mlp and mlp.node else []
    return {"sizes": sizes} if len(sizes) >= 2 else {}


def mlp_sizes(node: Definition) -> list[int]:
    """The widths of the ``nn.Linear`` layers a class builds, in order (input first), where they are literal."""
    layers = [n for n in ast.walk(node) if isinstance(n, ast.Call) and _name(n.func) == "Linear" and len(n.args) >= 2]
    sizes: list[int] = []
    for layer in sorted(layers, key=lambda n: (n.lineno, n.col_offset)):
        try:
            fan_in, fan_out = _evaluate(layer.args[0]), _evaluate(layer.args[1])
        except ValueError:
            return []
        if not isinstance(fan_in, int) or not isinstance(fan_out, int):
            return []
        sizes += [fan_in, fan_out] if not sizes else [fan_out]
    return sizes

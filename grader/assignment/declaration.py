"""The assignment, declared in one file: what a submission must define and what each parameter means.

The course changes every year (names, signatures, the MLP, the data split), so nothing of it is written in the
checks: each version is a folder ``grader/assignment/packaged/NAME/`` holding ``assignment.toml`` (modules, each graded
function's and class's name, its parameters with their ROLE, template defaults and aliases, what it returns, the
MLP, the image size, the data split's meaning, the globals the template provides) and the ``rubric.toml`` graded
by default (which checks apply, and their points). ``--assignment NAME|FILE`` picks one; ``default`` is this
grader's own template. Imports no torch: the worker receives the declaration as plain data and reads it with the
same code.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from .binding import Declared
from .roles import is_role

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's default image)
    import tomli as tomllib

PACKAGED = Path(__file__).with_name("packaged")
DEFAULT_NAME = "default"
DECLARATION = "assignment.toml"
CALLABLE_KEYS = ("network", "backpropagation", "grad_check", "load_cifar", "mlp", "train", "train_manual_update",
                 "compute_accuracy")
"""What the grader knows how to grade: the given network, and each graded function or class."""
RETURNS = ("nothing", "verdict", "splits", "history", "losses", "accuracy", "instance")
SPLIT_MEANINGS = ("validation", "train")
LAYOUTS = ("imagefolder", "official")


class AssignmentError(ValueError):
    """The declaration is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Callable:
    """A function or class of the template: where it lives, its name (and accepted aliases), its parameters."""

    key: str
    """The grader's name for it (one of CALLABLE_KEYS)."""
    module: str
    name: str
    kind: str = "function"
    parameters: tuple[Declared, ...] = ()
    aliases: tuple[str, ...] = ()
    returns: str = "nothing"
    given: bool = False
    """Given code (e.g. the backpropagation MyNet): described, never graded; the grader builds its own."""

    def parameter(self, role: str) -> Declared | None:
        return next((p for p in self.parameters if p.role == role), None)

    def name_of(self, role: str) -> str:
        """The template's name for ``role`` (the role itself when the template has no such parameter)."""
        entry = self.parameter(role)
        return entry.name if entry is not None and entry.name else role

    def signature(self) -> str:
        """The template's signature, e.g. ``train(n_epochs, optimizer, model, loss_fn, train_loader)``."""
        return f"{self.name}({', '.join(p.shown() for p in self.parameters if p.in_template)})"

    def call(self, **shown: Any) -> str:
        """How the grader's call reads in a message: the template's parameter names, with the given values shown
        (``train_manual_update(n_epochs, model, ..., lr=0.05, momentum_coeff=0.9)``); roles the template lacks are
        left out."""
        parts = []
        for entry in self.parameters:
            if not entry.in_template:
                continue
            parts.append(f"{entry.name}={shown[entry.role]!r}" if entry.role in shown else entry.name)
        return f"{self.name}({', '.join(parts)})"


@dataclass(frozen=True)
class DataSpec:
    """The data the template's load_cifar returns, and how its split is meant."""

    classes: tuple[str, ...] = ("airplane", "bird")
    """Label i is classes[i]."""
    cifar10_index: tuple[int, ...] = (0, 2)
    """Each class's index among CIFAR-10's ten."""
    image_shape: tuple[int, int, int] = (3, 32, 32)
    dtype: str = "float32"
    """torch's default dtype in the template (the template sets float64 with torch.set_default_dtype)."""
    split_fraction: float = 0.1
    split_fraction_of: str = "validation"
    """What the split parameter's fraction is the share of: "validation" or "train"."""
    split_seed: int = 265
    split_before_filtering: bool = False
    """The template splits all ten classes' training images, then keeps the two classes."""
    layouts: tuple[str, ...] = LAYOUTS
    """The data layouts the template's load_cifar reads."""

    @property
    def val_fraction(self) -> float:
        """The validation share the template's default split gives."""
        return self.split_fraction if self.split_fraction_of == "validation" else 1 - self.split_fraction

    def fraction_for(self, val_fraction: float) -> float:
        """The split parameter's value that asks for ``val_fraction`` of validation images."""
        return val_fraction if self.split_fraction_of == "validation" else 1 - val_fraction

    def label(self, class_name: str) -> int:
        return self.classes.index(class_name)


@dataclass(frozen=True)
class NetworkSpec:
    """The networks the backpropagation checks generate (the given MyNet, built by the grader)."""

    activations: tuple[str, ...] = ("tanh", "sigmoid", "relu", "identity", "softplus", "leaky_relu")
    max_batch: int = 8
    """1: the template handles one sample at a time (no mini-batch check)."""
    template_widths: tuple[tuple[int, ...], ...] = ((2, 3, 2),)
    """The networks the template itself builds and tests (``MyNet(n_l=...)``): the backpropagation checks' first
    family of cases, worth the rubric's ``template_share``."""


@dataclass(frozen=True)
class MLPSpec:
    sizes: tuple[int, ...] = (3072, 512, 128, 32, 2)
    """Input, hidden and output widths; ReLU after each hidden layer, linear output (logits)."""


@dataclass(frozen=True)
class Assignment:
    """One declared version of the assignment (see the module docstring)."""

    name: str
    title: str
    folder: Path
    modules: tuple[str, ...]
    callables: dict[str, Callable]
    data: DataSpec = DataSpec()
    network: NetworkSpec = NetworkSpec()
    mlp: MLPSpec = MLPSpec()
    globals: dict[str, str] = field(default_factory=dict)
    """Module-level names the template provides, by role (e.g. device): the grader sets them in each module."""
    rubric_file: str = "rubric.toml"
    template: str | None = None
    """The folder (beside the declaration) of the files students start from: what the student kit ships."""
    helpers: tuple[str, ...] = ()
    """Modules the course hands out beside the template (its tests, e.g. ``tests_backpropagation``): graded code that
    imports one gets a stand-in (never the module itself, never run), and only code that uses it fails."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rubric_path(self) -> Path:
        return self.folder / self.rubric_file

    @property
    def template_folder(self) -> Path | None:
        """The declared template's folder (None when the declaration names none)."""
        return self.folder / self.template if self.template else None

    def has(self, key: str) -> bool:
        return key in self.callables

    def callable(self, key: str) -> Callable:
        """The declared callable ``key``; AssignmentError when this assignment has none."""
        if key not in self.callables:
            raise AssignmentError(f"the assignment {self.name!r} declares no {key}")
        return self.callables[key]

    def graded(self) -> list[Callable]:
        return [c for c in self.callables.values() if not c.given]

    def display_names(self) -> dict[str, str]:
        """Each declared callable's name, by key (what check titles and messages call it)."""
        return {key: spec.name for key, spec in self.callables.items()}

    def blamed(self, key: str | None) -> str | None:
        """The student function a failure of the callable ``key`` is attributed to."""
        return self.callables[key].name if key in self.callables else key

    def to_config(self) -> dict[str, Any]:
        """Plain data for the worker (rebuilt there with :func:`from_config`)."""
        return {"raw": self.raw, "folder": str(self.folder)}


def from_config(config: dict[str, Any]) -> Assignment:
    return parse(config["raw"], Path(config["folder"]))


def resolve(name_or_path: str | Path | None) -> Path:
    """The declaration file for ``--assignment NAME|FILE`` (a packaged name, a .toml file, or its folder)."""
    chosen = str(name_or_path) if name_or_path else DEFAULT_NAME
    packaged = PACKAGED / chosen / DECLARATION
    if "/" not in chosen and "\\" not in chosen and packaged.is_file():
        return packaged
    path = Path(chosen).expanduser()
    path = path / DECLARATION if path.is_dir() else path
    if not path.is_file():
        raise AssignmentError(f"no assignment {chosen!r}: give a packaged name ({', '.join(packaged_names())}) or "
                              f"the path of an {DECLARATION}")
    return path.resolve()


def packaged_names() -> list[str]:
    return sorted(p.parent.name for p in PACKAGED.glob(f"*/{DECLARATION}"))


@cache
def load_assignment(name_or_path: str | Path | None = None) -> Assignment:
    """Read and validate a declaration (None: the default). Raises AssignmentError saying what to fix."""
    path = resolve(name_or_path)
    raw = _read(path)
    folder = path.parent
    if "extends" in raw:
        base = resolve(str(raw.pop("extends")))
        if base == path:
            raise AssignmentError(f"{path} extends itself")
        raw = {**_read(base), **raw}
        folder = folder if (folder / str(raw.get("rubric", "rubric.toml"))).is_file() else base.parent
    return parse(raw, folder)


def _read(path: Path) -> dict[str, Any]:
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AssignmentError(f"{path} is not valid TOML: {error}") from None


def parse(raw: dict[str, Any], folder: Path) -> Assignment:
    """An Assignment from a declaration's TOML table; AssignmentError naming the key at fault."""
    _known(raw, {"name", "title", "rubric", "template", "helpers", "modules", "globals", "data", "network", "mlp",
                 "callables"}, "the top level")
    helpers = raw.get("helpers", [])
    if not isinstance(helpers, list) or not all(isinstance(h, str) and h.isidentifier() for h in helpers):
        raise AssignmentError("helpers must be a list of module names, e.g. [\"tests_backpropagation\"]")
    if "template" in raw and not isinstance(raw["template"], str):
        raise AssignmentError("template must be the name of a folder beside the declaration, e.g. \"template\"")
    modules = raw.get("modules")
    if not isinstance(modules, list) or not modules or not all(isinstance(m, str) and m.isidentifier()
                                                                 for m in modules):
        raise AssignmentError("modules must be a list of module names, e.g. "
                              "[\"backpropagation\", \"gradient_descent\"]")
    callables = {key: _callable(key, table, modules) for key, table in _table(raw, "callables").items()}
    globals_ = _table(raw, "globals")
    for name, role in globals_.items():
        if not is_role(str(role)):
            raise AssignmentError(f"[globals] {name} = {role!r} is not a role the grader knows")
    return Assignment(name=str(raw.get("name", folder.name)), title=str(raw.get("title", folder.name)), folder=folder,
                      modules=tuple(modules), callables=callables,
                      data=_spec(DataSpec, _table(raw, "data"), "[data]"),
                      network=_spec(NetworkSpec, _table(raw, "network"), "[network]"),
                      mlp=_spec(MLPSpec, _table(raw, "mlp"), "[mlp]"), globals=dict(globals_),
                      rubric_file=str(raw.get("rubric", "rubric.toml")), template=raw.get("template"),
                      helpers=tuple(helpers), raw=raw)


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise AssignmentError(f"[{key}] must be a table")
    return value


def _known(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise AssignmentError(f"unknown key(s) {sorted(unknown)} in {where}; allowed: {sorted(allowed)}")


def _callable(key: str, table: Any, modules: list[str]) -> Callable:
    where = f"[callables.{key}]"
    if key not in CALLABLE_KEYS:
        raise AssignmentError(f"{where}: the grader knows no {key!r}; it grades {', '.join(CALLABLE_KEYS)}")
    if not isinstance(table, dict):
        raise AssignmentError(f"{where} must be a table")
    _known(table, {"module", "name", "kind", "parameters", "aliases", "returns", "given"}, where)
    if table.get("module") not in modules:
        raise AssignmentError(f"{where} module must be one of {modules}, got {table.get('module')!r}")
    if not isinstance(table.get("name"), str) or not table["name"].isidentifier():
        raise AssignmentError(f"{where} name must be a Python name")
    if table.get("returns", "nothing") not in RETURNS:
        raise AssignmentError(f"{where} returns must be one of {RETURNS}")
    if table.get("kind", "function") not in ("function", "class"):
        raise AssignmentError(f"{where} kind must be \"function\" or \"class\"")
    parameters = tuple(_parameter(p, f"{where} parameters") for p in table.get("parameters", []))
    keys = [p.key for p in parameters]
    if len(set(keys)) != len(keys):
        raise AssignmentError(f"{where}: a role appears twice in its parameters")
    return Callable(key, table["module"], table["name"], table.get("kind", "function"), parameters,
                    tuple(table.get("aliases", ())), table.get("returns", "nothing"), bool(table.get("given", False)))


def _parameter(entry: Any, where: str) -> Declared:
    if not isinstance(entry, dict):
        raise AssignmentError(f"{where}: each parameter is a table {{ role = ..., name = ..., default = ... }}")
    _known(entry, {"role", "name", "default", "aliases", "in_template"}, where)
    role = entry.get("role", "")
    if role and not is_role(str(role)):
        raise AssignmentError(f"{where}: {role!r} is not a role the grader knows (see grader/assignment/roles.py)")
    if not role and not isinstance(entry.get("name"), str):
        raise AssignmentError(f"{where}: a parameter without a role (kept at its default) needs its name")
    default = entry.get("default")
    if default is not None and not isinstance(default, str):
        raise AssignmentError(f"{where} {role}: default is the template's default as Python source, a string "
                              f"(e.g. default = \"0.01\"), got {default!r}")
    return Declared(str(role), str(entry.get("name", role)), default, tuple(map(str, entry.get("aliases", ()))),
                    bool(entry.get("in_template", True)))


Spec = TypeVar("Spec", "DataSpec", "NetworkSpec", "MLPSpec")


def _spec(cls: type[Spec], table: dict[str, Any], where: str) -> Spec:
    names = {f.name for f in dataclasses.fields(cls)}
    _known(table, names, where)
    values: dict[str, Any] = {}
    for name, value in table.items():
        default = getattr(cls(), name)
        values[name] = tuple(tuple(v) if isinstance(v, list) else v for v in value) if isinstance(default, tuple) \
            else value
        if isinstance(default, bool) != isinstance(value, bool) or \
                (isinstance(default, (int, float)) and not isinstance(value, (int, float))):
            raise AssignmentError(f"{where} {name} must be like {default!r}, got {value!r}")
    spec = cls(**values)
    if isinstance(spec, DataSpec):
        _check_data(spec, where)
    if isinstance(spec, NetworkSpec) and not all(len(w) >= 2 and all(isinstance(n, int) and n >= 1 for n in w)
                                                 for w in spec.template_widths):
        raise AssignmentError(f"{where} template_widths must be a list of networks' widths, e.g. [[2, 3, 2]]")
    if isinstance(spec, MLPSpec) and not (len(spec.sizes) >= 2 and all(isinstance(n, int) and n >= 1
                                                                       for n in spec.sizes)):
        raise AssignmentError(f"{where} sizes must be the MLP's widths from input to output, at least two, "
                              f"e.g. [3072, 512, 2]; got {list(spec.sizes)}")
    return spec


def _check_data(spec: DataSpec, where: str) -> None:
    if spec.split_fraction_of not in SPLIT_MEANINGS:
        raise AssignmentError(f"{where} split_fraction_of must be one of {SPLIT_MEANINGS}")
    if not set(spec.layouts) <= set(LAYOUTS) or not spec.layouts:
        raise AssignmentError(f"{where} layouts must be some of {LAYOUTS}")
    if spec.dtype not in ("float32", "float64"):
        raise AssignmentError(f"{where} dtype must be \"float32\" or \"float64\"")
    if len(spec.image_shape) != 3:
        raise AssignmentError(f"{where} image_shape must be [channels, height, width]")

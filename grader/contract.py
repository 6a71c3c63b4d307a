"""The assignment's contract: which names each submission module defines, their signatures, and which student
function each call to the worker runs."""
from __future__ import annotations

from dataclasses import dataclass

from .assignment import SEED, VAL_FRACTION

REQUIRED = "<required>"
MODULES = ("backpropagation", "gradient_descent")


@dataclass(frozen=True)
class Entry:
    module: str
    name: str
    kind: str  # "function" or "class"
    parameters: tuple[tuple[str, str], ...]  # (name, default repr or REQUIRED)

    def signature(self) -> str:
        shown = [n if d == REQUIRED else f"{n}={d}" for n, d in self.parameters]
        return f"{self.name}({', '.join(shown)})"


def _p(*names: str, **defaults: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, REQUIRED) for n in names) + tuple(defaults.items())


CONTRACT: tuple[Entry, ...] = (
    Entry("backpropagation", "MyNet", "class", _p(n_l="(2, 3, 2)", activation="'tanh'")),
    Entry("backpropagation", "backpropagation", "function", _p("model", "y_true", "y_pred")),
    Entry("backpropagation", "grad_check", "function", _p("model", "x", "y_true", "loss_fn", eps="1e-06",
                                                          tol="1e-06")),
    Entry("gradient_descent", "load_cifar", "function", _p("data_root", val_fraction=repr(VAL_FRACTION),
                                                           seed=repr(SEED), download="False")),
    Entry("gradient_descent", "MyMLP", "class", ()),
    Entry("gradient_descent", "train", "function", _p("n_epochs", "optimizer", "model", "loss_fn", "train_loader",
                                                      val_loader="None", device="None")),
    Entry("gradient_descent", "train_manual_update", "function",
          _p("n_epochs", "model", "loss_fn", "train_loader", lr="0.01", momentum="0.0", weight_decay="0.0",
             val_loader="None", device="None")),
    Entry("gradient_descent", "compute_accuracy", "function", _p("model", "loader", device="None")),
)

CALL_FUNCTIONS = {"backprop": "backpropagation", "grad_check": "grad_check", "train": "train",
                  "train_manual_update": "train_manual_update", "mlp": "MyMLP", "load_cifar": "load_cifar"}
"""The student function each worker call exists to run; a call whose payload names a ``function`` runs that one."""


def names_by_module() -> dict[str, list[str]]:
    """Contract names grouped by module (what the worker is asked to describe)."""
    return {module: [e.name for e in CONTRACT if e.module == module] for module in MODULES}


def blamed_function(call: str, payload: dict) -> str | None:
    """The student function a failure of ``call`` is attributed to (None for the grader's own calls)."""
    return payload.get("function") or CALL_FUNCTIONS.get(call)

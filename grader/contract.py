"""The assignment's contract: which names each submission module defines, and their signatures."""
from __future__ import annotations

from dataclasses import dataclass

REQUIRED = "<required>"


@dataclass(frozen=True)
class Entry:
    module: str
    name: str
    kind: str  # "function" or "class"
    parameters: tuple[tuple[str, str], ...]  # (name, default repr or REQUIRED)
    graded: bool = True

    def signature(self) -> str:
        shown = [n if d == REQUIRED else f"{n}={d}" for n, d in self.parameters]
        return f"{self.name}({', '.join(shown)})"


def _p(*names: str, **defaults: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, REQUIRED) for n in names) + tuple(defaults.items())


CONTRACT: tuple[Entry, ...] = (
    Entry("backpropagation", "MyNet", "class", _p(n_l="(2, 3, 2)", activation="'tanh'"), graded=False),
    Entry("backpropagation", "backpropagation", "function", _p("model", "y_true", "y_pred")),
    Entry("backpropagation", "grad_check", "function", _p("model", "x", "y_true", "loss_fn", eps="1e-06",
                                                          tol="1e-06")),
    Entry("gradient_descent", "load_cifar", "function", _p("data_root", val_fraction="0.1", seed="265",
                                                           download="False")),
    Entry("gradient_descent", "MyMLP", "class", ()),
    Entry("gradient_descent", "train", "function", _p("n_epochs", "optimizer", "model", "loss_fn", "train_loader",
                                                      val_loader="None", device="None")),
    Entry("gradient_descent", "train_manual_update", "function",
          _p("n_epochs", "model", "loss_fn", "train_loader", lr="0.01", momentum="0.0", weight_decay="0.0",
             val_loader="None", device="None")),
    Entry("gradient_descent", "compute_accuracy", "function", _p("model", "loader", device="None")),
)
MODULES = ("backpropagation", "gradient_descent")


def names_by_module() -> dict[str, list[str]]:
    """Contract names grouped by module (what the worker is asked to describe)."""
    return {module: [e.name for e in CONTRACT if e.module == module] for module in MODULES}

"""Given code of the assignment: one copy, imported by the reference, the template and the grader.

Nothing here is graded. Students import it as ``from grader.given import MyNet``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .assignment.declaration import load_assignment

_TEMPLATE = load_assignment("default").data
CLASSES = _TEMPLATE.classes
"""Label 0 is airplane, label 1 is bird."""
CIFAR10_INDEX = dict(zip(CLASSES, _TEMPLATE.cifar10_index))
"""The two classes' indices among CIFAR-10's ten."""
MLP_SIZES = load_assignment("default").mlp.sizes
SEED = _TEMPLATE.split_seed
VAL_FRACTION = _TEMPLATE.val_fraction
"""The default template's constants (grader/assignment/packaged/default/assignment.toml), for its reference and
template."""


def _relu_derivative(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _leaky_relu_derivative(z: torch.Tensor, slope: float = 0.01) -> torch.Tensor:
    return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, slope))


def _sigmoid_derivative(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1 - s)


ACTIVATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "tanh": (torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    "sigmoid": (torch.sigmoid, _sigmoid_derivative),
    "relu": (torch.relu, _relu_derivative),
    "identity": (lambda z: z, torch.ones_like),
    "softplus": (nn.functional.softplus, torch.sigmoid),
    "leaky_relu": (nn.functional.leaky_relu, _leaky_relu_derivative),
}
"""Activation name -> (f, df); df is evaluated at the pre-activation z."""
KINKED_ACTIVATIONS = frozenset({"relu", "leaky_relu"})
"""Activations whose derivative jumps at z = 0: test inputs keep z away from 0 for these."""


class MyNet(nn.Module):
    """A fully connected network that keeps what backpropagation needs.

    ``n_l`` are the layer widths (``n_l[0]`` inputs, ``L = len(n_l) - 1`` weight layers);
    ``activation`` is one name from :data:`ACTIVATIONS` for every layer, or one name per layer.
    After ``forward``: ``z[l] = fc[str(l)](a[l-1])`` and ``a[l] = f[l](z[l])`` for ``l = 1..L``,
    ``a[0]`` the flattened input. ``dL_dw`` / ``dL_db`` are filled by ``backpropagation``.
    """

    def __init__(self, n_l: Sequence[int] = (2, 3, 2), activation: str | Sequence[str] = "tanh"):
        super().__init__()
        self.n_l = tuple(int(n) for n in n_l)
        self.L = len(self.n_l) - 1
        if self.L < 1:
            raise ValueError(f"n_l needs at least two widths, got {n_l!r}")
        names = [activation] * self.L if isinstance(activation, str) else list(activation)
        if len(names) != self.L or any(name not in ACTIVATIONS for name in names):
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or {self.L} of them, got {activation!r}")
        self.activations = tuple(names)
        self.fc = nn.ModuleDict({str(l): nn.Linear(self.n_l[l - 1], self.n_l[l]) for l in range(1, self.L + 1)})
        self.f = {l: ACTIVATIONS[name][0] for l, name in enumerate(names, start=1)}
        self.df = {l: ACTIVATIONS[name][1] for l, name in enumerate(names, start=1)}
        # Tensors once forward and backpropagation have run (None before): typed Any for the code that reads them.
        self.z: dict[int, Any] = {l: None for l in range(1, self.L + 1)}
        self.a: dict[int, Any] = {l: None for l in range(0, self.L + 1)}
        self.dL_dw: dict[int, Any] = {l: None for l in range(1, self.L + 1)}
        self.dL_db: dict[int, Any] = {l: None for l in range(1, self.L + 1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.a[0] = torch.flatten(x, 1)
        for l in range(1, self.L + 1):
            self.z[l] = self.fc[str(l)](self.a[l - 1])
            self.a[l] = self.f[l](self.z[l])
        output: torch.Tensor = self.a[self.L]
        return output

    def linear(self, l: int) -> nn.Linear:
        """Layer ``l``'s nn.Linear (``self.fc[str(l)]``, typed)."""
        layer = self.fc[str(l)]
        assert isinstance(layer, nn.Linear)
        return layer


def plot_history(histories: dict[str, dict[str, list[float]]], path: str, title: str = "") -> None:
    """Write the loss and accuracy curves of several training histories to one PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = plt.get_cmap("tab20" if len(histories) > 10 else "tab10")
    for index, (name, history) in enumerate(histories.items()):
        for key, style in (("train", "-"), ("val", "--")):  # one colour per run: solid train, dashed validation
            for ax, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
                if history.get(f"{key}_{metric}"):
                    ax.plot(history[f"{key}_{metric}"], style, color=colours(index), label=f"{name} {key}")
    for ax, label in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.legend(fontsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Hypothesis strategies for the grader's generated cases, and the expected values computed from them.

Structure (architecture, activation, batch size, optimiser configuration) is drawn by hypothesis so that a
failing case shrinks to a small, readable one; tensor values come from a drawn seed. For kinked activations
the inputs are redrawn until every pre-activation is at least ``KINK_MARGIN`` away from 0, so a correct
solution can never disagree with autograd over the derivative at the kink.
"""
from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st

from ..given import ACTIVATIONS, KINKED_ACTIVATIONS, MyNet

KINK_MARGIN = 1e-3
Gradients = dict[int, torch.Tensor]
"""A gradient per layer (1..L): dL/dW[l] or dL/db[l]."""
GRADED_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity", "softplus", "leaky_relu")
assert set(GRADED_ACTIVATIONS) <= set(ACTIVATIONS)


@dataclass(frozen=True)
class NetCase:
    """A network (widths, one activation name per layer), its float64 parameters, inputs and targets."""

    n_l: tuple[int, ...]
    activations: tuple[str, ...]
    params: dict[str, torch.Tensor]
    x: torch.Tensor
    y: torch.Tensor
    seed: int

    @functools.cached_property
    def autograd(self) -> tuple[tuple[Gradients, Gradients], float]:
        """(dL/dW, dL/db) by autograd, and the CPU seconds they took, computed once per case."""
        started = time.process_time()
        model = self.model()
        loss = ((model(self.x) - self.y) ** 2).sum()
        loss.backward()
        gradients = ({l: _grad(model.linear(l).weight) for l in range(1, model.L + 1)},
                     {l: _grad(model.linear(l).bias) for l in range(1, model.L + 1)})
        return gradients, time.process_time() - started

    def payload(self) -> dict[str, Any]:
        return {"n_l": list(self.n_l), "activations": list(self.activations), "params": self.params,
                "x": self.x, "y": self.y}

    def model(self) -> MyNet:
        """A fresh grader-side MyNet holding this case's parameters."""
        model = MyNet(self.n_l, self.activations).double()
        with torch.no_grad():
            for name, tensor in self.params.items():
                model.get_parameter(name).copy_(tensor)
        return model

    def describe(self) -> str:
        names = set(self.activations)
        activation = self.activations[0] if len(names) == 1 else list(self.activations)
        return f"MyNet(n_l={self.n_l}, activation={activation!r}) with a batch of {len(self.x)}"

    def show_tensors(self, limit: int = 24) -> str:
        """The inputs as Python literals when the case is small enough to read (else an empty string)."""
        tensors = {"x": self.x, "y_true": self.y, **self.params}
        if sum(t.numel() for t in tensors.values()) > limit:
            return ""
        return "\n".join(f"  {name} = {t.tolist()}" for name, t in tensors.items())


def make_net_case(n_l: Sequence[int], activations: Sequence[str], batch: int, seed: int) -> NetCase:
    """A deterministic NetCase; for kinked activations every |z| >= KINK_MARGIN (redrawn by seed otherwise). The
    same arguments give the same object for the life of the process (a batch grader process draws the same cases
    for every submission it grades: they are built, and their autograd gradients computed, once)."""
    return _net_case(tuple(n_l), tuple(activations), batch, seed)


@functools.lru_cache(maxsize=8192)
def _net_case(n_l: tuple[int, ...], activations: tuple[str, ...], batch: int, seed: int) -> NetCase:
    for attempt in range(1000):
        generator = torch.Generator().manual_seed(seed * 1000 + attempt)
        params = {}
        for l in range(1, len(n_l)):
            fan_in = n_l[l - 1]
            params[f"fc.{l}.weight"] = torch.randn(n_l[l], fan_in, generator=generator, dtype=torch.float64) \
                * (1.5 / fan_in ** 0.5)
            params[f"fc.{l}.bias"] = torch.randn(n_l[l], generator=generator, dtype=torch.float64) * 0.5
        x = torch.randn(batch, n_l[0], generator=generator, dtype=torch.float64)
        y = torch.randn(batch, n_l[-1], generator=generator, dtype=torch.float64)
        case = NetCase(tuple(n_l), activations, params, x, y, seed)
        if min_kink_distance(case) >= KINK_MARGIN:
            return case
    raise RuntimeError(f"no case away from the kink for {n_l} {activations}")  # pragma: no cover


def min_kink_distance(case: NetCase) -> float:
    """Smallest |z| over the layers whose activation is kinked (infinity when none is)."""
    if not KINKED_ACTIVATIONS & set(case.activations):
        return float("inf")
    model = case.model()
    with torch.no_grad():
        model(case.x)
    distances = [model.z[l].abs().min().item() for l in range(1, model.L + 1)
                 if case.activations[l - 1] in KINKED_ACTIVATIONS]
    return min(distances, default=float("inf"))


def expected_gradients(case: NetCase) -> tuple[Gradients, Gradients]:
    """dL/dW[l] and dL/db[l] of the summed squared error, by autograd, in float64 (fresh copies: callers may change
    them)."""
    return _copies(case.autograd[0])


def expected_gradients_timed(case: NetCase) -> tuple[tuple[Gradients, Gradients], float]:
    """:func:`expected_gradients` and the CPU seconds autograd took for them (when first computed: the cost of the
    case, for a call's time budget, whether or not this process had it already)."""
    return _copies(case.autograd[0]), case.autograd[1]


def _copies(gradients: tuple[Gradients, Gradients]) -> tuple[Gradients, Gradients]:
    weights, biases = gradients
    return {l: g.clone() for l, g in weights.items()}, {l: g.clone() for l, g in biases.items()}


def by_parameter_name(dL_dw: Gradients, dL_db: Gradients) -> dict[str, torch.Tensor]:
    """Gradients stored by layer (``model.dL_dw[l]``) under their parameters' names (``fc.l.weight``), flattened."""
    return {**{f"fc.{l}.weight": g.flatten() for l, g in dL_dw.items()},
            **{f"fc.{l}.bias": g.flatten() for l, g in dL_db.items()}}


def relative_error(fd: dict[str, torch.Tensor], analytic: dict[str, torch.Tensor], names: Sequence[str]) -> float:
    """The assignment's relative error ||g_fd - g_bp|| / (||g_fd|| + ||g_bp||) over the parameters ``names``
    (0 when both are zero)."""
    first, second = (torch.cat([vectors[name] for name in names]) for vectors in (fd, analytic))
    scale = torch.linalg.vector_norm(first) + torch.linalg.vector_norm(second)
    return 0.0 if scale == 0 else float(torch.linalg.vector_norm(first - second) / scale)


def _grad(parameter: torch.Tensor) -> torch.Tensor:
    assert parameter.grad is not None
    return parameter.grad.clone()


def architectures(max_layers: int = 4, max_width: int = 8, min_width: int = 1) -> st.SearchStrategy[tuple[int, ...]]:
    """Widths of networks with 1..max_layers weight layers, each width min_width..max_width."""
    return st.lists(st.integers(min_width, max_width), min_size=2, max_size=max_layers + 1).map(tuple)


@st.composite
def edge_architectures(draw: st.DrawFn, max_layers: int = 4, max_width: int = 8) -> tuple[int, ...]:
    """Widths of networks with at least one layer (input, hidden or output) of width 1: the edge cases."""
    widths = list(draw(architectures(max_layers, max_width, min_width=2)))
    widths[draw(st.integers(0, len(widths) - 1))] = 1
    return tuple(widths)


@st.composite
def net_cases(draw: st.DrawFn, batch_sizes: st.SearchStrategy[int] | None = None,
              activations: st.SearchStrategy[str] | None = None,
              widths: st.SearchStrategy[tuple[int, ...]] | None = None) -> NetCase:
    """NetCases over architectures (``widths``, default any of width 1..8), one activation for every layer (drawn
    from ``activations``, default all the graded ones), batch sizes (``batch_sizes``, default 1), and value seeds."""
    batch_sizes = batch_sizes if batch_sizes is not None else st.just(1)
    activations = activations if activations is not None else st.sampled_from(GRADED_ACTIVATIONS)
    n_l = draw(widths if widths is not None else architectures())
    activation = draw(activations)
    batch = draw(batch_sizes)
    seed = draw(st.integers(0, 2**16))
    return make_net_case(n_l, (activation,) * (len(n_l) - 1), batch, seed)


@dataclass(frozen=True)
class SGDConfig:
    """An optimiser configuration and the small training problem it is tried on."""

    lr: float
    momentum: float
    weight_decay: float
    n_epochs: int
    n_samples: int
    batch_size: int
    seed: int

    def describe(self, names: dict[str, str] | None = None) -> str:
        """The configuration, its hyperparameters under ``names`` (role -> the template's parameter name)."""
        names = names or {}
        return (f"{names.get('lr', 'lr')}={self.lr:g}, {names.get('momentum', 'momentum')}={self.momentum:g}, "
                f"{names.get('weight_decay', 'weight_decay')}={self.weight_decay:g}, "
                f"{self.n_epochs} epochs of {self.n_samples} samples in batches of {self.batch_size}")


@st.composite
def sgd_configs(draw: st.DrawFn, fixed: dict[str, float] | None = None) -> SGDConfig:
    """SGD configurations: momentum and weight decay each 0 or positive, 2-3 epochs of at least 2 batches.
    ``fixed`` pins hyperparameters (e.g. {"momentum": 0.0} for a function that has no momentum parameter)."""
    fixed = fixed or {}
    batch_size = draw(st.sampled_from([3, 4, 8]))
    lr = draw(st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.3]))
    momentum = draw(st.one_of(st.just(0.0), st.sampled_from([0.5, 0.8, 0.9, 0.99])))
    weight_decay = draw(st.one_of(st.just(0.0), st.sampled_from([1e-4, 1e-3, 1e-2, 0.1])))
    return SGDConfig(
        lr=fixed.get("lr", lr),
        momentum=fixed.get("momentum", momentum),
        weight_decay=fixed.get("weight_decay", weight_decay),
        n_epochs=draw(st.integers(2, 3)),
        n_samples=draw(st.integers(2 * batch_size, 24)),
        batch_size=batch_size,
        seed=draw(st.integers(0, 2**16)),
    )


CLASSIFIER_WIDTHS = (6, 5)
CLASSIFIER_ACTIVATIONS = ("tanh", "identity")
"""The small float64 classifier the training checks use: 6 inputs, 5 tanh units, then one logit per declared class
(the assignment's classes: two for airplane 0 / bird 1, so code written for two classes is graded as correct)."""
VALIDATION_SAMPLES = 7


def training_problem(config: SGDConfig, with_validation: bool = False, classes: int = 2) -> dict[str, Any]:
    """Payload for a training call: the classifier's initial parameters and a labelled dataset (labels
    0..classes-1), and a validation set, passed as the validation loader when ``with_validation`` (and to a
    student's function that requires one in any case)."""
    n_l, activations = (*CLASSIFIER_WIDTHS, classes), CLASSIFIER_ACTIVATIONS
    case = make_net_case(n_l, activations, config.n_samples, config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    return {"n_l": list(n_l), "activations": list(activations), "params": case.params, "x": case.x,
            "y": torch.randint(0, classes, (config.n_samples,), generator=generator),
            "batch_size": config.batch_size, "n_epochs": config.n_epochs, "lr": config.lr,
            "momentum": config.momentum, "weight_decay": config.weight_decay, "validate": with_validation,
            "val_x": torch.randn(VALIDATION_SAMPLES, n_l[0], generator=generator, dtype=torch.float64),
            "val_y": torch.randint(0, classes, (VALIDATION_SAMPLES,), generator=generator)}


@dataclass(frozen=True)
class ReferenceRun:
    """The grader's own torch.optim.SGD run of a training problem."""

    params: dict[str, torch.Tensor]
    epoch_losses: list[float]
    """The mean of each epoch's batch losses."""
    batch_losses: list[list[float]]
    """Each epoch's batch losses."""
    sample_means: list[float]
    """Each epoch's loss averaged over its samples (differs from epoch_losses when the last batch is smaller)."""


class SGD:
    """torch.optim.SGD's own update (``torch.optim.sgd.sgd``, the function its ``step`` calls, with the same
    arguments and momentum buffers) without the optimiser class, whose first ``step`` imports torch._dynamo (about
    150 MB and a second): the grader's reference runs and its imitations of misconceptions use it. ``momentum`` may
    be negative (an imitation), which the class refuses."""

    def __init__(self, parameters: list[torch.nn.Parameter], lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0):
        self.parameters, self.lr, self.momentum = parameters, lr, momentum
        self.dampening, self.weight_decay = dampening, weight_decay
        self.buffers: list[torch.Tensor | None] = [None] * len(parameters)

    def step(self) -> None:
        with_grad = [i for i, p in enumerate(self.parameters) if p.grad is not None]
        buffers = [self.buffers[i] for i in with_grad]
        with torch.no_grad():
            _SGD_MODULE.sgd([self.parameters[i] for i in with_grad], [self.parameters[i].grad for i in with_grad],
                            buffers, weight_decay=self.weight_decay, momentum=self.momentum, lr=self.lr,
                            dampening=self.dampening, nesterov=False, maximize=False)
        for i, buffer in zip(with_grad, buffers):
            self.buffers[i] = buffer

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None


_SGD_MODULE = importlib.import_module("torch.optim.sgd")


def reference_run(payload: dict[str, Any]) -> ReferenceRun:
    """The grader's own run: torch.optim.SGD's update over the payload's batches, in order."""
    model = MyNet(payload["n_l"], payload["activations"]).double()
    with torch.no_grad():
        for name, tensor in payload["params"].items():
            model.get_parameter(name).copy_(tensor)
    optimizer = SGD(list(model.parameters()), lr=payload["lr"], momentum=payload["momentum"],
                    weight_decay=payload["weight_decay"])
    loss_fn, batch = torch.nn.CrossEntropyLoss(), payload["batch_size"]
    batch_losses, sample_means = [], []
    for _ in range(payload["n_epochs"]):
        losses, weighted = [], 0.0
        for start in range(0, len(payload["x"]), batch):
            inputs, labels = payload["x"][start:start + batch], payload["y"][start:start + batch]
            loss = loss_fn(model(inputs), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            weighted += loss.item() * len(labels)
        batch_losses.append(losses)
        sample_means.append(weighted / len(payload["x"]))
    return ReferenceRun({name: p.detach().clone() for name, p in model.named_parameters()},
                        [sum(losses) / len(losses) for losses in batch_losses], batch_losses, sample_means)


def reference_for(config: SGDConfig, with_validation: bool = False,
                  classes: int = 2) -> tuple[dict[str, Any], ReferenceRun, float]:
    """The training problem of ``config``, the grader's own run of it, and the CPU seconds that run took: made once
    per process (a copy of the payload each time: callers may add to it)."""
    payload, run, seconds = _reference(config, with_validation, classes)
    return dict(payload), run, seconds


@functools.lru_cache(maxsize=2048)
def _reference(config: SGDConfig, with_validation: bool, classes: int) -> tuple[dict[str, Any], ReferenceRun, float]:
    payload = training_problem(config, with_validation, classes)
    started = time.process_time()
    run = reference_run(payload)
    return payload, run, time.process_time() - started


def reference_training(payload: dict[str, Any]) -> tuple[dict[str, torch.Tensor], list[float]]:
    """The grader's own run's final parameters and per-epoch mean batch losses (see :func:`reference_run`)."""
    run = reference_run(payload)
    return run.params, run.epoch_losses

"""What backpropagation code with each misconception computes, in float64, from the case alone.

:func:`imitate` is one manual backward pass with knobs; each misconception is a setting of the knobs (several for
the ones with a parameter, such as which layer was skipped). With no knob turned it is the correct backward pass
(tests/checks/diagnosis/test_diagnosis.py checks it against autograd).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ...given import ACTIVATIONS
from ..cases import Gradients, NetCase
from ..compare import Tolerance, mismatch
from . import first_setting

UNSET_OR_ZERO = "unset-or-zero"


@dataclass(frozen=True)
class Knobs:
    derivative: str = "z"
    """"z" (correct), "a" (at the output), "none", or an activation name used for every layer."""
    factor: float = 2.0
    mean_outputs: bool = False
    mean_batch: bool = False
    bias_first_sample: bool = False
    first_sample_only: bool = False
    transposed: bool = False
    sign: float = 1.0
    skipped: int | None = None
    shift: int = 0


def variants(case: NetCase) -> dict[str, list[Knobs]]:
    """Each backpropagation misconception's settings of the knobs for this case's network."""
    layers = range(1, len(case.n_l))
    return {"sign_flipped": [Knobs(sign=-1.0)], "missing_factor_2": [Knobs(factor=1.0)],
            "derivative_missing": [Knobs(derivative="none")], "derivative_at_output": [Knobs(derivative="a")],
            "activation_hardcoded": [Knobs(derivative=name) for name in ACTIVATIONS],
            "mean_over_outputs": [Knobs(mean_outputs=True)], "mean_over_batch": [Knobs(mean_batch=True)],
            "bias_one_sample": [Knobs(bias_first_sample=True)], "batch_of_one_only": [Knobs(first_sample_only=True)],
            "weight_gradient_transposed": [Knobs(transposed=True)],
            "layer_skipped": [Knobs(skipped=layer) for layer in layers],
            "wrong_layer": [Knobs(shift=1), Knobs(shift=-1)]}


def imitate(case: NetCase, knobs: Knobs = Knobs()) -> dict[str, dict[str, Any]]:
    """{"dL_dw": {"l": tensor}, "dL_db": {...}} as backpropagation with ``knobs`` leaves them on the model."""
    rows = slice(0, 1) if knobs.first_sample_only else slice(None)
    weights, biases = _autograd(case, knobs, rows)
    if knobs.bias_first_sample:
        biases = _autograd(case, knobs, slice(0, 1))[1]
    weights = {l: knobs.sign * (w.T if knobs.transposed else w) for l, w in weights.items()}
    biases = {l: knobs.sign * b for l, b in biases.items()}
    return _stored(weights, biases, len(case.n_l) - 1, knobs)


def _autograd(case: NetCase, knobs: Knobs, rows: slice) -> tuple[Gradients, Gradients]:
    """Autograd's gradients of the knobs' loss on the samples ``rows``: (factor / 2) times the summed squared
    error, divided by the outputs or the batch when asked, through activations with the knobs' derivative."""
    model = case.model()
    if knobs.derivative != "z":
        for l in range(1, model.L + 1):
            model.f[l] = _with_derivative(model.f[l], _wrong_derivative(model.df[l], knobs.derivative))
    y_pred, y = model(case.x[rows]), case.y[rows]
    loss = knobs.factor / 2 * ((y_pred - y) ** 2).sum()
    loss = loss / (y.shape[1] if knobs.mean_outputs else 1) / (y.shape[0] if knobs.mean_batch else 1)
    loss.backward()
    layers = range(1, model.L + 1)
    return ({l: _grad(model.linear(l).weight) for l in layers}, {l: _grad(model.linear(l).bias) for l in layers})


def _grad(parameter: torch.Tensor) -> torch.Tensor:
    return parameter.grad.detach().clone() if parameter.grad is not None else torch.zeros_like(parameter)


def _wrong_derivative(df: Callable[..., torch.Tensor], which: str) -> Callable[[torch.Tensor, torch.Tensor],
                                                                                 torch.Tensor]:
    """The derivative a misconception uses, from (z, a): f' at a, none at all, or another activation's f'."""
    if which == "a":
        return lambda z, a: df(a)
    if which == "none":
        return lambda z, a: torch.ones_like(z)
    other = ACTIVATIONS[which][1]
    return lambda z, a: other(z)


class _DerivativeOf(torch.autograd.Function):
    """f in the forward pass; in the backward pass the incoming gradient times a given ``derivative(z, a)``."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, f: Callable[..., torch.Tensor],
                derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        a = f(z)
        ctx.save_for_backward(z, a)
        ctx.derivative = derivative
        return a

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        z, a = ctx.saved_tensors
        return grads[0] * ctx.derivative(z, a), None, None


def _with_derivative(f: Callable[..., torch.Tensor],
                     derivative: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[..., torch.Tensor]:
    def activation(z: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = _DerivativeOf.apply(z, f, derivative)
        return result
    return activation


def _stored(weights: Gradients, biases: Gradients, layers: int, knobs: Knobs) -> dict[str, dict[str, Any]]:
    stored: dict[str, dict[str, Any]] = {"dL_dw": {}, "dL_db": {}}
    for l in range(1, layers + 1):
        source = l + knobs.shift
        for label, gradients in (("dL_dw", weights), ("dL_db", biases)):
            stored[label][str(l)] = UNSET_OR_ZERO if source == knobs.skipped or source not in gradients \
                else gradients[source]
    return stored


def holding(observations: list[tuple[NetCase, dict[str, Any]]], tolerance: Tolerance) -> dict[str, Any]:
    """For :func:`first_match`: per misconception, whether one of its settings gives the student's
    values on every observation ((case, value) pairs, the failing one first), and which setting. Empty when the
    failing values are the correct ones."""
    first_case, first_value = observations[0]
    if same(first_value, imitate(first_case), tolerance):
        return {}

    def gives_their_values(knobs: Knobs) -> bool:
        return all(same(value, imitate(case, knobs), tolerance) for case, value in observations)

    return {name: first_setting(settings, gives_their_values, _detail)
            for name, settings in variants(first_case).items()}


def _detail(knobs: Knobs) -> str:
    if knobs.derivative not in ("z", "a", "none"):
        return f"{knobs.derivative}'s derivative"
    if knobs.skipped is not None:
        return f"layer {knobs.skipped}"
    if knobs.shift:
        return "layer l's gradients stored under l - 1" if knobs.shift > 0 else "layer l's stored under l + 1"
    return ""


def more_cases(case: NetCase, count: int) -> list[NetCase]:
    """``count`` more cases with the same activations: other values, then wider layers, then one layer more and
    (for a batch of several) a larger batch, so that misconceptions a small case cannot tell apart (dividing by 2
    outputs or by the factor 2; a skipped layer or a shifted one in a one-layer network) part ways."""
    from ..cases import make_net_case

    batch = len(case.x)
    deeper = tuple(w + 2 for w in case.n_l[:-1]) + (case.n_l[-2] + 3,) + (case.n_l[-1] + 2,)
    shapes = [(case.n_l, case.activations, batch), (tuple(w + 1 for w in case.n_l), case.activations, batch),
              (deeper, case.activations[:1] + case.activations, batch + 1 if batch > 1 else 1)]
    return [make_net_case(n_l, activations, size, case.seed + 7919 * k)
            for k, (n_l, activations, size) in enumerate((shapes * count)[:count], start=1)]


def single_samples(case: NetCase) -> list[NetCase]:
    """The case's batch, one sample at a time."""
    return [NetCase(case.n_l, case.activations, case.params, case.x[i:i + 1], case.y[i:i + 1], case.seed)
            for i in range(len(case.x))]


def same(got: dict[str, Any], expected: dict[str, Any], tolerance: Tolerance) -> bool:
    """Whether the student's gradients (as the worker returned them) equal ``expected`` within ``tolerance``."""
    for label in ("dL_dw", "dL_db"):
        for layer, wanted in expected[label].items():
            value = got.get(label, {}).get(layer)
            if isinstance(wanted, str):
                if value is not None and not (isinstance(value, torch.Tensor) and not value.any()):
                    return False
            elif mismatch(label, value, wanted, tolerance) is not None:
                return False
    return True

"""The MLP class has the declared layers, ReLU placement and a linear output.

The student's weights are copied (by shape) into the grader's own network of the assignment's sizes and the outputs
compared; when they differ, variants of the grader's network name the likely mistake.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from ..report.results import Part
from .base import CheckTimeUp, Context, failed_call, out_of_time, timed
from .compare import Tolerance, mismatch
from .diagnosis import Diagnosis, diagnosed, misconception
from .registry import Check, Settings

TOLERANCE_RTOL, TOLERANCE_ATOL = 1e-4, 1e-5
"""float32 network vs the grader's float64 copy (measured error ~1e-7 relative; see tests)."""
N_INPUTS = 6
Layers = list[tuple[torch.Tensor, torch.Tensor]]
"""(weight, bias) of each linear layer, in order."""
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def run(ctx: Context) -> list[Part]:
    spec, sizes = ctx.assignment.callable("mlp"), ctx.assignment.mlp.sizes
    shape = ctx.assignment.data.image_shape
    labels = _labels(spec.name, sizes, shape)
    details = {"function": spec.name}
    x = torch.randn(N_INPUTS, *shape, generator=torch.Generator().manual_seed(ctx.seed))
    built = f"{spec.name} can be built and called"
    try:
        pending = ctx.begin("mlp", {"x": x, "seed": ctx.seed})
    except CheckTimeUp:
        return [out_of_time(built)]
    reply = ctx.finish(pending, timed(_build_and_run, sizes, x)[1])
    if not reply.ok:
        return [failed_call(built, f"{spec.name}()(x)", reply.failure)]
    layers, shape_problem = _layers(reply.value["state"], sizes)
    parts = [diagnosed(Part.fail(labels["layers"], shape_problem, details=details), _width(reply.value["state"], sizes),
                       "your layers") if shape_problem else Part.ok(labels["layers"])]
    if layers is None:
        return parts + [Part.fail(labels["outputs"], "no layers to compare", details=details)]
    expected = forward(layers, x)
    got = reply.value["out_images"]
    problem = mismatch(f"{spec.name}()(x) for x of shape {tuple(x.shape)}", got, expected, _tolerance(expected),
                       dtype_note=False)
    parts.append(diagnosed(Part.fail(labels["outputs"], problem, details=details), _diagnosis(got, layers, x),
                           "your outputs") if problem else Part.ok(labels["outputs"]))
    own = got if isinstance(got, torch.Tensor) else expected
    flat = mismatch(f"{spec.name}()(x.flatten(1)) compared with {spec.name}()(x)", reply.value["out_flat"],
                    own.double(), _tolerance(own.double()), dtype_note=False)
    parts.append(Part.fail(labels["flat"], flat, details=details) if flat else Part.ok(labels["flat"]))
    return parts


def _build_and_run(sizes: tuple[int, ...], x: torch.Tensor) -> torch.Tensor:
    """What the call costs the reference: build an MLP of the declared sizes and run it (the call's budget)."""
    layers = [torch.nn.Linear(n_in, n_out).double() for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    with torch.no_grad():
        return forward([(layer.weight, layer.bias) for layer in layers], x)


def _labels(name: str, sizes: tuple[int, ...], shape: tuple[int, ...]) -> dict[str, str]:
    return {"layers": f"{len(sizes) - 1} linear layers " + "->".join(map(str, sizes)),
            "outputs": f"outputs logits of a ReLU MLP for images (N, {', '.join(map(str, shape))})",
            "flat": f"accepts flat inputs (N, {sizes[0]}) with the same result"}


def _shapes(sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    return list(zip(sizes[1:], sizes[:-1]))


def _layers(state: dict[str, Any], sizes: tuple[int, ...]) -> tuple[Layers | None, str | None]:
    shapes = _shapes(sizes)
    weights = {tuple(t.shape): t for t in state.values() if isinstance(t, torch.Tensor) and t.dim() == 2}
    biases = {tuple(t.shape): t for t in state.values() if isinstance(t, torch.Tensor) and t.dim() == 1}
    missing = [f"{n_in}->{n_out}" for n_out, n_in in shapes
               if (n_out, n_in) not in weights or (n_out,) not in biases]
    if missing:
        found = [tuple(t.shape) for t in state.values() if isinstance(t, torch.Tensor)]
        return None, (f"no linear layer (weight and bias) for {', '.join(missing)}; "
                      f"the model's parameter shapes are {found}.")
    extra = len(weights) - len(shapes)
    problem = f"the model has {extra} extra weight matri{'x' if extra == 1 else 'ces'}." if extra else None
    return [(weights[shape].double(), biases[shape[:1]].double()) for shape in shapes], problem


def forward(layers: Layers, x: torch.Tensor, relu_after: list[bool] | None = None) -> torch.Tensor:
    """The grader's network in float64 with the given weights; ``relu_after[k]`` puts a ReLU after layer k (by
    default after every layer but the last)."""
    relu_after = relu_after or [True] * (len(layers) - 1) + [False]
    h = x.double().flatten(1)
    for (weight, bias), relu in zip(layers, relu_after):
        h = h @ weight.T + bias
        h = torch.relu(h) if relu else h
    return h


def _tolerance(expected: torch.Tensor) -> Tolerance:
    return Tolerance(rtol=TOLERANCE_RTOL, atol=TOLERANCE_ATOL * max(expected.abs().max().item(), 1.0))


def _variants(n_layers: int) -> Iterator[tuple[str, list[bool]]]:
    """(what is wrong, where the ReLUs are) for each single misplaced ReLU."""
    correct = [True] * (n_layers - 1) + [False]
    for k in range(n_layers - 1):
        yield f"no ReLU after the {ORDINALS[k]} hidden layer", correct[:k] + [False] + correct[k + 1:]
    yield "a ReLU on the output layer", [True] * n_layers


def _diagnosis(got: object, layers: Layers, x: torch.Tensor) -> Diagnosis | None:
    """Softmax on the output, or a ReLU missing or added, when the outputs are exactly those of that network."""
    if not isinstance(got, torch.Tensor) or got.shape != (len(x), layers[-1][0].shape[0]):
        return None
    got = got.double()
    if (got >= 0).all() and torch.allclose(got.sum(dim=1), torch.ones(len(got), dtype=got.dtype), atol=1e-4) and \
            mismatch("softmax", got, torch.softmax(forward(layers, x), dim=1), _tolerance(got)) is None:
        return Diagnosis(misconception("mlp", "softmax_output"), 1, wording="your outputs are probabilities (rows "
                         "sum to 1): return logits, with no softmax on the output.")
    for label, relu_after in _variants(len(layers)):
        variant = forward(layers, x, relu_after)
        if mismatch("variant", got, variant, _tolerance(variant)) is None:
            return Diagnosis(misconception("mlp", "missing_relu"), 1,
                             wording=f"your outputs match a network with {label}.")
    return None


def _width(state: dict[str, Any], sizes: tuple[int, ...]) -> Diagnosis | None:
    """One layer of another width: the student's weights chain from the input to the output with the declared
    number of layers, and differ from the declared widths in exactly one hidden layer."""
    weights = [tuple(t.shape) for t in state.values() if isinstance(t, torch.Tensor) and t.dim() == 2]
    chain = [sizes[0]]
    while len(chain) <= len(sizes):
        following = [out for out, n_in in weights if n_in == chain[-1]]
        if len(following) != 1:
            break
        chain.append(following[0])
    if len(chain) != len(sizes) or chain[-1] != sizes[-1]:
        return None
    wrong = [k for k in range(1, len(sizes) - 1) if chain[k] != sizes[k]]
    if len(wrong) != 1:
        return None
    k = wrong[0]
    return Diagnosis(misconception("mlp", "wrong_width"), 1, wording=f"hidden layer {k} has {chain[k]} units where "
                     f"the template's has {sizes[k]} (your layers are {'-'.join(map(str, chain))}).")


@dataclass(frozen=True)
class MLPSettings(Settings):
    points: float = 5


CHECKS = (Check("MyMLP", "{mlp}: the declared layers, ReLU after hidden layers, linear output", run, MLPSettings,
                grades=("mlp",)),)

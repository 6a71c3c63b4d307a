"""MyMLP has the right layers, ReLU placement and a linear output.

The student's weights are copied (by shape) into the grader's own network of the assignment's sizes and the outputs
compared; when they differ, variants of the grader's network name the likely mistake.
"""
from __future__ import annotations

import torch

from ..compare import Tolerance, mismatch
from ..given import MLP_SIZES
from ..report.results import Part
from .base import CheckTimeUp, Context, failed_call, out_of_time
from .registry import Check

TOLERANCE_RTOL, TOLERANCE_ATOL = 1e-4, 1e-5
"""float32 network vs the grader's float64 copy (measured error ~1e-7 relative; see tests)."""
SHAPES = tuple(zip(MLP_SIZES[1:], MLP_SIZES[:-1]))
N_INPUTS = 6
SIZES = "-".join(map(str, MLP_SIZES))
LAYERS = f"{len(SHAPES)} linear layers " + "->".join(map(str, MLP_SIZES))
OUTPUTS = "outputs logits of a ReLU MLP for images (N, 3, 32, 32)"
FLAT = f"accepts flat inputs (N, {MLP_SIZES[0]}) with the same result"
DETAILS = {"function": "MyMLP"}


def run(ctx: Context) -> list[Part]:
    x = torch.randn(N_INPUTS, 3, 32, 32, generator=torch.Generator().manual_seed(ctx.seed))
    try:
        reply = ctx.call("mlp", {"x": x, "seed": ctx.seed})
    except CheckTimeUp:
        return [out_of_time("MyMLP can be built and called")]
    if not reply.ok:
        return [failed_call("MyMLP can be built and called", "MyMLP()(x)", reply.failure)]
    layers, shape_problem = _layers(reply.value["state"])
    parts = [Part.fail(LAYERS, shape_problem, details=DETAILS) if shape_problem else Part.ok(LAYERS)]
    if layers is None:
        return parts + [Part.fail(OUTPUTS, "no layers to compare", details=DETAILS)]
    expected = forward(layers, x)
    got = reply.value["out_images"]
    problem = _output_problem(f"MyMLP()(x) for x of shape {tuple(x.shape)}", got, expected, layers, x)
    parts.append(Part.fail(OUTPUTS, problem, details=DETAILS) if problem else Part.ok(OUTPUTS))
    own = got if isinstance(got, torch.Tensor) else expected
    flat = mismatch("MyMLP()(x.flatten(1)) compared with MyMLP()(x)", reply.value["out_flat"], own.double(),
                    _tolerance(own.double()), dtype_note=False)
    parts.append(Part.fail(FLAT, flat, details=DETAILS) if flat else Part.ok(FLAT))
    return parts


def _layers(state: dict):
    weights = {tuple(t.shape): t for t in state.values() if isinstance(t, torch.Tensor) and t.dim() == 2}
    biases = {tuple(t.shape): t for t in state.values() if isinstance(t, torch.Tensor) and t.dim() == 1}
    missing = [f"{n_in}->{n_out}" for n_out, n_in in SHAPES
               if (n_out, n_in) not in weights or (n_out,) not in biases]
    if missing:
        found = [tuple(t.shape) for t in state.values() if isinstance(t, torch.Tensor)]
        return None, (f"no linear layer (weight and bias) for {', '.join(missing)}; "
                      f"the model's parameter shapes are {found}.")
    extra = len(weights) - len(SHAPES)
    problem = f"the model has {extra} extra weight matri{'x' if extra == 1 else 'ces'}." if extra else None
    return [(weights[shape].double(), biases[shape[:1]].double()) for shape in SHAPES], problem


def forward(layers, x: torch.Tensor, relu_after=(True, True, True, False)) -> torch.Tensor:
    """The grader's network in float64 with the given weights; ``relu_after[k]`` puts a ReLU after layer k."""
    h = x.double().flatten(1)
    for (weight, bias), relu in zip(layers, relu_after):
        h = h @ weight.T + bias
        h = torch.relu(h) if relu else h
    return h


def _tolerance(expected: torch.Tensor) -> Tolerance:
    return Tolerance(rtol=TOLERANCE_RTOL, atol=TOLERANCE_ATOL * max(expected.abs().max().item(), 1.0))


def _output_problem(call: str, got, expected, layers, x) -> str | None:
    problem = mismatch(call, got, expected, _tolerance(expected), dtype_note=False)
    if problem is None:
        return None
    return problem + _diagnosis(got, layers, x)


def _diagnosis(got, layers, x) -> str:
    if not isinstance(got, torch.Tensor) or got.shape != (len(x), 2):
        return ""
    got = got.double()
    if (got >= 0).all() and torch.allclose(got.sum(dim=1), torch.ones(len(got), dtype=got.dtype), atol=1e-4):
        return "\nYour outputs are probabilities (rows sum to 1): return logits, with no softmax on the output."
    for label, relu_after in (("no ReLU after the first hidden layer", (False, True, True, False)),
                              ("no ReLU after the second hidden layer", (True, False, True, False)),
                              ("no ReLU after the third hidden layer", (True, True, False, False)),
                              ("a ReLU on the output layer", (True, True, True, True))):
        variant = forward(layers, x, relu_after)
        if mismatch("variant", got, variant, _tolerance(variant)) is None:
            return f"\nYour outputs match a network with {label}."
    return ""


CHECKS = (Check("MyMLP", f"MyMLP: layers {SIZES}, ReLU after hidden layers, linear output", run,
                defaults={"points": 5}),)

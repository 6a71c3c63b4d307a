"""backpropagation against autograd, on single samples and on mini-batches of generated networks."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st

from ..cases import Gradients, NetCase, expected_gradients, net_cases
from ..compare import Tolerance, describe_value, mismatch
from ..diagnosis import Diagnosis, diagnosed, first_match, misconception
from ..diagnosis import backprop as backprop_diagnosis
from ..kinds import FailureKind
from ..report.results import Part
from ..sandbox.reply import Failure
from .base import CheckTimeUp, Context, Skip, failed_call, find_failure, out_of_time, timed
from .registry import Check, GeneratedCases

TOLERANCE = Tolerance(rtol=1e-7, atol=1e-10)
"""float64: the reference stays within 1e-13 relative of autograd (see tests/test_reference.py)."""
LABEL = "model.dL_dw and model.dL_db match autograd on every generated network"


def run_one_sample(ctx: Context) -> list[Part]:
    return _run(ctx, st.just(1))


def run_mini_batch(ctx: Context) -> list[Part]:
    largest = ctx.assignment.network.max_batch
    if largest < 2:
        raise Skip(f"the assignment {ctx.assignment.name!r} handles one sample at a time (no mini-batches).")
    return _run(ctx, st.integers(2, largest))


def _run(ctx: Context, batch_sizes: st.SearchStrategy[int]) -> list[Part]:
    spec = ctx.assignment.callable("backpropagation")
    call, function = spec.call(), {"function": spec.name}
    failing: dict[str, Any] = {}

    def check_one(case: NetCase) -> Part | None:
        try:
            pending = ctx.begin("backprop", case.payload())
        except CheckTimeUp:
            return out_of_time(LABEL)
        expected, seconds = timed(expected_gradients, case)  # while the worker runs the student's code
        reply = ctx.finish(pending, seconds)
        if not reply.ok:
            failing.update(case=case, value=None, failure=reply.failure)
            return failed_call(LABEL, call, reply.failure, context=f"For {case.describe()}")
        problem = gradient_mismatch(case, reply.value, expected, call)
        if problem:
            failing.update(case=case, value=reply.value, failure=None)
        return Part.fail(LABEL, problem, details=function) if problem else None

    cases = net_cases(batch_sizes=batch_sizes, activations=st.sampled_from(ctx.assignment.network.activations))
    runs, failure = find_failure(cases, ctx.settings_as(GeneratedCases).examples, ctx.seed, check_one)
    if failure is None:
        return [Part.ok(LABEL, f"All {runs} generated networks match autograd.", details={"examples": runs})]
    part = dataclasses.replace(failure, details={**failure.details, "examples": runs})
    return [diagnosed(part, _diagnosis(ctx, failing, spec.name), "your model.dL_dw and model.dL_db")]


DIAGNOSIS_CASES = 3
"""More cases a diagnosis must hold on, beyond the failing one."""


def _diagnosis(ctx: Context, failing: dict[str, Any], name: str) -> Diagnosis | None:
    """The misconception behind the failing case, confirmed on more cases the student's code answers (None: none
    explains it, or there was no time to confirm)."""
    case = failing.get("case")
    try:
        if case is None:
            return None
        if failing["value"] is None:
            return _only_one_at_a_time(ctx, case, failing["failure"], name)
        if first_match("backpropagation", backprop_diagnosis.holding([(case, failing["value"])], TOLERANCE), 1) is None:
            return None
        observations = [(case, failing["value"])]
        for more in backprop_diagnosis.more_cases(case, DIAGNOSIS_CASES):
            reply = ctx.call("backprop", more.payload(), timed(expected_gradients, more)[1])
            if not reply.ok:
                return None
            observations.append((more, reply.value))
        return first_match("backpropagation", backprop_diagnosis.holding(observations, TOLERANCE), len(observations))
    except CheckTimeUp:
        return None


def _only_one_at_a_time(ctx: Context, case: NetCase, failure: Failure, name: str) -> Diagnosis | None:
    """Code that raises on a batch of several and is right on each of its samples alone handles a batch of one."""
    if failure.kind is not FailureKind.EXCEPTION or len(case.x) < 2:
        return None
    for single in backprop_diagnosis.single_samples(case):
        reply = ctx.call("backprop", single.payload(), timed(expected_gradients, single)[1])
        if not reply.ok or not backprop_diagnosis.same(reply.value, backprop_diagnosis.imitate(single), TOLERANCE):
            return None
    return Diagnosis(misconception("backpropagation", "batch_of_one_only"), len(case.x), wording=(
        f"your {name} raises on this batch of {len(case.x)} but gives each of its samples' gradients alone: "
        "it handles only a batch of one (a squeezed or missing batch dimension)."))


def gradient_mismatch(case: NetCase, value: dict[str, Any], expected: tuple[Gradients, Gradients],
                      call: str) -> str | None:
    """The first gradient that differs from autograd, explained with the case; None when all match."""
    expected_w, expected_b = expected
    for l in range(1, len(case.n_l)):
        for label, got, wanted, shape_of in (("dL_dw", value["dL_dw"].get(str(l)), expected_w[l], "weight"),
                                             ("dL_db", value["dL_db"].get(str(l)), expected_b[l], "bias")):
            problem = mismatch(f"model.{label}[{l}]", got, wanted, TOLERANCE)
            if problem:
                shown = case.show_tensors()
                return (f"{call} on {case.describe()} (after y_pred = model(x)):\n{problem}\n"
                        f"Expected model.{label}[{l}] (same shape as model.fc['{l}'].{shape_of}) = "
                        f"{_short(wanted)}\n          got {_short(got)}"
                        + (f"\nThe case:\n{shown}" if shown else ""))
    return None


def _short(value: object) -> str:
    if isinstance(value, torch.Tensor) and value.numel() <= 16:
        return str(value.tolist())
    return describe_value(value)


@dataclass(frozen=True)
class OneSample(GeneratedCases):
    points: float = 25
    examples: int = 120


@dataclass(frozen=True)
class MiniBatch(GeneratedCases):
    points: float = 10
    examples: int = 80


CHECKS = (
    Check("backpropagation_one_sample", "{backpropagation}: one sample (batch size 1), against autograd",
          run_one_sample, OneSample, grades=("backpropagation",)),
    Check("backpropagation_mini_batch", "{backpropagation}: mini-batches (batch sizes 2-8), against autograd",
          run_mini_batch, MiniBatch, grades=("backpropagation",)),
)

"""backpropagation against autograd, on single samples and on mini-batches of generated networks."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st

from ..outcomes import FailureKind
from ..report.results import Part
from ..sandbox.reply import Failure
from .base import CheckTimeUp, Context, Skip, failed_call, out_of_time
from .cases import (
    Gradients,
    NetCase,
    architectures,
    edge_architectures,
    expected_gradients_timed,
    make_net_case,
    net_cases,
)
from .compare import Tolerance, describe_value, mismatch
from .diagnosis import Diagnosis, diagnosed, first_match, misconception
from .diagnosis import backprop as backprop_diagnosis
from .registry import Check, GeneratedCases
from .search import RETRY_KINDS, find_failure

TOLERANCE = Tolerance(rtol=1e-7, atol=1e-10)
"""float64: the reference stays within 1e-13 relative of autograd (see tests/test_reference.py)."""
LABEL = "model.dL_dw and model.dL_db match autograd"


def run_one_sample(ctx: Context) -> list[Part]:
    return _run(ctx, st.just(1), 1)


def run_mini_batch(ctx: Context) -> list[Part]:
    largest = ctx.assignment.network.max_batch
    if largest < 2:
        raise Skip(f"the assignment {ctx.assignment.name!r} handles one sample at a time (no mini-batches).")
    return _run(ctx, st.integers(2, largest), min(4, largest))


@dataclass(frozen=True)
class Family:
    """A family of cases with its share of the check's points: the template's own networks, generated networks
    whose layers all have 2 or more units, and the edge cases (a layer of width 1)."""

    key: str
    label: str
    weight: float
    cases: st.SearchStrategy[NetCase] | None = None
    """Drawn by hypothesis (None: the template's fixed networks)."""
    examples: int = 0


def _families(ctx: Context, batch_sizes: st.SearchStrategy[int]) -> list[Family]:
    settings = ctx.settings_as(BackpropSettings)
    activations = st.sampled_from(ctx.assignment.network.activations)
    edge_examples = max(1, round(settings.examples * EDGE_EXAMPLES))
    widths = ", ".join(str(list(w)) for w in ctx.assignment.network.template_widths)
    return [
        Family("template", f"{LABEL} on the template's networks ({widths})", settings.template_share),
        Family("general", f"{LABEL} on generated networks whose layers have 2 or more units",
               max(0.0, 1 - settings.template_share - settings.edge_share),
               net_cases(batch_sizes, activations, architectures(min_width=2)),
               max(1, settings.examples - edge_examples)),
        Family("edge", f"{LABEL} on edge cases: networks with a layer of width 1", settings.edge_share,
               net_cases(batch_sizes, activations, edge_architectures()), edge_examples),
    ]


def template_cases(ctx: Context, batch: int) -> list[NetCase]:
    """The template's own networks, with each activation the assignment uses (the first three), smallest first."""
    activations = ctx.assignment.network.activations[:3]
    widths = sorted(ctx.assignment.network.template_widths, key=sum)
    return [make_net_case(n_l, (activation,) * (len(n_l) - 1), batch, ctx.seed + index)
            for index, (n_l, activation) in enumerate((n_l, a) for n_l in widths for a in activations)]


def _run(ctx: Context, batch_sizes: st.SearchStrategy[int], template_batch: int) -> list[Part]:
    spec = ctx.assignment.callable("backpropagation")
    call, function = spec.call(), {"function": spec.name}
    failing: dict[str, dict[str, Any]] = {}
    parts: dict[str, Part] = {}
    for index, family in enumerate(_families(ctx, batch_sizes)):
        evidence: dict[str, Any] = {}
        check_one = _case_judge(ctx, call, family.label, function, evidence)
        if family.cases is None:
            runs, failure = _first_failure(template_cases(ctx, template_batch), check_one)
        else:
            runs, failure = find_failure(family.cases, family.examples, ctx.seed + index, check_one)
        if failure is None:
            parts[family.key] = Part.ok(family.label, f"All {runs} networks match autograd.", family.weight,
                                        details={"examples": runs})
            continue
        parts[family.key] = dataclasses.replace(failure, weight=family.weight,
                                                details={**failure.details, "examples": runs, "family": family.key})
        failing[family.key] = evidence
        if failure.kind not in RETRY_KINDS:
            break  # a crash or timeout: the other families are not run (their parts say so)
    return _with_severity(ctx, spec.name, parts, failing, batch_sizes)


def _case_judge(ctx: Context, call: str, label: str, function: dict[str, str],
                evidence: dict[str, Any]) -> Callable[[NetCase], Part | None]:
    """The judge of one case: None when the student's gradients match autograd, else the failed part (the case
    and the reply kept in ``evidence`` for the diagnosis)."""
    def check_one(case: NetCase) -> Part | None:
        try:
            pending = ctx.begin("backprop", case.payload())
        except CheckTimeUp:
            return out_of_time(label)
        expected, seconds = expected_gradients_timed(case)  # while the worker runs the student's code
        reply = ctx.finish(pending, seconds)
        if not reply.ok:
            evidence.update(case=case, value=None, failure=reply.failure)
            return failed_call(label, call, reply.failure, context=f"For {case.describe()}")
        problem = gradient_mismatch(case, reply.value, expected, call)
        if problem:
            evidence.update(case=case, value=reply.value, failure=None)
        return Part.fail(label, problem, details=function) if problem else None
    return check_one


def _first_failure(cases: list[NetCase], check_one: Callable[[NetCase], Part | None]) -> tuple[int, Part | None]:
    for runs, case in enumerate(cases, start=1):
        failure = check_one(case)
        if failure is not None:
            return runs, failure
    return len(cases), None


def _with_severity(ctx: Context, name: str, parts: dict[str, Part], failing: dict[str, dict[str, Any]],
                   batch_sizes: st.SearchStrategy[int]) -> list[Part]:
    """Every family's part (one not run after a crash fails with that crash), the misconception named on the first
    failing family's part, and the edge cases' failure explained when it is the only one."""
    first = next(iter(failing), None)
    families = _families(ctx, batch_sizes)
    ordered = [parts.get(f.key) or dataclasses.replace(parts[first or "template"], label=f.label, weight=f.weight)
               for f in families]
    if first is None:
        return ordered
    if set(failing) == {"edge"}:
        edge = next(i for i, f in enumerate(families) if f.key == "edge")
        ordered[edge] = dataclasses.replace(ordered[edge], message=(
            "Right on every network whose layers have 2 or more units; wrong when a layer has a single unit "
            f"(only this family's share is lost).\n{ordered[edge].message}"))
    index = next(i for i, f in enumerate(families) if f.key == first)
    ordered[index] = diagnosed(ordered[index], _diagnosis(ctx, failing[first], name),
                               "your model.dL_dw and model.dL_db")
    return ordered


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
            reply = ctx.call("backprop", more.payload(), expected_gradients_timed(more)[1])
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
        reply = ctx.call("backprop", single.payload(), expected_gradients_timed(single)[1])
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


EDGE_EXAMPLES = 0.25
"""The share of the generated examples drawn as edge cases (the rest: networks of width 2 or more)."""


@dataclass(frozen=True)
class BackpropSettings(GeneratedCases):
    """Generated cases in families, each with its share of the points (the general networks get the rest)."""

    template_share: float = 0.4
    """The template's own networks (the assignment's ``template_widths``)."""
    edge_share: float = 0.2
    """Networks with a layer of width 1: right everywhere else costs only this share."""


@dataclass(frozen=True)
class OneSample(BackpropSettings):
    points: float = 25
    examples: int = 120


@dataclass(frozen=True)
class MiniBatch(BackpropSettings):
    points: float = 10
    examples: int = 80


CHECKS = (
    Check("backpropagation_one_sample", "{backpropagation}: one sample (batch size 1), against autograd",
          run_one_sample, OneSample, grades=("backpropagation",)),
    Check("backpropagation_mini_batch", "{backpropagation}: mini-batches (batch sizes 2-8), against autograd",
          run_mini_batch, MiniBatch, grades=("backpropagation",)),
)

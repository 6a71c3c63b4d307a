"""Rules observed while the code runs: no autograd in backpropagation, nothing modified, no torch.optim in
train_manual_update.

The autograd and torch.optim counts come from recorders installed in the worker before the submission was
imported: evidence from inside the student's process, not proof (docs/isolation.md, "What isolation does not stop").
Parameter and input changes are judged by the grader from the tensors sent and returned.

A rule is earned only by code that ran and did the work the rule is about: a function that is missing, did not
import, is still a stub, or ran but did nothing (stored no gradient, changed no parameter) earns nothing for its
rules, and its line says "not checked". A function whose signature cannot take the call is not charged here either
way (its own check charges once).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..outcomes import FailureKind
from ..report.results import Part
from ..sandbox.reply import BackpropReply, Failure
from .base import CheckTimeUp, Context, failed_call, not_checked, out_of_time
from .cases import NetCase, SGDConfig, expected_gradients_timed, make_net_case, reference_for
from .registry import Check, Settings

CASES = (((3, 4, 2), 2), ((2, 3, 3, 1), 3), ((4, 1), 1))
"""(widths, batch size) of the networks tried; activations cycle through the assignment's (tanh, relu, sigmoid for
the default) and batches are cut to the largest the assignment handles."""
PREFERRED_ACTIVATIONS = ("tanh", "relu", "sigmoid")


def run(ctx: Context) -> list[Part]:
    backprop = ctx.assignment.callable("backpropagation")
    labels = [f"{backprop.name} does not use autograd",
              f"{backprop.name} modifies no parameter, input, target or prediction"]
    if ctx.assignment.has("train_manual_update"):
        labels.append(f"{ctx.assignment.callable('train_manual_update').name} does not use torch.optim")
    try:
        return [*_backprop_rules(ctx, backprop.call(), labels[:2]), *_optimizer_rule(ctx, labels[2:])]
    except CheckTimeUp:
        return [out_of_time(label) for label in labels]


def _cases(ctx: Context) -> Iterator[NetCase]:
    allowed = ctx.assignment.network.activations
    activations = [a for a in PREFERRED_ACTIVATIONS if a in allowed] or list(allowed)
    for index, (n_l, batch) in enumerate(CASES):
        activation = activations[index % len(activations)]
        yield make_net_case(n_l, (activation,) * (len(n_l) - 1), min(batch, ctx.assignment.network.max_batch),
                            ctx.seed + index)


def _backprop_rules(ctx: Context, call: str, labels: list[str]) -> tuple[Part, Part]:
    no_autograd, unmodified = Part.ok(labels[0]), Part.ok(labels[1])
    for case in _cases(ctx):
        pending = ctx.begin("backprop", {**case.payload(), "side_effects": True})
        reply = ctx.finish(pending, expected_gradients_timed(case)[1])
        if not reply.ok:
            return _unchecked(labels[0], call, reply.failure), _unchecked(labels[1], call, reply.failure)
        value = reply.value
        if all(gradient is None for gradient in (*value["dL_dw"].values(), *value["dL_db"].values())):
            nothing = f"{call} stored no gradient in model.dL_dw or model.dL_db"
            return _did_nothing(labels[0], nothing), _did_nothing(labels[1], nothing)
        if value["autograd_calls"] and no_autograd.passed:
            no_autograd = Part.fail(labels[0], f"On {case.describe()}, {call} ran autograd's backward pass "
                                    f"{value['autograd_calls']} time(s) (loss.backward(), torch.autograd.grad, ...). "
                                    "Compute the gradients from model.a, model.z and model.df yourself.")
        changed = _changed(case, value)
        if changed and unmodified.passed:
            unmodified = Part.fail(labels[1], f"On {case.describe()}, {call} changed {changed}. "
                                   "It must only write model.dL_dw and model.dL_db.")
    return no_autograd, unmodified


def _unchecked(label: str, call: str, failure: Failure | None) -> Part:
    if failure is not None and failure.kind is FailureKind.BINDING:
        return not_checked(label, failure)  # charged once, by the function's own check
    if failure is not None and failure.kind is FailureKind.IMPORT:
        return Part.fail(label, f"not checked: {failure.message}", FailureKind.NOT_RUN,
                         details={"function": failure.function} if failure.function else {})
    return failed_call(label, call, failure, context="not checked")


def _did_nothing(label: str, what: str) -> Part:
    """A rule about work that was not done: not earned."""
    return Part.fail(label, f"not checked: {what}, so there is nothing to check the rule on.", FailureKind.NOT_RUN)


def _changed(case: NetCase, value: BackpropReply) -> str:
    changed = [name for name, tensor in case.params.items() if not _same(value["params_after"].get(name), tensor)]
    if not _same(value["x_after"], case.x):
        changed.append("x")
    if not _same(value["y_after"], case.y):
        changed.append("y_true")
    if value["y_pred_changed"]:
        changed.append("y_pred")
    return ", ".join(changed)


def _same(got: object, expected: torch.Tensor) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.equal(got, expected)


def _optimizer_rule(ctx: Context, labels: list[str]) -> list[Part]:
    if not labels:
        return []
    label, spec = labels[0], ctx.assignment.callable("train_manual_update")
    momentum = 0.9 if ctx.has_role("train_manual_update", "momentum") else 0.0
    config = SGDConfig(lr=0.05, momentum=momentum, weight_decay=0.01, n_epochs=2, n_samples=12, batch_size=4,
                       seed=ctx.seed)
    payload, _, seconds = reference_for(config, classes=len(ctx.assignment.data.classes))
    pending = ctx.begin("train_manual_update", payload)
    reply = ctx.finish(pending, seconds)
    if not reply.ok:
        return [_unchecked(label, f"{spec.name}(...)", reply.failure)]
    trained = reply.value.get("returned_params", reply.value["params_after"])
    if all(_same(trained.get(name), tensor) for name, tensor in payload["params"].items()):
        return [_did_nothing(label, f"{spec.name}(...) changed no parameter of the model")]
    if reply.value["optimizers"]:
        return [Part.fail(label, f"{spec.name} created or called a torch.optim optimizer "
                                 f"({reply.value['optimizers']} time(s)). Write the update rule yourself.")]
    return [Part.ok(label)]


@dataclass(frozen=True)
class RulesSettings(Settings):
    points: float = 5


CHECKS = (Check("rules", "Rules: no autograd or side effects in {backpropagation}, no torch.optim in "
                "{train_manual_update}", run, RulesSettings, grades=("backpropagation", "train_manual_update")),)

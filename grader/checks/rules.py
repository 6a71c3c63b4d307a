"""Rules observed while the code runs: no autograd in backpropagation, nothing modified, no torch.optim in
train_manual_update.

The autograd and torch.optim counts come from recorders installed in the worker before the submission was
imported: evidence from inside the student's process, not proof (see README, "What isolation does not stop").
Parameter and input changes are judged by the grader from the tensors sent and returned.
"""
from __future__ import annotations

import torch

from ..cases import SGDConfig, make_net_case, training_problem
from ..report.results import Part
from .base import CheckTimeUp, Context, failed_call, out_of_time
from .registry import Check

CASES = (((3, 4, 2), "tanh", 2), ((2, 3, 3, 1), "relu", 3), ((4, 1), "sigmoid", 1))
NO_AUTOGRAD = "backpropagation does not use autograd"
UNMODIFIED = "backpropagation modifies no parameter, input, target or prediction"
NO_OPTIM = "train_manual_update does not use torch.optim"
CALL = "backpropagation(model, y_true, y_pred)"


def run(ctx: Context) -> list[Part]:
    try:
        return [*_backprop_rules(ctx), _optimizer_rule(ctx)]
    except CheckTimeUp:
        return [out_of_time(label) for label in (NO_AUTOGRAD, UNMODIFIED, NO_OPTIM)]


def _backprop_rules(ctx: Context) -> tuple[Part, Part]:
    no_autograd, unmodified = Part.ok(NO_AUTOGRAD), Part.ok(UNMODIFIED)
    for index, (n_l, activation, batch) in enumerate(CASES):
        case = make_net_case(n_l, (activation,) * (len(n_l) - 1), batch, ctx.seed + index)
        reply = ctx.call("backprop", {**case.payload(), "side_effects": True})
        if not reply.ok:
            return (failed_call(NO_AUTOGRAD, CALL, reply.failure, context="could not be checked"),
                    failed_call(UNMODIFIED, CALL, reply.failure, context="could not be checked"))
        value = reply.value
        if value["autograd_calls"] and no_autograd.passed:
            no_autograd = Part.fail(NO_AUTOGRAD, f"On {case.describe()}, backpropagation ran autograd's backward pass "
                                    f"{value['autograd_calls']} time(s) (loss.backward(), torch.autograd.grad, ...). "
                                    "Compute the gradients from model.a, model.z and model.df yourself.")
        changed = _changed(case, value)
        if changed and unmodified.passed:
            unmodified = Part.fail(UNMODIFIED, f"On {case.describe()}, backpropagation changed {changed}. "
                                   "It must only write model.dL_dw and model.dL_db.")
    return no_autograd, unmodified


def _changed(case, value) -> str:
    changed = [name for name, tensor in case.params.items() if not _same(value["params_after"].get(name), tensor)]
    if not _same(value["x_after"], case.x):
        changed.append("x")
    if not _same(value["y_after"], case.y):
        changed.append("y_true")
    if value["y_pred_changed"]:
        changed.append("y_pred")
    return ", ".join(changed)


def _same(got, expected: torch.Tensor) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.equal(got, expected)


def _optimizer_rule(ctx: Context) -> Part:
    config = SGDConfig(lr=0.05, momentum=0.9, weight_decay=0.01, n_epochs=2, n_samples=12, batch_size=4,
                       seed=ctx.seed)
    reply = ctx.call("train_manual_update", training_problem(config))
    if not reply.ok:
        return failed_call(NO_OPTIM, "train_manual_update(...)", reply.failure, context="could not be checked")
    if reply.value["optimizers"]:
        return Part.fail(NO_OPTIM, "train_manual_update created or called a torch.optim optimizer "
                                   f"({reply.value['optimizers']} time(s)). Write the update rule yourself.")
    return Part.ok(NO_OPTIM)


CHECKS = (Check("rules", "Rules: no autograd or side effects in backpropagation, no torch.optim in "
                "train_manual_update", run, defaults={"points": 5}),)

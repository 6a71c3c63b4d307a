"""What training loops with each misconception compute, in float64, from the training problem alone.

:func:`imitate` is one training run with ``torch.optim.SGD``'s update and knobs: each misconception is an optimiser
set otherwise (no momentum, lr squared, dampening, a negated momentum, one per epoch), a loop written otherwise
(gradients not zeroed, two steps per batch, the step's change added again on some batches) or a weight decay applied
around the optimiser's step. It writes no update
rule of its own (it ships in the student kit); with no knob turned it is the grader's reference run
(tests/checks/diagnosis/test_diagnosis.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ...given import MyNet
from ..cases import SGD
from ..compare import relative_mismatch
from . import first_setting


@dataclass(frozen=True)
class SGDKnobs:
    momentum: bool = True
    """False: the momentum is ignored (plain SGD)."""
    buffer_sign: float = 1.0
    """-1: buf <- grad - momentum * buf."""
    dampening: float = 0.0
    reset_each_epoch: bool = False
    decay: str = "l2"
    """"l2" (added to the gradient before the buffer), "outside" (added after the buffer), or "decoupled"
    (p <- p (1 - lr wd) before the step)."""
    zero_grad: bool = True
    updates: int = 1
    """How many times the update runs per batch (with the same gradient)."""
    twice_on: str = ""
    """The same update applied a second time on some batches only (the optimiser's change of the parameters added
    again, its buffers untouched): "first step", "first batch" (of every epoch), "last batch"."""
    lr_power: int = 1
    losses: str = "mean"
    """What the history holds per epoch: "mean", "sum" or "last" of the batch losses."""


MANUAL_VARIANTS: dict[str, list[SGDKnobs]] = {
    "momentum_ignored": [SGDKnobs(momentum=False)],
    "momentum_sign_flipped": [SGDKnobs(buffer_sign=-1.0)],
    "momentum_reset_each_epoch": [SGDKnobs(reset_each_epoch=True)],
    "decay_outside_momentum": [SGDKnobs(decay="outside"), SGDKnobs(decay="decoupled")],
    "gradients_not_zeroed": [SGDKnobs(zero_grad=False)],
    "double_update": [SGDKnobs(updates=2)],
    "double_update_some_steps": [SGDKnobs(twice_on=where) for where in ("first step", "first batch", "last batch")],
    "momentum_gradient_subtracted": [SGDKnobs(dampening=2.0)],
    "lr_applied_twice": [SGDKnobs(lr_power=2)],
    "momentum_dampened": [SGDKnobs(dampening=-1.0)],
}
"""train_manual_update's misconceptions (dampening -1 stands for the momentum itself: buf <- m buf + (1 - m) grad;
dampening 2 subtracts the gradient: buf <- m buf - grad, torch.optim.SGD keeping buf <- grad on the first step, as such
code does when the buffer starts as the first gradient)."""
TRAIN_VARIANTS: dict[str, list[SGDKnobs]] = {
    "gradients_not_zeroed": [SGDKnobs(zero_grad=False)],
    "double_step": [SGDKnobs(updates=2)],
    "loss_summed": [SGDKnobs(losses="sum")],
    "last_batch_loss": [SGDKnobs(losses="last")],
}
PARAMETER_LIMIT = 1e-9


def imitate(payload: dict[str, Any], knobs: SGDKnobs = SGDKnobs()) -> tuple[dict[str, torch.Tensor], list[float]]:
    """(final parameters, per-epoch losses) of a training run on the payload's problem with ``knobs``."""
    model = MyNet(payload["n_l"], payload["activations"]).double()
    with torch.no_grad():
        for name, tensor in payload["params"].items():
            model.get_parameter(name).copy_(tensor)
    loss_fn, batch = torch.nn.CrossEntropyLoss(), payload["batch_size"]
    optimizer = _optimizer(model, payload, knobs)
    epoch_losses = []
    for epoch in range(payload["n_epochs"]):
        if knobs.reset_each_epoch:
            optimizer = _optimizer(model, payload, knobs)
        losses = []
        starts = range(0, len(payload["x"]), batch)
        for start in starts:
            loss = loss_fn(model(payload["x"][start:start + batch]), payload["y"][start:start + batch])
            loss.backward()
            before = [p.detach().clone() for p in model.parameters()] if _twice(knobs, epoch, start, starts) else []
            for _ in range(knobs.updates):
                _step(model, optimizer, payload["lr"] ** knobs.lr_power * payload["weight_decay"], knobs.decay)
            with torch.no_grad():
                for p, old in zip(model.parameters(), before):
                    p.add_(p - old)
            if knobs.zero_grad:
                optimizer.zero_grad()
            losses.append(loss.item())
        epoch_losses.append(sum(losses) / len(losses) if knobs.losses == "mean" else
                            sum(losses) if knobs.losses == "sum" else losses[-1])
    return {name: p.detach().clone() for name, p in model.named_parameters()}, epoch_losses


def _twice(knobs: SGDKnobs, epoch: int, start: int, starts: range) -> bool:
    """Whether ``knobs.twice_on`` applies this batch's update a second time."""
    first, last = start == starts[0], start == starts[-1]
    return {"first step": epoch == 0 and first, "first batch": first, "last batch": last}.get(knobs.twice_on, False)


def _optimizer(model: MyNet, payload: dict[str, Any], knobs: SGDKnobs) -> SGD:
    """torch.optim.SGD's update as the knobs set it."""
    momentum = payload["momentum"] if knobs.momentum else 0.0
    dampening = momentum if knobs.dampening < 0 else knobs.dampening
    return SGD(list(model.parameters()), lr=payload["lr"] ** knobs.lr_power, momentum=momentum * knobs.buffer_sign,
               dampening=dampening if momentum else 0.0,
               weight_decay=payload["weight_decay"] if knobs.decay == "l2" else 0.0)


def _step(model: MyNet, optimizer: SGD, lr_decay: float, decay: str) -> None:
    """One optimiser step; a weight decay the optimiser does not apply ("outside" its momentum buffer, or
    "decoupled" from the gradient) is applied around it: ``lr_decay`` is lr * weight_decay."""
    with torch.no_grad():
        before = [p.clone() for p in model.parameters()] if lr_decay and decay == "outside" else []
        if lr_decay and decay == "decoupled":
            for p in model.parameters():
                p.mul_(1 - lr_decay)
    optimizer.step()
    with torch.no_grad():
        for p, old in zip(model.parameters(), before):
            p.sub_(lr_decay * old)


def holding(observations: Sequence[tuple[dict[str, Any], Any]], variants: dict[str, list[SGDKnobs]],
            returns_losses: Callable[[object], object]) -> dict[str, Callable[[], tuple[bool, str]]]:
    """For :func:`first_match`: per misconception, whether one of its settings gives the student's
    parameters and losses on every observation ((payload, reply value) pairs). Empty when every observation is
    correct. ``returns_losses(value)`` is the epoch losses in what the function returned."""
    wrong = [o for o in observations if not _same(o[1], imitate(o[0]), returns_losses)]
    if not wrong:
        return {}
    observations = wrong + [o for o in observations if not any(o is w for w in wrong)]  # the telling ones first

    def gives_their_values(knobs: SGDKnobs) -> bool:
        return all(_same(value, imitate(payload, knobs), returns_losses) for payload, value in observations)

    return {name: first_setting(settings, gives_their_values, _detail) for name, settings in variants.items()}


def _detail(knobs: SGDKnobs) -> str:
    if knobs.twice_on:
        return f"twice on the {knobs.twice_on}" + (" of each epoch" if knobs.twice_on != "first step" else "")
    return {"outside": "added after the momentum buffer", "decoupled": "decoupled, p <- p (1 - lr wd)"}.get(
        knobs.decay, "")


def _same(value: Any, expected: tuple[dict[str, torch.Tensor], list[float]],
          returns_losses: Callable[[object], object]) -> bool:
    """Whether a reply holds ``expected``'s parameters (of the passed model, or of a model it returned) and, when it
    returned losses at all, its losses."""
    params, losses = expected
    got = value.get("returned_params") or value.get("params_after", {})
    if any(relative_mismatch(name, got.get(name), tensor, PARAMETER_LIMIT) for name, tensor in params.items()):
        return False
    returned = returns_losses(value.get("history"))
    return returned is None or isinstance(returned, list) and len(returned) == len(losses) and all(
        isinstance(a, (int, float)) and abs(a - b) <= PARAMETER_LIMIT * max(abs(b), 1.0)
        for a, b in zip(returned, losses))

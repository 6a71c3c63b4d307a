"""Finding the training losses in whatever a training function returned, and saying what they are.

Students hand the history back in many shapes: the list the template asks for, ``(model, losses)``,
``(train_losses, val_losses)``, a dict (``{"train_loss": ...}``, ``{"losses": ...}``), a tensor, one loss per batch,
or nothing at all. The grader judges the parameters first (:mod:`grader.checks.training`); here it looks for the
losses of the same run anywhere in the returned value and tells apart one mean per epoch (full credit), one loss
per batch (recognised, the rubric's share), something else (wrong), and nothing.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from .cases import ReferenceRun

LOSS_LIMIT = 1e-9
"""Relative difference allowed between a returned loss and the grader's own run's (float64)."""
PREFERRED_KEYS = ("train_loss", "train_losses", "losses_train", "loss_train", "loss", "losses", "training_loss")
"""Where a returned dict most likely holds the training losses (looked at first)."""


@dataclass(frozen=True)
class Losses:
    """What the returned value holds: ``kind`` is "epoch" (one mean loss per epoch), "batch" (one loss per batch),
    "wrong" (numbers that are neither) or "none" (no list of numbers at all); ``where`` says where they were found
    (``returned[1]``, ``returned['train_loss']``) and ``shown`` what they were."""

    kind: str
    where: str = ""
    shown: str = ""
    values: list[float] | None = None


def numbers(value: object) -> list[float] | None:
    """``value`` as a list of floats when it is a sequence of plain numbers (or a 1-D tensor, or 0-d tensors)."""
    if isinstance(value, torch.Tensor):
        return [float(v) for v in value.flatten().tolist()] if value.dim() == 1 and value.is_floating_point() else None
    if not isinstance(value, list) or not value:
        return None
    found = []
    for item in value:
        if isinstance(item, torch.Tensor) and item.numel() == 1 and item.is_floating_point():
            found.append(float(item.item()))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            found.append(float(item))
        else:
            return None
    return found


def _batches(value: object) -> list[float] | None:
    """A list of per-epoch lists of numbers, flattened (None when ``value`` is not one)."""
    if not isinstance(value, list) or not value:
        return None
    epochs = [numbers(item) for item in value]
    if any(epoch is None for epoch in epochs):
        return None
    return [loss for epoch in epochs for loss in epoch or ()]


def candidates(value: object, where: str = "returned", depth: int = 0) -> Iterator[tuple[str, list[float]]]:
    """Every list of numbers in ``value`` (flat, or per epoch and batch, flattened), the likeliest first."""
    flat = numbers(value)
    if flat is not None:
        yield where, flat
        return
    nested = _batches(value)
    if nested is not None:
        yield where, nested  # one list per epoch of its batch losses, or (train, validation) lists: both looked at
    if depth >= 3:
        return
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (k not in PREFERRED_KEYS, PREFERRED_KEYS.index(k)
                                            if k in PREFERRED_KEYS else 0))
        for key in keys:
            yield from candidates(value[key], f"{where}[{key!r}]", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[:16]):
            yield from candidates(item, f"{where}[{index}]", depth + 1)


def _close(got: list[float], expected: list[float]) -> bool:
    return len(got) == len(expected) and all(abs(a - b) <= LOSS_LIMIT * max(abs(b), 1.0) for a, b in zip(got, expected))


def classify(returned: object, run: ReferenceRun) -> Losses:
    """What ``returned`` holds of ``run``'s losses (see :class:`Losses`). A per-epoch mean may average the batch
    losses (the template's way) or the samples (the same when every batch is full): both are right."""
    batch_losses = [loss for epoch in run.batch_losses for loss in epoch]
    found = list(candidates(returned))
    for where, values in found:
        if _close(values, run.epoch_losses) or _close(values, run.sample_means):
            return Losses("epoch", where, show(values), values)
    for where, values in found:
        if _close(values, batch_losses):
            return Losses("batch", where, show(values), values)
    if found:
        where, values = found[0]
        return Losses("wrong", where, show(values), values)
    return Losses("none", "", describe(returned))


def epoch_losses_in(returned: object) -> list[float] | None:
    """The likeliest list of losses in ``returned`` (for the diagnosis, which compares it with imitated runs)."""
    return next((values for _, values in candidates(returned)), None)


def show(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.10g}" for v in values[:6]) + (", ..." if len(values) > 6 else "") + "]"


def describe(value: Any) -> str:
    """A short account of a returned value with no losses in it (no Python object repr)."""
    if value is None:
        return "None"
    if isinstance(value, dict) and set(value) == {"__repr__"}:
        return f"a {str(value['__repr__']).rsplit('.', 1)[-1]} object"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)[:8]}"
    if isinstance(value, list):
        return f"a sequence of {len(value)} item(s)"
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {str(value)[:40]}"

"""The accuracy stage: train the submission's MyMLP on CIFAR-10 airplane/bird with its own train and, separately,
its own train_manual_update; judge each run's test accuracy, counted by the grader from the returned logits.

Each function is judged on its own against thresholds calibrated on the run-to-run spread of correct solutions
(docs/accuracy.md, "The accuracy stage and its calibration"): the equivalence of the manual update with torch.optim.SGD
is proved exactly by the train_manual_update check, so this stage never compares the two runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..assignment.declaration import Assignment
from ..data.cifar import Arrays, DataError, channel_statistics, load_arrays, resized, split_indices
from ..outcomes import FailureKind
from ..report.results import CheckResult, Part
from ..sandbox.reply import Failure
from .base import Context, Skip, failed_call, not_checked
from .registry import Check, TimedSettings
from .stage_time import predict, too_slow

FUNCTIONS = ("train", "train_manual_update")
BUDGET_MARGIN = 20.0
"""Seconds kept back from a time budget for what follows the stage (the reports)."""


@dataclass(frozen=True)
class AccuracySettings(TimedSettings):
    points: float = 15
    seconds: float = 1200
    """The stage's own wall-time limit (both trainings)."""
    epochs: int = 30
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.001
    batch_size: int = 256
    full_credit: float = 0.765
    """Test accuracy from which a function earns its full weight: under the calibrated spread of correct runs,
    the chance that a correct solution falls below it in either function is under 1 in 10,000 (docs/accuracy.md)."""
    partial_credit: float = 0.70
    """Test accuracy from which a function earns ``partial_share`` of its weight."""
    partial_share: float = 0.5
    leakage: float = 0.95
    """At or above: flagged for the instructor as implausibly high for this MLP."""
    train_weight: float = 0.5
    manual_weight: float = 0.3
    compute_accuracy_weight: float = 0.2


def run(ctx: Context) -> list[Part]:
    if ctx.data_root is None:
        raise Skip("no data folder was given")
    try:
        arrays = load_arrays(ctx.data_root, ctx.cache_dir)
    except DataError as error:
        raise Skip(str(error)) from None
    settings = ctx.settings_as(AccuracySettings)
    _fits_the_budget(ctx, settings, len(arrays.train_labels))
    data = stage_data(arrays, ctx.assignment, ctx.host.scratch_dir())
    labels = arrays.test_labels
    del arrays  # the worker reads the images from the files just written: none is held here while it trains
    payload = stage_payload(data, settings, ctx.seed, ctx.device)
    conditions = (f"{settings.epochs} epochs, batch {settings.batch_size}, lr {settings.lr:g}, momentum "
                  f"{settings.momentum:g}, weight decay {settings.weight_decay:g}, seed {ctx.seed}, on "
                  f"{data['train_size']} training images, tested on {len(labels)}")
    names = {function: ctx.assignment.callable(function).name for function in FUNCTIONS}
    outcomes = {function: _train_and_test(ctx, payload, function, labels, names[function]) for function in FUNCTIONS}
    _within_the_budget(ctx, outcomes)
    return verdict(settings, conditions, outcomes, len(labels), names, ctx.assignment.callable("compute_accuracy").name)


def _fits_the_budget(ctx: Context, settings: AccuracySettings, images: int) -> None:
    """Under a time budget: Skip (not graded, saying which setting to change) when the stage's trainings are
    predicted not to fit in what is left of it; else end the stage's calls where the budget ends."""
    left, budget = ctx.budget_left(), ctx.budget_seconds
    if left is None or budget is None or ctx.budget_end is None:
        return
    spec = ctx.assignment.data
    train_size = images - int(round(spec.val_fraction * images))
    prediction = predict(tuple(ctx.assignment.mlp.sizes), getattr(torch, spec.dtype), settings.batch_size, train_size,
                         settings.epochs, len(FUNCTIONS))
    if prediction.wall_seconds > left - BUDGET_MARGIN:
        raise Skip(too_slow(prediction, left, budget))
    ctx.deadline = min(ctx.deadline, ctx.budget_end - BUDGET_MARGIN)


def _within_the_budget(ctx: Context, outcomes: dict[str, Any]) -> None:
    """A training that the time budget's end stopped was not the student's doing: the stage is not graded."""
    if ctx.budget_end is None or ctx.budget_seconds is None:
        return
    stopped = [o for o in outcomes.values() if isinstance(o, Failure) and o.kind is FailureKind.TIMEOUT]
    if stopped and time.monotonic() >= ctx.budget_end - BUDGET_MARGIN - 1:
        raise Skip(f"not graded: the grading's time budget of {ctx.budget_seconds:g} s ran out during the accuracy "
                   "stage's trainings on this machine. Give the autograder more CPU (Gradescope: the assignment's "
                   "Autograder settings) or a longer timeout (and build the bundle with --timeout to match).")


def stage_data(arrays: Arrays, assignment: Assignment, folder: Path) -> dict[str, Any]:
    """What the stage trains and tests on, written into ``folder`` (which the worker may read) as uint8 ``.npy``
    files it memory-maps: the training split (the assignment's seeded validation split left out) and the test images
    at the assignment's image size, their labels; and the training split's channel statistics (the worker normalises
    a batch at a time). Plain data for the payload: the files' paths, ``mean``, ``std``, ``train_size``."""
    spec = assignment.data
    train_idx, _ = split_indices(len(arrays.train_labels), spec.val_fraction, spec.split_seed)
    size = tuple(spec.image_shape[1:])
    train_x = resized(arrays.train_images[train_idx], size)
    mean, std = channel_statistics(train_x)
    arrays_by_name = {"train_x": train_x, "train_y": arrays.train_labels[train_idx],
                      "test_x": resized(arrays.test_images, size), "test_y": arrays.test_labels}
    files = {}
    for name, array in arrays_by_name.items():
        files[name] = str(folder / f"accuracy-{name}.npy")
        np.save(files[name], array.numpy(), allow_pickle=False)
    return {"files": files, "mean": mean, "std": std, "train_size": len(train_idx)}


def stage_payload(data: dict[str, Any], settings: AccuracySettings, seed: int, device: str) -> dict[str, Any]:
    """What the worker's ``accuracy`` call gets: the stage's data (:func:`stage_data`), the seed, the device and
    the rubric's hyperparameters."""
    return {"data": data, "device": device, "seed": seed, "batch_size": settings.batch_size,
            "hyperparameters": {"epochs": settings.epochs, "lr": settings.lr, "momentum": settings.momentum,
                                "weight_decay": settings.weight_decay}}


def _train_and_test(ctx: Context, payload: dict[str, Any], function: str, labels: torch.Tensor,
                    name: str) -> dict[str, Any] | Failure:
    if ctx.remaining() <= 0:
        return Failure(FailureKind.NOT_RUN, "the accuracy stage ran out of time", function=name)
    reply = ctx.call("accuracy", {**payload, "function": function})
    if reply.failure is not None:
        return reply.failure
    return judge_logits(reply.value, name, labels)


def judge_logits(value: dict[str, Any], name: str, labels: torch.Tensor) -> dict[str, Any] | Failure:
    """The test accuracy the grader counts from the returned logits (a Failure when they are malformed)."""
    logits = value["logits"]
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(labels), 2) or \
            not torch.isfinite(logits.double()).all():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        return Failure(FailureKind.WRONG, f"after {name}(...), the model's test outputs are {shape} (or not "
                                          f"finite); expected ({len(labels)}, 2)", function=name)
    accuracy = (logits.argmax(dim=1) == labels).double().mean().item()
    return {"accuracy": accuracy, "student_accuracy": value.get("student_accuracy"),
            "student_accuracy_error": value.get("student_accuracy_error"), "train_seconds": value["train_seconds"]}


def verdict(settings: AccuracySettings, conditions: str, outcomes: dict[str, Any], n_test: int, names: dict[str, str],
            accuracy_name: str) -> list[Part]:
    """The stage's parts: two tiers per function (partial, full), and compute_accuracy's agreement."""
    parts = []
    for function, weight in zip(FUNCTIONS, (settings.train_weight, settings.manual_weight)):
        parts += _tiers(names[function], outcomes[function], settings, weight, conditions)
    return parts + [_compute_accuracy(outcomes, settings.compute_accuracy_weight, n_test, names, accuracy_name)]


def _tiers(function: str, outcome: dict[str, Any] | Failure, settings: AccuracySettings, weight: float,
           conditions: str) -> list[Part]:
    tiers = ((f"{function}: test accuracy at least {settings.partial_credit:g} (partial credit)",
              settings.partial_credit, weight * settings.partial_share),
             (f"{function}: test accuracy at least {settings.full_credit:g} (full credit)",
              settings.full_credit, weight * (1 - settings.partial_share)))
    if isinstance(outcome, Failure) and outcome.kind is FailureKind.BINDING:
        return [not_checked(label, outcome) for label, _, _ in tiers]  # charged once, by the function's own check
    if isinstance(outcome, Failure):
        return [failed_call(label, f"{function}(...)", outcome, weight=share) for label, _, share in tiers]
    accuracy = outcome["accuracy"]
    message = f"{function} reached test accuracy {accuracy:.4f} ({conditions})."
    details = {"function": function, "accuracy": accuracy, "train_seconds": outcome["train_seconds"]}
    flags = [f"{function}: test accuracy {accuracy:.4f} >= {settings.leakage:g} is implausibly high for this MLP: "
             "check for test data in training (leakage)"] if accuracy >= settings.leakage else []
    return [Part(label, accuracy >= threshold, message, share, None if accuracy >= threshold else FailureKind.WRONG,
                 {**details, "flags": flags} if index else details)
            for index, (label, threshold, share) in enumerate(tiers)]


def _compute_accuracy(outcomes: dict[str, Any], weight: float, n_test: int, names: dict[str, str], name: str) -> Part:
    label = f"{name}(model, test_loader) agrees with the grader's count"
    ran = [(names[function], outcome) for function, outcome in outcomes.items() if not isinstance(outcome, Failure)]
    if not ran:
        return Part.fail(label, "not judged: neither training produced a model", FailureKind.NOT_RUN, weight)
    function, outcome = ran[0]
    if outcome.get("student_accuracy_error"):
        return Part.fail(label, f"after {function}, {name}(model, test_loader) raised "
                         f"{outcome['student_accuracy_error']}", FailureKind.EXCEPTION, weight, {"function": name})
    reported = outcome["student_accuracy"]
    if isinstance(reported, torch.Tensor) and reported.numel() == 1:
        reported = reported.item()
    agrees = isinstance(reported, (int, float)) and not isinstance(reported, bool) and \
        abs(reported - outcome["accuracy"]) <= 0.5 / n_test
    message = (f"after {function}, {name} returned {reported!r:.40}; the grader counts "
               f"{outcome['accuracy']:.4f} on the same {n_test} test images")
    details = {"function": name, "reported": reported if agrees else repr(reported)[:40]}
    return Part(label, agrees, message, weight, None if agrees else FailureKind.WRONG, details)


def reached(result: CheckResult) -> dict[str, dict[str, Any]]:
    """From an accuracy CheckResult: per training function that ran, its test accuracy and training seconds."""
    return {p.details["function"]: {"accuracy": p.details["accuracy"], "train_seconds": p.details["train_seconds"]}
            for p in result.parts if "accuracy" in p.details}


CHECKS = (Check("accuracy",
                "accuracy: {mlp} trained with your {train} / {train_manual_update} on CIFAR-10 airplane vs bird",
                run, AccuracySettings, needs_data=True,
                grades=("mlp", "train", "train_manual_update", "compute_accuracy")),)

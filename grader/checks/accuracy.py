"""The accuracy stage: train the submission's MyMLP on CIFAR-10 airplane/bird with its own train and, separately,
its own train_manual_update; judge each run's test accuracy, counted by the grader from the returned logits.

Each function is judged on its own against thresholds calibrated on the run-to-run spread of correct solutions
(docs/accuracy.md, "The accuracy stage and its calibration"): the equivalence of the manual update with torch.optim.SGD
is proved exactly by the train_manual_update check, so this stage never compares the two runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..assignment.declaration import Assignment
from ..data.cifar import Arrays, DataError, load_arrays, resized, split_indices
from ..kinds import FailureKind
from ..report.results import CheckResult, Part
from ..sandbox.reply import Failure
from .base import Context, Skip, failed_call, not_checked
from .registry import Check, TimedSettings

FUNCTIONS = ("train", "train_manual_update")


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
    payload = stage_payload(arrays, settings, ctx.seed, ctx.device, ctx.assignment)
    conditions = (f"{settings.epochs} epochs, batch {settings.batch_size}, lr {settings.lr:g}, momentum "
               f"{settings.momentum:g}, weight decay {settings.weight_decay:g}, seed {ctx.seed}, on "
               f"{len(payload['train_y'])} training images, tested on {len(arrays.test_labels)}")
    names = {function: ctx.assignment.callable(function).name for function in FUNCTIONS}
    outcomes = {function: _train_and_test(ctx, payload, function, arrays.test_labels, names[function])
                for function in FUNCTIONS}
    return verdict(settings, conditions, outcomes, len(arrays.test_labels), names,
                   ctx.assignment.callable("compute_accuracy").name)


def stage_payload(arrays: Arrays, settings: AccuracySettings, seed: int, device: str,
                  assignment: Assignment) -> dict[str, Any]:
    """What the worker's ``accuracy`` call trains on: the training split (the assignment's seeded validation
    split left out), the test images at the assignment's image size, and the rubric's hyperparameters."""
    data = assignment.data
    train_idx, _ = split_indices(len(arrays.train_labels), data.val_fraction, data.split_seed)
    size = tuple(data.image_shape[1:])
    return {"train_x": resized(arrays.train_images[train_idx], size), "train_y": arrays.train_labels[train_idx],
            "test_x": resized(arrays.test_images, size), "test_y": arrays.test_labels, "device": device, "seed": seed,
            "batch_size": settings.batch_size,
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

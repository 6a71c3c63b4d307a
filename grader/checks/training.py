"""train and train_manual_update against the grader's own torch.optim.SGD loop, in float64.

What the functions return is declared by the assignment: a history dict (``train_loss``, ``train_acc``, ``val_loss``,
``val_acc``) or the list of per-epoch mean losses. A hyperparameter the student's function has no parameter for is
graded at the template's default only: the parts that need another value fail, saying why; the others are graded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeGuard

import torch

from ..assignment import Callable
from ..binding import literal
from ..cases import SGDConfig, reference_training, sgd_configs, training_problem
from ..compare import relative_difference, relative_mismatch
from ..diagnosis import Diagnosis, diagnosed, first_match
from ..diagnosis import training as training_diagnosis
from ..diagnosis.training import MANUAL_VARIANTS, TRAIN_VARIANTS
from ..report.results import Part
from ..sandbox.replies import TrainingReply
from .base import CheckTimeUp, Context, failed_call, find_failure, out_of_time, timed
from .registry import Check, GeneratedCases, Settings

PARAMETER_LIMIT = 1e-9
"""Relative difference allowed between the student's parameters and torch.optim.SGD's (float64)."""
LOSS_LIMIT = 1e-9
HYPERPARAMETERS = ("lr", "momentum", "weight_decay")
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
LOSS_KEYS = ("train_loss", "train_losses", "losses_train", "loss", "losses")
"""Where a function declared to return its losses may also have put them, in a dict."""


def _train_labels(spec: Callable) -> dict[str, str]:
    labels = {"params": "parameters match a torch.optim.SGD loop after every configuration"}
    if spec.returns == "history":
        labels["loss"] = "train_loss holds the mean of each epoch's batch losses"
        labels["lists"] = f"history lists: one value per epoch; val_* empty without a {spec.name_of('val_loader')}"
    else:
        labels["loss"] = f"{spec.name} returns the mean of each epoch's batch losses"
    return labels


def run_train(ctx: Context) -> list[Part]:
    spec = ctx.assignment.callable("train")
    observations: list[tuple[dict[str, Any], dict[str, Any]]] = []
    labels = _train_labels(spec)
    with_validation = spec.returns == "history" and spec.parameter("val_loader") is not None
    configs: tuple[tuple[SGDConfig, bool], ...] = ((SGDConfig(0.1, 0.9, 0.01, 3, 20, 8, ctx.seed), with_validation),
                                                   (SGDConfig(0.05, 0.0, 0.0, 2, 12, 4, ctx.seed + 1), False))
    failures: dict[str, Part] = {}
    if with_validation and not ctx.has_role("train", "val_loader"):
        failures["lists"] = Part.fail(labels["lists"], f"{spec.name} has no parameter for the template's "
                                      f"{spec.name_of('val_loader')}, so the validation history cannot be checked.",
                                      details={"function": spec.name})
        configs = tuple((config, False) for config, _ in configs)
    try:
        for config, validation in configs:
            _judge_train_call(ctx, spec, labels, config, validation, failures, observations)
    except CheckTimeUp:
        for key, label in labels.items():
            failures.setdefault(key, out_of_time(label))
    diagnosis = _diagnosis("train", TRAIN_VARIANTS, observations, spec) if failures else None
    return [diagnosed(failures[key], diagnosis, "your parameters and losses") if key in failures else Part.ok(label)
            for key, label in labels.items()]


def _diagnosis(key: str, variants: dict[str, Any], observations: list[Any], spec: Callable) -> Diagnosis | None:
    """The misconception that explains every training run the check made (None when none does)."""
    if not observations:
        return None
    held = training_diagnosis.holding(observations, variants, lambda value: losses_returned(value, spec.returns))
    return first_match(key, held, len(observations))


def _judge_train_call(ctx: Context, spec: Callable, labels: dict[str, Any], config: SGDConfig, validation: bool,
                      failures: dict[str, Part], observations: list[Any]) -> None:
    payload = training_problem(config, validation)
    pending = ctx.begin("train", payload)
    expected, seconds = timed(reference_training, payload)
    reply = ctx.finish(pending, seconds)
    context = f"{spec.name}(...) with torch.optim.SGD({config.describe()})" + \
        (f" and a {spec.name_of('val_loader')}" if validation else "")
    if not reply.ok:
        for key, label in labels.items():
            failures.setdefault(key, failed_call(label, f"{spec.name}(...)", reply.failure, context=context))
        return
    observations.append((payload, reply.value))
    for key, message in _judge_training(spec, payload, reply.value, context, validation, expected).items():
        failures.setdefault(key, Part.fail(labels[key], message, details={"function": spec.name}))


def _judge_training(spec: Callable, payload: dict[str, Any], value: TrainingReply, context: str, with_validation: bool,
                    expected: tuple[dict[str, torch.Tensor], list[float]]) -> dict[str, str]:
    expected_params, expected_losses = expected
    problems = {}
    for name, tensor in expected_params.items():
        problem = relative_mismatch(f"parameter {name}", value["params_after"].get(name), tensor, PARAMETER_LIMIT)
        if problem:
            problems["params"] = (f"{context}: after {payload['n_epochs']} epochs {problem} "
                                  "(Forgotten zero_grad? More than one step per batch?)")
            break
    returned = value["history"]
    if spec.returns == "history":
        return {**problems, **_judge_history(returned, expected_losses, payload["n_epochs"], context,
                                             with_validation)}
    losses = losses_returned(returned, spec.returns)
    if not _same_losses(losses, expected_losses):
        problems["loss"] = (f"{context} returned {_show(returned)}; expected the list of each epoch's mean batch "
                            f"loss, {_show(expected_losses)}.")
    return problems


def _judge_history(history: object, expected_losses: list[float], epochs: int, context: str,
                   with_validation: bool) -> dict[str, str]:
    if not isinstance(history, dict):
        return {"loss": f"{context} returned {type(history).__name__}, not a dict.",
                "lists": f"{context} returned no history dict."}
    problems = {}
    losses = history.get("train_loss")
    if not _same_losses(losses, expected_losses):
        problems["loss"] = (f"{context}: history['train_loss'] = {_show(losses)}; expected the mean batch loss of "
                            f"each epoch, {_show(expected_losses)}.")
    want_val = epochs if with_validation else 0
    for key, length in (("train_acc", epochs), ("val_loss", want_val), ("val_acc", want_val)):
        if not isinstance(history.get(key), list) or len(history[key]) != length:
            problems["lists"] = (f"{context}: history[{key!r}] = {_show(history.get(key))}; expected a list of "
                                 f"{length} value(s).")
            break
    return problems


def losses_returned(value: object, returns: str) -> object:
    """The per-epoch losses in what a training function returned: the history's ``train_loss``; for a function
    declared to return its losses, that list, or the first list of a returned tuple (``losses_train,
    losses_val``), or a loss list in a returned dict."""
    if returns == "history":
        return value.get("train_loss") if isinstance(value, dict) else None
    if _numbers(value):
        return value
    if isinstance(value, list) and value and _numbers(value[0]):
        return value[0]
    if isinstance(value, dict):
        return next((value[key] for key in LOSS_KEYS if _numbers(value.get(key))), None)
    return None


def _same_losses(got: object, expected: list[float]) -> bool:
    """True when ``got`` is a list of numbers each within LOSS_LIMIT of ``expected`` (NaN never is)."""
    return _numbers(got) and len(got) == len(expected) and all(
        abs(a - b) <= LOSS_LIMIT * max(abs(b), 1.0) for a, b in zip(got, expected))


def _numbers(values: object) -> TypeGuard[list[float]]:
    return isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _show(values: object) -> str:
    if isinstance(values, list) and _numbers(values):
        return "[" + ", ".join(f"{v:.10g}" for v in values[:6]) + (", ..." if len(values) > 6 else "") + "]"
    return repr(values)[:100]


FIXED_CONFIGS = (
    ("plain SGD (momentum 0, weight decay 0)", SGDConfig(0.05, 0.0, 0.0, 3, 12, 4, 0),
     "Update p <- p - {lr} * grad for every parameter, then zero the gradients."),
    ("momentum (0.9), no weight decay", SGDConfig(0.05, 0.9, 0.0, 3, 12, 4, 1),
     "Keep one buffer per parameter across all batches and epochs: buf <- {momentum} * buf + grad "
     "(buf = grad on the first step)."),
    ("weight decay (0.01), no momentum", SGDConfig(0.05, 0.0, 0.01, 3, 12, 4, 2),
     "The L2 term: grad <- grad + {weight_decay} * p."),
    ("momentum (0.9) and weight decay (0.01)", SGDConfig(0.05, 0.9, 0.01, 3, 12, 4, 3),
     "Add {weight_decay} * p to the gradient before it enters the momentum buffer (not decoupled)."),
)
GENERATED_LABEL = "matches torch.optim.SGD on every generated configuration"


def run_manual(ctx: Context) -> list[Part]:
    spec = ctx.assignment.callable("train_manual_update")
    names = {role: spec.name_of(role) for role in HYPERPARAMETERS}
    parts: list[Part] = []
    observations: list[tuple[dict[str, Any], TrainingReply]] = []
    try:
        for label, config, hint in FIXED_CONFIGS:
            part = _manual_problem(ctx, spec, dataclasses.replace(config, seed=ctx.seed + config.seed),
                                   f"matches torch.optim.SGD with {label}", observations)
            parts.append(_with_hint(part, hint.format(**names)) if part
                         else Part.ok(f"matches torch.optim.SGD with {label}"))
        parts.append(_generated(ctx, spec, observations))
    except CheckTimeUp:
        parts.append(out_of_time("finished in time"))
    if all(part.passed for part in parts):
        return parts
    diagnosis = _diagnosis("train_manual_update", MANUAL_VARIANTS, observations, spec)
    return [diagnosed(part, diagnosis, "your parameters") for part in parts]


def _generated(ctx: Context, spec: Callable, observations: list[Any]) -> Part:
    """The generated configurations; a hyperparameter the student's function lacks stays at the template's
    default (its other values are charged by the fixed configurations, once)."""
    declared = {role: spec.parameter(role) for role in HYPERPARAMETERS}
    defaults = {role: literal(entry.default) for role, entry in declared.items() if entry is not None}
    fixed = {role: float(value) for role, value in defaults.items()
             if isinstance(value, (int, float)) and not ctx.has_role(spec.key, role)}
    runs, failure = find_failure(sgd_configs(fixed), ctx.settings_as(GeneratedCases).examples, ctx.seed,
                                 lambda config: _manual_problem(ctx, spec, config, GENERATED_LABEL, observations))
    pinned = ", ".join(f"{spec.name_of(role)}={value:g}" for role, value in fixed.items())
    only = f" (with {pinned} only: your {spec.name} has no parameter for it)" if pinned else ""
    return failure or Part.ok(GENERATED_LABEL, f"All {runs} generated configurations match{only}.",
                              details={"examples": runs})


def _with_hint(part: Part, hint: str) -> Part:
    return part if "Hint" in part.message else dataclasses.replace(part, message=f"{part.message}\nHint: {hint}")


def _manual_problem(ctx: Context, spec: Callable, config: SGDConfig, label: str,
                    observations: list[Any]) -> Part | None:
    payload = training_problem(config)
    try:
        pending = ctx.begin("train_manual_update", payload)
    except CheckTimeUp:
        return out_of_time(label)
    (expected, losses), seconds = timed(reference_training, payload)
    reply = ctx.finish(pending, seconds)
    names = {role: spec.name_of(role) for role in HYPERPARAMETERS}
    context = f"{spec.call()} with {config.describe(names)}"
    if not reply.ok:
        return failed_call(label, f"{spec.name}(...)", reply.failure, context=context)
    observations.append((payload, reply.value))
    details = {"function": spec.name}
    if not _params_match(reply.value["params_after"], expected):
        return Part.fail(label, f"{context}: {_first_divergence(ctx, payload)}", details=details)
    returned = reply.value["history"]
    got = losses_returned(returned, spec.returns)
    if not _same_losses(got, losses):
        shown = f"history['train_loss'] = {_show(got)}" if spec.returns == "history" else f"returned {_show(returned)}"
        return Part.fail(label, f"{context}: {shown}; expected {_show(losses)}.", details=details)
    return None


def _params_match(got: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(relative_mismatch(name, got.get(name), tensor, PARAMETER_LIMIT) is None
               for name, tensor in expected.items())


def _first_divergence(ctx: Context, payload: dict[str, Any]) -> str:
    """Which epoch the parameters first part from torch.optim.SGD's, and by how much."""
    for epochs in range(1, payload["n_epochs"] + 1):
        shorter = {**payload, "n_epochs": epochs}
        pending = ctx.begin("train_manual_update", shorter)
        (expected, _), seconds = timed(reference_training, shorter)
        reply = ctx.finish(pending, seconds)
        if not reply.ok:
            continue
        got = reply.value["params_after"]
        worst = max(expected, key=lambda n: _difference(got.get(n), expected[n]))
        difference = _difference(got.get(worst), expected[worst])
        if difference > PARAMETER_LIMIT:
            matched = f" (after epoch {epochs - 1} they still matched)" if epochs > 1 else ""
            return (f"the parameters first differ from torch.optim.SGD's after epoch {epochs}{matched}: "
                    f"largest relative difference {difference:.3g} in {worst} (allowed {PARAMETER_LIMIT:g}).")
    return "the parameters differ from torch.optim.SGD's."


def _difference(got: object, expected: torch.Tensor) -> float:
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not got.is_floating_point():
        return float("inf")
    return relative_difference(got, expected) if torch.isfinite(got).all() else float("inf")


@dataclass(frozen=True)
class TrainSettings(Settings):
    points: float = 10


@dataclass(frozen=True)
class ManualSettings(GeneratedCases):
    points: float = 15
    examples: int = 8


CHECKS = (
    Check("train", "{train}: same parameters and loss history as a torch.optim.SGD loop", run_train,
          TrainSettings, grades=("train",)),
    Check("train_manual_update", "{train_manual_update}: same parameters as torch.optim.SGD (momentum, weight decay)",
          run_manual, ManualSettings, grades=("train_manual_update",)),
)

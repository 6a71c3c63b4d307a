"""train and train_manual_update against the grader's own torch.optim.SGD loop, in float64: parameters first,
returns second.

The effect is judged before the form. The model the grader passes (or a model the function returns, trained on a
copy) must end with torch.optim.SGD's parameters: that is most of the points (``1 - history_share``). The losses
are then looked for in whatever came back (:mod:`grader.checks.losses`): one mean per epoch earns the history's
share, one loss per batch ``per_batch_share`` of it, ``None`` or other numbers nothing, and the parameters keep
their points either way. The losses are judged on the calls whose parameters matched (elsewhere the right losses
are unknown). A hyperparameter the student's function has no parameter for is graded at the template's default
only: the parts that need another value fail, saying why; the others are graded.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch

from ..assignment.binding import literal
from ..assignment.declaration import Callable
from ..outcomes import FailureKind
from ..report.results import Part
from ..sandbox.reply import TrainingReply
from .base import CheckTimeUp, Context, failed_call, out_of_time
from .cases import ReferenceRun, SGDConfig, reference_for, sgd_configs
from .compare import relative_difference, relative_mismatch
from .diagnosis import Diagnosis, diagnosed, first_match
from .diagnosis import training as training_diagnosis
from .diagnosis.training import MANUAL_VARIANTS, TRAIN_VARIANTS
from .losses import classify, epoch_losses_in
from .registry import Check, GeneratedCases, Settings
from .search import find_failure

PARAMETER_LIMIT = 1e-9
"""Relative difference allowed between the student's parameters and torch.optim.SGD's (float64)."""
HYPERPARAMETERS = ("lr", "momentum", "weight_decay")


@dataclass(frozen=True)
class HistoryShares(Settings):
    """How a training check's points divide between the parameters and what the function returns."""

    history_share: float = 0.25
    """Share of the check's points for the returned losses (and history lists); the rest is for the parameters."""
    per_batch_share: float = 0.5
    """Share of the losses' points that one loss per batch, instead of one mean per epoch, still earns."""


@dataclass
class TrainingCall:
    """One call of a training function: the problem, the grader's own run, and what came back."""

    payload: dict[str, Any]
    run: ReferenceRun
    context: str
    value: TrainingReply | None = None
    failure: Part | None = None
    """The failed part when the call produced no value."""
    problem: str | None = None
    """How the parameters differ from torch.optim.SGD's (None: they match)."""


@dataclass
class Calls:
    """Every training call a check made, in order."""

    made: list[TrainingCall] = field(default_factory=list)

    def matched(self) -> list[TrainingCall]:
        return [c for c in self.made if c.value is not None and c.problem is None]

    def observations(self) -> list[tuple[dict[str, Any], TrainingReply]]:
        return [(c.payload, c.value) for c in self.made if c.value is not None]

    def first_failure(self) -> Part | None:
        return next((c.failure for c in self.made if c.failure is not None), None)


def trained_params(value: TrainingReply) -> dict[str, Any]:
    """The parameters the function trained: those of a model it returned (trained on a copy), else the passed
    model's."""
    return value.get("returned_params") or value.get("params_after") or {}


def parameter_problem(value: TrainingReply, expected: dict[str, torch.Tensor]) -> str | None:
    """How the trained parameters differ from ``expected`` (None when the passed or the returned model matches)."""
    first = None
    candidates: tuple[dict[str, Any] | None, ...] = (value.get("params_after") or {}, value.get("returned_params"))
    for params in candidates:
        if params is None:
            continue
        problem = next((p for name, tensor in expected.items()
                        if (p := relative_mismatch(f"parameter {name}", params.get(name), tensor, PARAMETER_LIMIT))),
                       None)
        if problem is None:
            return None
        first = first or problem
    return first


def training_call(ctx: Context, call: str, config: SGDConfig, context: str, calls: Calls,
                  validate: bool = False) -> TrainingCall:
    """Run the student's training function on ``config``'s problem while the grader runs torch.optim.SGD on it."""
    payload, run, seconds = reference_for(config, validate, len(ctx.assignment.data.classes))
    pending = ctx.begin(call, payload)
    reply = ctx.finish(pending, seconds)
    made = TrainingCall(payload, run, context)
    spec = ctx.assignment.callable(call)
    if not reply.ok:
        made.failure = failed_call("", f"{spec.name}(...)", reply.failure, context=context)
    else:
        made.value = reply.value
        made.problem = parameter_problem(reply.value, run.params)
    calls.made.append(made)
    return made


# ---------------------------------------------------------------- what came back

def history_parts(spec: Callable, calls: Calls, shares: HistoryShares, validation: bool = False,
                  lists_problem: Part | None = None) -> list[Part]:
    """The parts for what the function returned, worth ``history_share`` together: its losses found (per epoch or
    per batch), one mean per epoch, and for a history dict its lists."""
    weight = shares.history_share
    lists = spec.returns == "history"
    losses_weight = weight * (2 / 3 if lists else 1.0)
    found_label = f"{spec.name} returns its training losses (one per batch earns part of this)"
    epoch_label = f"{spec.name} returns one mean loss per epoch"
    parts = _loss_parts(calls, found_label, epoch_label, losses_weight * shares.per_batch_share,
                        losses_weight * (1 - shares.per_batch_share))
    if lists:
        label = f"history lists: one value per epoch; val_* empty without a {spec.name_of('val_loader')}"
        parts.append(lists_problem and dataclasses.replace(lists_problem, label=label, weight=weight / 3)
                     or _lists_part(calls, label, weight / 3))
    return parts


def _loss_parts(calls: Calls, found_label: str, epoch_label: str, found_weight: float,
                epoch_weight: float) -> list[Part]:
    matched = calls.matched()
    if not matched:
        reason = _not_judged(calls)
        return [dataclasses.replace(reason, label=found_label, weight=found_weight),
                dataclasses.replace(reason, label=epoch_label, weight=epoch_weight)]
    judged = [(call, classify(call.value["history"] if call.value else None, call.run)) for call in matched]
    worst = min(judged, key=lambda pair: ("none", "wrong", "batch", "epoch").index(pair[1].kind))
    call, losses = worst
    expected = _shown(call.run.epoch_losses)
    if losses.kind == "epoch":
        where = "" if losses.where in ("returned", "returned['train_loss']") else f" (found in {losses.where})"
        return [Part.ok(found_label, f"The losses match torch.optim.SGD's run{where}.", found_weight),
                Part.ok(epoch_label, weight=epoch_weight)]
    if losses.kind == "batch":
        message = (f"{call.context}: {losses.where} holds one loss per batch ({len(losses.values or [])} values, "
                   f"{losses.shown}); expected one mean per epoch, {expected}.")
        return [Part.ok(found_label, f"One loss per batch, found in {losses.where}.", found_weight),
                Part.fail(epoch_label, message, weight=epoch_weight, details={"per_batch": True})]
    if losses.kind == "wrong":
        message = (f"{call.context}: {losses.where} = {losses.shown}; expected each epoch's mean batch loss, "
                   f"{expected} (the parameters match torch.optim.SGD, so the losses should too).")
    else:
        message = (f"{call.context} returned {losses.shown}: no list of losses in it; expected each epoch's mean "
                   f"batch loss, {expected}. Your parameters were graded on their own.")
    return [Part.fail(found_label, message, weight=found_weight), Part.fail(epoch_label, message, weight=epoch_weight)]


def _not_judged(calls: Calls) -> Part:
    """Why the losses could not be judged: every call failed (that failure), or no call's parameters matched."""
    failure = calls.first_failure()
    if not any(c.value is not None for c in calls.made) and failure is not None:
        return failure
    return Part.fail("", "Not checked: the parameters never matched torch.optim.SGD's, so the losses they should "
                     "give are unknown (see the parameters' part).", FailureKind.WRONG)


def _lists_part(calls: Calls, label: str, weight: float) -> Part:
    answered = [c for c in calls.made if c.value is not None]
    if not answered:
        return dataclasses.replace(_not_judged(calls), label=label, weight=weight)
    for call in answered:
        problem = _lists_problem(call.value["history"] if call.value else None, call.payload)
        if problem:
            return Part.fail(label, f"{call.context}: {problem}", weight=weight)
    return Part.ok(label, weight=weight)


def _lists_problem(returned: object, payload: dict[str, Any]) -> str | None:
    history = _history_dict(returned)
    if history is None:
        return "returned no history dict."
    epochs = payload["n_epochs"]
    want_val = (epochs,) if payload.get("validate") else (0, epochs)  # (epochs: a required loader was filled)
    for key, lengths in (("train_acc", (epochs,)), ("val_loss", want_val), ("val_acc", want_val)):
        if not isinstance(history.get(key), list) or len(history[key]) not in lengths:
            return (f"history[{key!r}] = {_described(history.get(key))}; expected a list of {lengths[0]} "
                    "value(s).")
    return None


def _history_dict(returned: object) -> dict[str, Any] | None:
    """The history dict returned, alone or beside the model (``model, history``)."""
    if isinstance(returned, dict):
        return returned
    if isinstance(returned, list):
        return next((item for item in returned if isinstance(item, dict) and "train_loss" in item), None)
    return None


def _described(value: object) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "missing" if value is None else type(value).__name__


def _shown(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.10g}" for v in values[:6]) + (", ..." if len(values) > 6 else "") + "]"


def _diagnosis(key: str, variants: dict[str, Any], calls: Calls) -> Diagnosis | None:
    """The misconception that explains every training run the check made (None when none does)."""
    observations = calls.observations()
    if not observations:
        return None
    held = training_diagnosis.holding(observations, variants, epoch_losses_in)
    return first_match(key, held, len(observations))


# ---------------------------------------------------------------- train

def run_train(ctx: Context) -> list[Part]:
    spec = ctx.assignment.callable("train")
    shares = ctx.settings_as(HistoryShares)
    label = "parameters match a torch.optim.SGD loop after every configuration"
    with_validation = spec.returns == "history" and spec.parameter("val_loader") is not None
    configs: tuple[tuple[SGDConfig, bool], ...] = ((SGDConfig(0.1, 0.9, 0.01, 3, 20, 8, ctx.seed), with_validation),
               (SGDConfig(0.05, 0.0, 0.0, 2, 12, 4, ctx.seed + 1), False))
    lists_problem = None
    if with_validation and not ctx.has_role("train", "val_loader"):
        lists_problem = Part.fail("", f"{spec.name} has no parameter for the template's {spec.name_of('val_loader')}, "
                                  "so the validation history cannot be checked.", details={"function": spec.name})
        configs = tuple((config, False) for config, _ in configs)
    calls = Calls()
    try:
        for config, validation in configs:
            context = f"{spec.name}(...) with torch.optim.SGD({config.describe()})" + \
                (f" and a {spec.name_of('val_loader')}" if validation else "")
            training_call(ctx, "train", config, context, calls, validation)
    except CheckTimeUp:
        return [out_of_time(label, 1 - shares.history_share), *[out_of_time(part.label, part.weight) for part in
                                                                 history_parts(spec, calls, shares)]]
    parts = [_train_parameters(spec, calls, label, 1 - shares.history_share),
             *history_parts(spec, calls, shares, with_validation, lists_problem)]
    if all(part.passed for part in parts):
        return parts
    diagnosis = _diagnosis("train", TRAIN_VARIANTS, calls)
    return [diagnosed(part, diagnosis, "your parameters and losses") for part in parts]


def _train_parameters(spec: Callable, calls: Calls, label: str, weight: float) -> Part:
    for call in calls.made:
        if call.failure is not None:
            return dataclasses.replace(call.failure, label=label, weight=weight)
        if call.problem is not None:
            return Part.fail(label, f"{call.context}: after {call.payload['n_epochs']} epochs {call.problem} "
                             "(Forgotten zero_grad? More than one step per batch?)", weight=weight,
                             details={"function": spec.name})
    return Part.ok(label, weight=weight)


# ---------------------------------------------------------------- train_manual_update

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
GENERATED_LABEL = "parameters match torch.optim.SGD on every generated configuration"


def run_manual(ctx: Context) -> list[Part]:
    spec = ctx.assignment.callable("train_manual_update")
    shares = ctx.settings_as(ManualSettings)
    names = {role: spec.name_of(role) for role in HYPERPARAMETERS}
    weight = (1 - shares.history_share) / (len(FIXED_CONFIGS) + 1)
    parts: list[Part] = []
    calls = Calls()
    try:
        for label, config, hint in FIXED_CONFIGS:
            label = f"parameters match torch.optim.SGD with {label}"
            part = _manual_problem(ctx, spec, dataclasses.replace(config, seed=ctx.seed + config.seed), label, calls)
            parts.append(_with_hint(dataclasses.replace(part, weight=weight), hint.format(**names)) if part
                         else Part.ok(label, weight=weight))
        parts.append(dataclasses.replace(_generated(ctx, spec, calls), weight=weight))
    except CheckTimeUp:
        parts.append(out_of_time("finished in time", weight))
    parts += history_parts(spec, calls, shares)
    if all(part.passed for part in parts):
        return parts
    diagnosis = _diagnosis("train_manual_update", MANUAL_VARIANTS, calls)
    return [diagnosed(part, diagnosis, "your parameters") for part in parts]


def _generated(ctx: Context, spec: Callable, calls: Calls) -> Part:
    """The generated configurations; a hyperparameter the student's function lacks stays at the template's
    default (its other values are charged by the fixed configurations, once)."""
    declared = {role: spec.parameter(role) for role in HYPERPARAMETERS}
    defaults = {role: literal(entry.default) for role, entry in declared.items() if entry is not None}
    fixed = {role: float(value) for role, value in defaults.items()
             if isinstance(value, (int, float)) and not ctx.has_role(spec.key, role)}
    runs, failure = find_failure(sgd_configs(fixed), ctx.settings_as(GeneratedCases).examples, ctx.seed,
                                 lambda config: _manual_problem(ctx, spec, config, GENERATED_LABEL, calls))
    pinned = ", ".join(f"{spec.name_of(role)}={value:g}" for role, value in fixed.items())
    only = f" (with {pinned} only: your {spec.name} has no parameter for it)" if pinned else ""
    return failure or Part.ok(GENERATED_LABEL, f"All {runs} generated configurations match{only}.",
                              details={"examples": runs})


def _with_hint(part: Part, hint: str) -> Part:
    return part if "Hint" in part.message else dataclasses.replace(part, message=f"{part.message}\nHint: {hint}")


def _manual_problem(ctx: Context, spec: Callable, config: SGDConfig, label: str, calls: Calls) -> Part | None:
    names = {role: spec.name_of(role) for role in HYPERPARAMETERS}
    context = f"{spec.call()} with {config.describe(names)}"
    try:
        call = training_call(ctx, "train_manual_update", config, context, calls)
    except CheckTimeUp:
        return out_of_time(label)
    if call.failure is not None:
        return dataclasses.replace(call.failure, label=label)
    if call.problem is not None:
        return Part.fail(label, f"{context}: {_first_divergence(ctx, config)}", details={"function": spec.name})
    return None


def _first_divergence(ctx: Context, config: SGDConfig) -> str:
    """Which epoch the parameters first part from torch.optim.SGD's, and by how much."""
    for epochs in range(1, config.n_epochs + 1):
        shorter, run, seconds = reference_for(dataclasses.replace(config, n_epochs=epochs),
                                              classes=len(ctx.assignment.data.classes))
        pending = ctx.begin("train_manual_update", shorter)
        reply = ctx.finish(pending, seconds)
        if not reply.ok:
            continue
        got = trained_params(reply.value)
        expected = run.params
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
class TrainSettings(HistoryShares):
    points: float = 10


@dataclass(frozen=True)
class ManualSettings(GeneratedCases, HistoryShares):
    points: float = 15
    examples: int = 8


CHECKS = (
    Check("train", "{train}: same parameters as a torch.optim.SGD loop, then the losses it returns", run_train,
          TrainSettings, grades=("train",)),
    Check("train_manual_update", "{train_manual_update}: same parameters as torch.optim.SGD (momentum, weight decay), "
          "then the losses it returns", run_manual, ManualSettings, grades=("train_manual_update",)),
)

"""Checks 6 and 7: train and train_manual_update against the grader's own torch.optim.SGD loop (float64)."""
from __future__ import annotations

import dataclasses

from ..cases import SGDConfig, reference_training, sgd_configs, training_problem
from ..compare import relative_difference, relative_mismatch
from ..report.results import Part
from .base import CheckTimeUp, Context, failure_text, find_failure

PARAMETER_LIMIT = 1e-9
"""Relative difference allowed between the student's parameters and torch.optim.SGD's (float64)."""
LOSS_LIMIT = 1e-9
TRAIN_TITLE = "train: same parameters and loss history as a torch.optim.SGD loop"
MANUAL_TITLE = "train_manual_update: same parameters as torch.optim.SGD (momentum, weight decay)"
MANUAL_CALL = "train_manual_update(n_epochs, model, loss_fn, train_loader, lr, momentum, weight_decay)"


def run_train(ctx: Context):
    configs = ((SGDConfig(0.1, 0.9, 0.01, 3, 20, 8, ctx.seed), True),
               (SGDConfig(0.05, 0.0, 0.0, 2, 12, 4, ctx.seed + 1), False))
    problems: dict[str, str] = {}
    try:
        for config, with_validation in configs:
            payload = training_problem(config, with_validation)
            reply = ctx.call("train", payload)
            context = f"train(...) with torch.optim.SGD({config.describe()})" + \
                (" and a val_loader" if with_validation else "")
            if not reply.ok:
                message = f"{context}:\n{failure_text('train(...)', reply.failure)}"
                for key in ("params", "loss", "lists"):
                    problems.setdefault(key, message)
                continue
            for key, message in _judge_training(payload, reply.value, context, with_validation).items():
                problems.setdefault(key, message)
    except CheckTimeUp:
        for key in ("params", "loss", "lists"):
            problems.setdefault(key, "the check ran out of time")
    labels = {"params": "parameters match a torch.optim.SGD loop after every configuration",
              "loss": "train_loss holds the mean of each epoch's batch losses",
              "lists": "history lists: one value per epoch; val_* empty without a val_loader"}
    return ctx.from_parts(TRAIN_TITLE, [Part(label, key not in problems, problems.get(key, ""))
                                        for key, label in labels.items()])


def _judge_training(payload: dict, value: dict, context: str, with_validation: bool) -> dict[str, str]:
    expected_params, expected_losses = reference_training(payload)
    problems = {}
    for name, tensor in expected_params.items():
        problem = relative_mismatch(f"parameter {name}", value["params_after"].get(name), tensor, PARAMETER_LIMIT)
        if problem:
            problems["params"] = (f"{context}: after {payload['n_epochs']} epochs {problem} "
                                  "(Forgotten zero_grad? More than one step per batch?)")
            break
    history = value["history"]
    if not isinstance(history, dict):
        return {**problems, "loss": f"{context} returned {type(history).__name__}, not a dict.",
                "lists": f"{context} returned no history dict."}
    losses = history.get("train_loss")
    if not _same_losses(losses, expected_losses):
        problems["loss"] = (f"{context}: history['train_loss'] = {_show(losses)}; expected the mean batch loss of "
                            f"each epoch, {_show(expected_losses)}.")
    epochs, want_val = payload["n_epochs"], payload["n_epochs"] if with_validation else 0
    for key, length in (("train_acc", epochs), ("val_loss", want_val), ("val_acc", want_val)):
        if not isinstance(history.get(key), list) or len(history[key]) != length:
            problems["lists"] = (f"{context}: history[{key!r}] = {_show(history.get(key))}; expected a list of "
                                 f"{length} value(s).")
            break
    return problems


def _same_losses(got, expected: list[float]) -> bool:
    """True when ``got`` is a list of numbers each within LOSS_LIMIT of ``expected`` (NaN never is)."""
    return _numbers(got) and len(got) == len(expected) and all(
        abs(a - b) <= LOSS_LIMIT * max(abs(b), 1.0) for a, b in zip(got, expected))


def _numbers(values) -> bool:
    return isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _show(values) -> str:
    if isinstance(values, list) and _numbers(values):
        return "[" + ", ".join(f"{v:.10g}" for v in values[:6]) + (", ..." if len(values) > 6 else "") + "]"
    return repr(values)[:100]


FIXED_CONFIGS = (
    ("plain SGD (momentum 0, weight decay 0)", SGDConfig(0.05, 0.0, 0.0, 3, 12, 4, 0),
     "Update p <- p - lr * grad for every parameter, then zero the gradients."),
    ("momentum (0.9), no weight decay", SGDConfig(0.05, 0.9, 0.0, 3, 12, 4, 1),
     "Keep one buffer per parameter across all batches and epochs: buf <- momentum * buf + grad "
     "(buf = grad on the first step)."),
    ("weight decay (0.01), no momentum", SGDConfig(0.05, 0.0, 0.01, 3, 12, 4, 2),
     "The L2 term: grad <- grad + weight_decay * p."),
    ("momentum (0.9) and weight decay (0.01)", SGDConfig(0.05, 0.9, 0.01, 3, 12, 4, 3),
     "Add weight_decay * p to the gradient before it enters the momentum buffer (not decoupled)."),
)


def run_manual(ctx: Context):
    parts = []
    try:
        for label, config, hint in FIXED_CONFIGS:
            config = dataclasses.replace(config, seed=ctx.seed + config.seed)
            message = _manual_problem(ctx, config)
            parts.append(Part(f"matches torch.optim.SGD with {label}", message is None,
                              f"{message}\nHint: {hint}" if message and "Hint" not in message else message or ""))
        fatal = {"hit": False}

        runs, message = find_failure(sgd_configs(), ctx.spec.examples, ctx.seed,
                                     lambda config: _manual_problem(ctx, config, fatal), lambda: fatal["hit"])
        parts.append(Part(f"matches torch.optim.SGD on {runs} generated configurations", message is None,
                          message or ""))
    except CheckTimeUp:
        parts.append(Part("finished in time", False, "the check ran out of time"))
    return ctx.from_parts(MANUAL_TITLE, parts)


def _manual_problem(ctx: Context, config: SGDConfig, fatal: dict | None = None) -> str | None:
    payload = training_problem(config)
    try:
        reply = ctx.call("train_manual_update", payload)
    except CheckTimeUp:
        if fatal is not None:
            fatal["hit"] = True
        return "the check ran out of time"
    context = f"{MANUAL_CALL} with {config.describe()}"
    if not reply.ok:
        if fatal is not None:
            fatal["hit"] = reply.failure.kind != "exception"
        return f"{context}:\n{failure_text('train_manual_update(...)', reply.failure)}"
    expected, losses = reference_training(payload)
    if not _params_match(reply.value["params_after"], expected):
        return f"{context}: {_first_divergence(ctx, payload, config)}"
    history = reply.value["history"]
    got = history.get("train_loss") if isinstance(history, dict) else None
    if not _same_losses(got, losses):
        return f"{context}: history['train_loss'] = {_show(got)}; expected {_show(losses)}."
    return None


def _params_match(got: dict, expected: dict) -> bool:
    return all(relative_mismatch(name, got.get(name), tensor, PARAMETER_LIMIT) is None
               for name, tensor in expected.items())


def _first_divergence(ctx: Context, payload: dict, config: SGDConfig) -> str:
    """Which epoch the parameters first part from torch.optim.SGD's, and by how much."""
    for epochs in range(1, payload["n_epochs"] + 1):
        shorter = {**payload, "n_epochs": epochs}
        reply = ctx.call("train_manual_update", shorter)
        if not reply.ok:
            continue
        expected, _ = reference_training(shorter)
        got = reply.value["params_after"]
        worst = max(expected, key=lambda n: _difference(got.get(n), expected[n]))
        difference = _difference(got.get(worst), expected[worst])
        if difference > PARAMETER_LIMIT:
            matched = f" (after epoch {epochs - 1} they still matched)" if epochs > 1 else ""
            return (f"the parameters first differ from torch.optim.SGD's after epoch {epochs}{matched}: "
                    f"largest relative difference {difference:.3g} in {worst} (allowed {PARAMETER_LIMIT:g}).")
    return "the parameters differ from torch.optim.SGD's."


def _difference(got, expected) -> float:
    import torch

    if not isinstance(got, torch.Tensor) or got.shape != expected.shape or not got.is_floating_point():
        return float("inf")
    return relative_difference(got, expected) if torch.isfinite(got).all() else float("inf")

"""Check 10: train the submission's MyMLP on CIFAR-10 airplane/bird with its own train and
train_manual_update; judge test accuracy from the returned logits with the grader's own code."""
from __future__ import annotations

import time

import torch

from ..data import DATA_HELP, DataError, load_arrays, split_indices
from ..given import SEED, VAL_FRACTION
from .base import Context, failure_text

TITLE = "accuracy: MyMLP trained with your train / train_manual_update on CIFAR-10 airplane vs bird"
WEIGHTS = {"train": 0.5, "manual": 0.3, "compute_accuracy": 0.2}


def skipped(ctx: Context, reason: str):
    """The stage as skipped (0 points), with the reason and how to run it."""
    return ctx.result(TITLE, status="skipped", feedback=f"Skipped: {reason}")


def run(ctx: Context):
    if ctx.data_root is None:
        return skipped(ctx, f"no data folder was given.\n{DATA_HELP}")
    try:
        arrays = load_arrays(ctx.data_root, ctx.cache_dir)
    except DataError as error:
        return skipped(ctx, str(error))
    spec = ctx.rubric.accuracy
    train_idx, _ = split_indices(len(arrays.train_labels), VAL_FRACTION, SEED)
    payload = {"train_x": arrays.train_images[train_idx], "train_y": arrays.train_labels[train_idx],
               "test_x": arrays.test_images, "test_y": arrays.test_labels, "device": ctx.device,
               "seed": ctx.seed, "batch_size": spec.batch_size,
               "hyperparameters": {"epochs": spec.epochs, "lr": spec.lr, "momentum": spec.momentum,
                                   "weight_decay": spec.weight_decay}}
    setting = (f"{spec.epochs} epochs, batch {spec.batch_size}, lr {spec.lr:g}, momentum {spec.momentum:g}, "
               f"weight decay {spec.weight_decay:g}, seed {ctx.seed}, on {len(train_idx)} training images")
    outcomes = {name: _train_and_test(ctx, payload, name, arrays.test_labels) for name in ("train", "manual")}
    return _verdict(ctx, spec, setting, outcomes, len(arrays.test_labels))


def _train_and_test(ctx: Context, payload: dict, name: str, labels: torch.Tensor) -> dict:
    started = time.perf_counter()
    call = "train(...)" if name == "train" else "train_manual_update(...)"
    if ctx.remaining() <= 0:
        return {"error": f"{call} was not run: the accuracy stage ran out of time"}
    reply = ctx.call("accuracy", {**payload, "with": name})
    if not reply.ok:
        return {"error": failure_text(call, reply.failure)}
    logits = reply.value["logits"]
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(labels), 2) or \
            not torch.isfinite(logits.double()).all():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        return {"error": f"after {call}, MyMLP's test outputs are {shape} (or not finite); expected ({len(labels)}, 2)"}
    accuracy = (logits.argmax(dim=1) == labels).double().mean().item()
    return {"accuracy": accuracy, "student_accuracy": reply.value["student_accuracy"],
            "train_seconds": reply.value["train_seconds"], "seconds": time.perf_counter() - started}


def _verdict(ctx: Context, spec, setting: str, outcomes: dict, n_test: int):
    lines, score, flags = [f"Setting: {setting}."], 0.0, []
    trained = outcomes["train"]
    if "error" in trained:
        lines.append(f"[FAIL] train: {trained['error']}")
    else:
        accuracy = trained["accuracy"]
        credit = 1.0 if accuracy >= spec.full_credit else 0.5 if accuracy >= spec.partial_credit else 0.0
        score += WEIGHTS["train"] * credit
        lines.append(f"[{'ok' if credit == 1 else 'FAIL'}] train: test accuracy {accuracy:.4f} (full credit from "
                     f"{spec.full_credit:.2f}, half from {spec.partial_credit:.2f})")
        if accuracy >= spec.leakage:
            flags.append(f"test accuracy {accuracy:.4f} >= {spec.leakage:.2f} is implausibly high for this MLP: "
                         "check for test data in training (leakage)")
        reported = trained["student_accuracy"]
        if isinstance(reported, torch.Tensor) and reported.numel() == 1:
            reported = reported.item()
        agrees = isinstance(reported, (int, float)) and not isinstance(reported, bool) and \
            abs(reported - accuracy) <= 0.5 / n_test
        score += WEIGHTS["compute_accuracy"] * agrees
        lines.append(f"[{'ok' if agrees else 'FAIL'}] compute_accuracy(model, test_loader) returned {reported!r:.40}; "
                     f"the grader counts {accuracy:.4f}")
    manual = outcomes["manual"]
    if "error" in manual:
        lines.append(f"[FAIL] train_manual_update: {manual['error']}")
    else:
        reached = manual["accuracy"] >= spec.full_credit - spec.manual_margin
        keeps_up = manual["accuracy"] >= trained.get("accuracy", 0.0) - spec.manual_margin
        score += WEIGHTS["manual"] * (reached and keeps_up)
        lines.append(f"[{'ok' if reached and keeps_up else 'FAIL'}] train_manual_update: test accuracy "
                     f"{manual['accuracy']:.4f} (must reach {spec.full_credit - spec.manual_margin:.2f} and trail "
                     f"train's by at most {spec.manual_margin:.2f})")
    details = {name: {k: v for k, v in outcome.items() if k != "error"} for name, outcome in outcomes.items()}
    status = "passed" if score >= 1 - 1e-9 else "failed"
    return ctx.result(TITLE, score=ctx.spec.points * score, status=status, feedback="\n".join(lines),
                      details={**details, "flags": flags})

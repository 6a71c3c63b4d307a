"""The grader's calls to the worker: which declared callable each one runs, and which value it passes for each role.

Both sides read this one table: the worker builds the objects marked OBJECT (a model, a loader, an optimizer) and
passes the numbers as they are; the grader, before it sends a call, binds the same role values to the signature the
student wrote, so a call that cannot be made (a role with a non-default value and no parameter for it) is answered
by the grader itself, never by anything the student's process says. Imports nothing heavy.
"""
from __future__ import annotations

from typing import Any

OBJECT = "<object>"
"""A role whose value the worker builds (always present, never a template default)."""

CALL_KEYS = {"backprop": "backpropagation", "grad_check": "grad_check", "train": "train",
             "train_manual_update": "train_manual_update", "mlp": "mlp", "load_cifar": "load_cifar"}
"""The callable each worker call exists to run; the ``accuracy`` call names its ``function`` in the payload."""


def callable_key(call: str, payload: dict[str, Any]) -> str | None:
    """The declared callable a call runs (None for the grader's own calls, such as ``load``)."""
    return payload.get("function") or CALL_KEYS.get(call)


def role_values(call: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The value of each role the call passes: numbers from the payload, OBJECT for what the worker builds."""
    key = callable_key(call, payload)
    if key == "backpropagation":
        return {"model": OBJECT, "y_true": OBJECT, "y_pred": OBJECT}
    if key == "grad_check":
        return {"model": OBJECT, "x": OBJECT, "y_true": OBJECT, "loss_fn": OBJECT, "eps": payload["eps"],
                "tol": payload["tol"]}
    if key == "load_cifar":
        return {"data_root": OBJECT, "split_fraction": payload["split_fraction"], "seed": payload["seed"],
                "download": False}
    if key in ("train", "train_manual_update"):
        return _training_roles(key, payload)
    if key == "compute_accuracy":
        return {"model": OBJECT, "loader": OBJECT, "device": OBJECT}
    return {}


def _training_roles(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    hp = payload.get("hyperparameters", payload)
    values = {"n_epochs": hp.get("n_epochs", hp.get("epochs")), "model": OBJECT, "loss_fn": OBJECT,
              "train_loader": OBJECT, "val_loader": OBJECT if payload.get("validate") else None, "device": OBJECT}
    if key == "train":
        return {**values, "optimizer": OBJECT}
    return {**values, "lr": hp["lr"], "momentum": hp["momentum"], "weight_decay": hp["weight_decay"]}

"""The shape of what each worker call gives back (plain data: JSON with tensors), as the grader reads it.

The worker's handlers build these; the protocol carries them without pickle; the checks read them through these
types. A student's process may still send anything (a forged reply), so the checks judge values, never trust them.
"""
from __future__ import annotations

from typing import Any, TypedDict

import torch


class ModuleLoad(TypedDict, total=False):
    """One submission module after its import: the error (and traceback) when it failed, or its notes."""

    error: str
    traceback: str
    notes: list[str]
    seconds: float


class Found(TypedDict, total=False):
    """A declared callable as the worker found it: its name, how (name, alias, discovered), its parameters as
    [name, kind, repr(default) or None]; or why it is missing."""

    name: str
    how: str
    kind: str
    parameters: list[list[Any]] | None
    missing: str


class LoadReply(TypedDict):
    modules: dict[str, ModuleLoad]
    callables: dict[str, Found]


class Gradients(TypedDict):
    dL_dw: dict[str, Any]
    dL_db: dict[str, Any]


class BackpropReply(Gradients, total=False):
    autograd_calls: int
    params_after: dict[str, torch.Tensor]
    x_after: torch.Tensor
    y_after: torch.Tensor
    y_pred_changed: bool


class GradCheckReply(TypedDict):
    result: Any
    params_after: dict[str, torch.Tensor]


class TrainingReply(TypedDict, total=False):
    history: Any
    params_after: dict[str, torch.Tensor]
    returned_params: dict[str, torch.Tensor]
    """The parameters of a model the function returned, when it is not the model the grader passed."""
    optimizers: int


class MLPReply(TypedDict):
    state: dict[str, Any]
    out_images: Any
    out_flat: Any


class AccuracyReply(TypedDict, total=False):
    logits: Any
    train_seconds: float
    student_accuracy: Any
    student_accuracy_error: str
    student_accuracy_traceback: str

"""Checks 2 and 3: backpropagation against autograd, on single samples and on mini-batches."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

from ..cases import NetCase, expected_gradients, net_cases
from ..compare import Tolerance, describe_value, mismatch
from .base import CheckTimeUp, Context, failure_text, find_failure

TOLERANCE = Tolerance(rtol=1e-7, atol=1e-10)
"""float64: the reference stays within 1e-13 relative of autograd (see tests/test_reference.py)."""
CALL = "backpropagation(model, y_true, y_pred)"


ONE_SAMPLE_TITLE = "backpropagation: one sample (batch size 1), against autograd"
MINI_BATCH_TITLE = "backpropagation: mini-batches (batch sizes 2-8), against autograd"


def run_one_sample(ctx: Context):
    return _run(ctx, ONE_SAMPLE_TITLE, st.just(1))


def run_mini_batch(ctx: Context):
    return _run(ctx, MINI_BATCH_TITLE, st.integers(2, 8))


def _run(ctx: Context, title: str, batch_sizes):
    fatal = {"hit": False}

    def check_one(case: NetCase):
        try:
            pending = ctx.begin("backprop", case.payload())
        except CheckTimeUp:
            fatal["hit"] = True
            return "the check ran out of time"
        expected = expected_gradients(case)  # computed while the worker runs the student's code
        reply = ctx.finish(pending)
        if not reply.ok:
            fatal["hit"] = reply.failure.kind != "exception"
            return f"For {case.describe()}:\n{failure_text(CALL, reply.failure)}"
        return gradient_mismatch(case, reply.value, expected)

    runs, message = find_failure(net_cases(batch_sizes=batch_sizes), ctx.spec.examples, ctx.seed, check_one,
                                 lambda: fatal["hit"])
    if message is None:
        return ctx.result(title, score=ctx.spec.points, status="passed",
                          feedback=f"All {runs} generated networks match autograd.", details={"examples": runs})
    return ctx.result(title, status="failed", feedback=message, details={"examples": runs})


def gradient_mismatch(case: NetCase, value: dict, expected=None) -> str | None:
    """The first gradient that differs from autograd, explained with the case; None when all match."""
    expected_w, expected_b = expected or expected_gradients(case)
    for l in range(1, len(case.n_l)):
        for label, got, expected, shape_of in (("dL_dw", value["dL_dw"].get(str(l)), expected_w[l], "weight"),
                                               ("dL_db", value["dL_db"].get(str(l)), expected_b[l], "bias")):
            problem = mismatch(f"model.{label}[{l}]", got, expected, TOLERANCE)
            if problem:
                shown = case.show_tensors()
                return (f"{CALL} on {case.describe()} (after y_pred = model(x)):\n{problem}\n"
                        f"Expected model.{label}[{l}] (same shape as model.fc['{l}'].{shape_of}) = "
                        f"{_short(expected)}\n          got {_short(got)}"
                        + (f"\nThe case:\n{shown}" if shown else ""))
    return None


def _short(value) -> str:
    if isinstance(value, torch.Tensor) and value.numel() <= 16:
        return str(value.tolist())
    return describe_value(value)

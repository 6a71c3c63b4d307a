"""Tensor comparison in float64 whose message says what differs, where, by how much, and what was allowed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Tolerance:
    """|got - expected| <= atol + rtol * |expected|, element-wise."""

    rtol: float
    atol: float

    def describe(self) -> str:
        return f"|got - expected| <= {self.atol:g} + {self.rtol:g} * |expected|"


def describe_value(value: object) -> str:
    """A short description of what a student returned, for messages."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, dict) and "__repr__" in value:
        return f"an object of type {value['__repr__']}"
    return f"{type(value).__name__} {value!r}"[:120]


def mismatch(name: str, got: object, expected: torch.Tensor, tolerance: Tolerance,
             dtype_note: bool = True) -> str | None:
    """None when ``got`` matches ``expected`` within ``tolerance``; otherwise a message naming ``name``.

    The message gives the number of mismatched elements, the largest absolute and relative differences with
    their indices and values, and the allowed tolerance. Type and shape problems are reported first.
    """
    if not isinstance(got, torch.Tensor):
        return f"{name} should be a tensor of shape {tuple(expected.shape)}, but it is {describe_value(got)}."
    if got.shape != expected.shape:
        return (f"{name} has shape {tuple(got.shape)}; expected {tuple(expected.shape)}"
                f"{_transposed_hint(got, expected)}.")
    if got.is_complex() or not (got.is_floating_point() or got.dtype in (torch.int64, torch.int32)):
        return f"{name} has dtype {got.dtype}; expected a floating-point tensor."
    got64, expected64 = got.to(torch.float64), expected.to(torch.float64)
    if not torch.isfinite(got64).all():
        bad = (~torch.isfinite(got64)).nonzero()[0].tolist()
        return f"{name} contains NaN or infinity (first at index {tuple(bad)})."
    difference = (got64 - expected64).abs()
    allowed = tolerance.atol + tolerance.rtol * expected64.abs()
    wrong = difference > allowed
    if not wrong.any():
        return None
    relative = difference / expected64.abs().clamp_min(torch.finfo(torch.float64).tiny)
    abs_at = _index(difference.argmax(), got.shape)
    rel_at = _index(relative.argmax(), got.shape)
    note = (f" Note: your tensor is {str(got.dtype).removeprefix('torch.')}; the inputs were float64."
            if dtype_note and got.dtype != expected.dtype else "")
    return (f"{name}: {int(wrong.sum())} of {wrong.numel()} elements differ. "
            f"Largest absolute difference {difference.max().item():.3g} at index {abs_at} "
            f"(expected {expected64[abs_at].item():.6g}, got {got64[abs_at].item():.6g}); "
            f"largest relative difference {relative.max().item():.3g} at index {rel_at}. "
            f"Allowed: {tolerance.describe()}.{note}")


def relative_difference(got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected| / max(max |expected|, tiny), in float64."""
    got64, expected64 = got.to(torch.float64), expected.to(torch.float64)
    scale = max(expected64.abs().max().item() if expected64.numel() else 0.0, torch.finfo(torch.float64).tiny)
    return (got64 - expected64).abs().max().item() / scale if got64.numel() else 0.0


def _index(flat_index: torch.Tensor, shape: torch.Size) -> tuple[Any, ...]:
    return tuple(int(i) for i in torch.unravel_index(flat_index, tuple(shape))) if len(shape) else ()


def _transposed_hint(got: torch.Tensor, expected: torch.Tensor) -> str:
    if got.dim() == 2 and tuple(got.shape) == tuple(expected.shape)[::-1]:
        return " (it looks transposed)"
    if got.numel() == expected.numel() and got.dim() < expected.dim() and 1 in expected.shape:
        return " (a dimension of size 1 was dropped: a squeeze()?)"
    return ""


def relative_mismatch(name: str, got: object, expected: torch.Tensor, limit: float) -> str | None:
    """None when max |got - expected| <= ``limit`` * max |expected|; otherwise a message as :func:`mismatch`."""
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point():
        if torch.isfinite(got).all() and relative_difference(got, expected) <= limit:
            return None
    scale = max(expected.to(torch.float64).abs().max().item(), torch.finfo(torch.float64).tiny)
    return mismatch(name, got, expected, Tolerance(rtol=0.0, atol=limit * scale)) or \
        f"{name} differs (relative difference above {limit:g})."

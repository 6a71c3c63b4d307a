"""Comparison messages: what differs, where, by how much, and what was allowed."""
from __future__ import annotations

import torch

from grader.checks.compare import Tolerance, describe_value, mismatch, relative_mismatch

TOL = Tolerance(rtol=1e-7, atol=1e-10)


def test_equal_tensors_match():
    x = torch.randn(3, 4, dtype=torch.float64)
    assert mismatch("g", x.clone(), x, TOL) is None


def test_message_names_count_largest_differences_and_tolerance():
    expected = torch.zeros(2, 3, dtype=torch.float64)
    got = expected.clone()
    got[1, 2] = 0.5
    got[0, 1] = 1e-3
    message = mismatch("model.dL_dw[2]", got, expected, TOL)
    assert message.startswith("model.dL_dw[2]: 2 of 6 elements differ")
    assert "Largest absolute difference 0.5 at index (1, 2) (expected 0, got 0.5)" in message
    assert "Allowed: |got - expected| <= 1e-10 + 1e-07 * |expected|" in message


def test_shape_type_nan_and_dtype_problems():
    expected = torch.zeros(2, 3, dtype=torch.float64)
    assert "looks transposed" in mismatch("g", torch.zeros(3, 2, dtype=torch.float64), expected, TOL)
    assert "but it is None" in mismatch("g", None, expected, TOL)
    assert "contains NaN" in mismatch("g", torch.full((2, 3), float("nan"), dtype=torch.float64), expected, TOL)
    assert "your tensor is float32" in mismatch("g", torch.ones(2, 3), expected, TOL)
    assert describe_value({"__repr__": "builtins.str"}) == "an object of type builtins.str"


def test_relative_mismatch_uses_the_largest_expected_value_as_scale():
    expected = torch.tensor([1000.0, 1e-3], dtype=torch.float64)
    assert relative_mismatch("p", expected + 1e-8, expected, 1e-9) is None
    assert relative_mismatch("p", expected + 1e-5, expected, 1e-9) is not None

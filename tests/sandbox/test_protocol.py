"""The worker protocol: round trips, and malformed or hostile bytes rejected without executing anything."""
from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.sandbox.protocol import FrameReader, ProtocolError, encode

DTYPES = [torch.float64, torch.float32, torch.int64, torch.uint8, torch.bool]


@st.composite
def tensors(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 4), max_size=3))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 1000)))
    return (torch.randn(shape, generator=generator) * 10).to(dtype)


messages = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                                  st.text(max_size=10), tensors()),
                        lambda children: st.one_of(st.lists(children, max_size=3),
                                                   st.dictionaries(st.text(max_size=5), children, max_size=3)),
                        max_leaves=8)


def _same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@given(messages, st.integers(1, 50))
def test_round_trip_in_any_chunking(message, chunk):
    data = encode(message) * 2
    reader, received = FrameReader(), []
    for start in range(0, len(data), chunk):
        received += reader.feed(data[start:start + chunk])
    assert len(received) == 2 and all(_same(message, r) for r in received)


@pytest.mark.parametrize("garbage", [
    pickle.dumps(object()),
    struct.pack(">Q", 10) + b"not json!!",
    struct.pack(">Q", 2**40) + b"{}",
    struct.pack(">Q", 2) + b"[]",
])
def test_malformed_frames_are_rejected(garbage):
    with pytest.raises(ProtocolError):
        FrameReader().feed(garbage + b"\0" * 64)


def _frame(header: dict) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">Q", len(raw)) + raw


@pytest.mark.parametrize("spec", [{"dtype": "object", "shape": [1]}, {"dtype": "float64", "shape": [-1]},
                                  {"dtype": "float64", "shape": [2**30, 2**30]}, {"dtype": "float64", "shape": "x"}])
def test_bad_tensor_descriptions_are_rejected(spec):
    with pytest.raises(ProtocolError):
        FrameReader().feed(_frame({"body": {"__tensor__": 0}, "tensors": [spec]}))


def test_dangling_tensor_reference_is_rejected():
    with pytest.raises(ProtocolError):
        FrameReader().feed(_frame({"body": {"__tensor__": 3}, "tensors": []}))

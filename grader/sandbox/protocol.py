"""Framing between grader and worker: a length-prefixed JSON header, then raw tensor bytes.

Decoding never executes code: the header is JSON, tensors are rebuilt with ``torch.frombuffer`` from a
whitelist of dtypes, and sizes are capped before anything is allocated. No pickle anywhere.

Each tensor's bytes start at a multiple of ALIGNMENT within the payload (both sides compute the padding from the
header), so a frame is built in one buffer and read into one buffer, and the tensors it holds are views of it:
a large payload (the accuracy stage's images) is held once on each side, not three times.
"""
from __future__ import annotations

import functools
import json
import math
import os
import struct
from typing import Any

MAX_HEADER_BYTES = 16 * 2**20
MAX_TENSOR_BYTES = 2 * 2**30
DTYPE_NAMES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
_LENGTH = struct.Struct(">Q")
TENSOR_KEY = "__tensor__"


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


@functools.cache
def _torch() -> Any:
    """torch, imported on first use (the host starts its worker before the grader pays for this import)."""
    import torch

    return torch


@functools.cache
def dtypes() -> dict[str, Any]:
    torch = _torch()
    return {name: getattr(torch, name) for name in DTYPE_NAMES}


def encode(message: object) -> bytearray:
    """One frame for a JSON-compatible ``message`` whose leaves may also be tensors, built in one buffer."""
    torch = _torch()
    tensors: list[Any] = []
    body = _replace_tensors(message, tensors)
    specs = [{"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)} for t in tensors]
    header = json.dumps({"body": body, "tensors": specs}, allow_nan=True).encode()
    offsets, size = _layout(specs)
    start = _LENGTH.size + len(header)
    frame = bytearray(start + size)
    _LENGTH.pack_into(frame, 0, len(header))
    frame[_LENGTH.size:start] = header
    for tensor, offset in zip(tensors, offsets):
        if tensor.numel():
            raw = tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy()
            frame[start + offset:start + offset + raw.nbytes] = raw.data
    return frame


ALIGNMENT = 64


def _layout(specs: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Where each tensor's bytes start in the payload (aligned), and the payload's size."""
    offsets, end = [], 0
    for spec in specs:
        start = -(-end // ALIGNMENT) * ALIGNMENT
        offsets.append(start)
        end = start + _nbytes(spec)
    return offsets, end


def _replace_tensors(value: object, tensors: list[Any]) -> object:
    if isinstance(value, _torch().Tensor):
        tensors.append(value)
        return {TENSOR_KEY: len(tensors) - 1}
    if isinstance(value, dict):
        return {str(k): _replace_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_tensors(v, tensors) for v in value]
    return value


def write_frame(fd: int, message: object) -> None:
    """Write one whole frame to ``fd`` (blocking)."""
    view = memoryview(encode(message))
    while view:
        view = view[os.write(fd, view):]


class FrameReader:
    """Incremental decoder: feed bytes as they arrive, take whole messages out. A frame's tensor bytes are read
    into one buffer of the payload's size (allocated once the header says it), which its tensors then view."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: dict[str, Any] | None = None
        self._payload = bytearray()
        self._filled = 0

    def feed(self, data: bytes | bytearray | memoryview) -> list[Any]:
        """Take ``data``; return the messages completed by it. Raises ProtocolError on malformed input."""
        messages: list[Any] = []
        view = memoryview(data)
        while True:
            if self._header is None:
                self._buffer += view
                view = memoryview(b"")
                if not self._read_header():
                    return messages
                view, self._buffer = memoryview(bytes(self._buffer)), bytearray()  # what follows the header
            taken = min(len(view), len(self._payload) - self._filled)
            self._payload[self._filled:self._filled + taken] = view[:taken]
            self._filled += taken
            view = view[taken:]
            if self._filled < len(self._payload):
                return messages
            messages.append(self._finish())
            if not view and not self._buffer:
                return messages

    def _read_header(self) -> bool:
        """Parse a whole header from the buffer (True), or wait for more bytes (False)."""
        if len(self._buffer) < _LENGTH.size:
            return False
        (length,) = _LENGTH.unpack_from(self._buffer)
        if length > MAX_HEADER_BYTES:
            raise ProtocolError(f"header of {length} bytes exceeds the limit")
        if len(self._buffer) < _LENGTH.size + length:
            return False
        self._header = _parse_header(bytes(self._buffer[_LENGTH.size:_LENGTH.size + length]))
        del self._buffer[:_LENGTH.size + length]
        self._offsets, needed = _layout(self._header["tensors"])
        if needed > MAX_TENSOR_BYTES:
            raise ProtocolError(f"tensor payload of {needed} bytes exceeds the limit")
        self._payload, self._filled = bytearray(needed), 0
        return True

    def _finish(self) -> Any:
        assert self._header is not None
        torch, tensors = _torch(), []
        for spec, offset in zip(self._header["tensors"], self._offsets):
            dtype, count = dtypes()[spec["dtype"]], math.prod(spec["shape"])
            tensor = torch.frombuffer(self._payload, dtype=dtype, count=count, offset=offset) if count else \
                torch.empty(0, dtype=dtype)
            tensors.append(tensor.reshape(spec["shape"]))
        body = _restore_tensors(self._header["body"], tensors)
        self._header, self._payload, self._filled = None, bytearray(), 0
        return body


def _parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"header is not JSON ({error})") from None
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list) or "body" not in header:
        raise ProtocolError("header lacks 'body' and 'tensors'")
    for spec in header["tensors"]:
        valid = isinstance(spec, dict) and spec.get("dtype") in DTYPE_NAMES and isinstance(spec.get("shape"), list)
        if not valid or not all(isinstance(n, int) and 0 <= n < 2**40 for n in spec["shape"]):
            raise ProtocolError(f"bad tensor description {spec!r}"[:200])
    return header


def _nbytes(spec: dict[str, Any]) -> int:
    return int(math.prod(spec["shape"]) * dtypes()[spec["dtype"]].itemsize)


def _restore_tensors(value: object, tensors: list[Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {TENSOR_KEY}:
            index = value[TENSOR_KEY]
            if not isinstance(index, int) or not 0 <= index < len(tensors):
                raise ProtocolError(f"bad tensor reference {index!r}")
            return tensors[index]
        return {k: _restore_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_tensors(v, tensors) for v in value]
    return value

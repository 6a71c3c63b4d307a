"""Framing between grader and worker: a length-prefixed JSON header, then raw tensor bytes.

Decoding never executes code: the header is JSON, tensors are rebuilt with ``torch.frombuffer`` from a
whitelist of dtypes, and sizes are capped before anything is allocated. No pickle anywhere.
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


def encode(message: object) -> bytes:
    """One frame for a JSON-compatible ``message`` whose leaves may also be tensors."""
    torch = _torch()
    tensors: list[Any] = []
    body = _replace_tensors(message, tensors)
    specs = [{"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape)} for t in tensors]
    header = json.dumps({"body": body, "tensors": specs}, allow_nan=True).encode()
    raw = [t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
           for t in tensors]
    return _LENGTH.pack(len(header)) + header + b"".join(raw)


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
    """Incremental decoder: feed bytes as they arrive, take whole messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: dict[str, Any] | None = None
        self._needed = 0

    def feed(self, data: bytes) -> list[Any]:
        """Append ``data``; return the messages completed by it. Raises ProtocolError on malformed input."""
        self._buffer += data
        messages: list[Any] = []
        while True:
            if self._header is None:
                if len(self._buffer) < _LENGTH.size:
                    return messages
                (length,) = _LENGTH.unpack_from(self._buffer)
                if length > MAX_HEADER_BYTES or len(self._buffer) < _LENGTH.size + length:
                    if length > MAX_HEADER_BYTES:
                        raise ProtocolError(f"header of {length} bytes exceeds the limit")
                    return messages
                self._header = _parse_header(bytes(self._buffer[_LENGTH.size:_LENGTH.size + length]))
                del self._buffer[:_LENGTH.size + length]
                self._needed = sum(_nbytes(spec) for spec in self._header["tensors"])
                if self._needed > MAX_TENSOR_BYTES:
                    raise ProtocolError(f"tensor payload of {self._needed} bytes exceeds the limit")
            if len(self._buffer) < self._needed:
                return messages
            messages.append(self._finish())

    def _finish(self) -> Any:
        assert self._header is not None
        tensors, offset = [], 0
        for spec in self._header["tensors"]:
            size = _nbytes(spec)
            chunk = bytearray(self._buffer[offset:offset + size])
            torch, dtype = _torch(), dtypes()[spec["dtype"]]
            tensor = torch.frombuffer(chunk, dtype=dtype) if size else torch.empty(0, dtype=dtype)
            tensors.append(tensor.reshape(spec["shape"]))
            offset += size
        del self._buffer[:offset]
        body = _restore_tensors(self._header["body"], tensors)
        self._header, self._needed = None, 0
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

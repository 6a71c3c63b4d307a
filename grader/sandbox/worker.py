"""The worker: the only process that runs student code.

Started by the host as ``python -m grader.sandbox.worker CONFIG_JSON``. It imports trusted code first (torch,
the given code, the handlers, and the modules a submission is likely to import, since a worker that drops to
an unprivileged user cannot read the interpreter's library afterwards), contains itself, says ``ready`` with
the active protections, then answers one request at a time on its own file descriptors. The student's
stdout and stderr (fds 1 and 2) are a separate pipe that the host caps.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

# Everything imported here stays usable after the privilege drop.
import collections, copy, dataclasses, functools, itertools, math, random, re, socket, statistics  # noqa: E401,F401
import subprocess, tempfile, threading, time, typing, warnings, signal, pickle, csv, glob, shutil  # noqa: E401,F401

import numpy  # noqa: F401
import torch
import torch.nn.functional  # noqa: F401
import torch.utils.data  # noqa: F401
import torch.testing  # noqa: F401
import torchvision  # noqa: F401
import torchvision.datasets  # noqa: F401
import torchvision.transforms  # noqa: F401

from grader.sandbox import handlers, limits, protocol

OPTIONAL_MODULES = ("matplotlib.pyplot", "tqdm", "tqdm.auto", "PIL.Image", "IPython", "pandas", "scipy")


def _preload_optional() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in OPTIONAL_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # an optional module that is absent or broken is simply not offered
            pass
    try:
        from PIL import Image

        Image.init()  # loads every image plugin now, while the library is still readable
    except Exception:
        pass


def _serve(request_fd: int, reply_fd: int) -> None:
    reader = protocol.FrameReader()
    while True:
        chunk = os.read(request_fd, 1 << 20)
        if not chunk:
            return
        for request in reader.feed(chunk):
            reply = _answer(request)
            sys.stdout.flush()
            sys.stderr.flush()
            protocol.write_frame(reply_fd, reply)


def _answer(request: dict) -> dict:
    reply = {"id": request.get("id")}
    try:
        reply["value"] = handlers.dispatch(request["call"], request.get("payload") or {})
        reply["ok"] = True
    except BaseException as error:  # noqa: B036 - SystemExit and KeyboardInterrupt from student code too
        reply.update(ok=False, error={"type": type(error).__name__, "message": _safe_str(error)[:2000],
                                      "traceback": handlers.student_traceback(error)})
    return reply


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException:  # noqa: B036 - a student exception whose __str__ raises
        return "<unprintable exception>"


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    request_fd, reply_fd = config["request_fd"], config["reply_fd"]
    _preload_optional()
    handlers.install_recorders()
    os.chdir(config["workdir"])
    containment = limits.Containment(uid=config.get("uid"), memory_bytes=config.get("memory_bytes"),
                                     max_processes=config.get("max_processes", 256))
    active = limits.apply(containment)
    os.environ.update(HOME=config["workdir"], TMPDIR=config["workdir"])
    sys.path.insert(0, config["submission"])
    handlers.configure(config)
    protocol.write_frame(reply_fd, {"id": "ready", "ok": True, "value": {"protections": active}})
    _serve(request_fd, reply_fd)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except BaseException:  # noqa: B036
        traceback.print_exc()
        os._exit(3)
    os._exit(0)

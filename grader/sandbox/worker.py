"""The worker: the only process that runs student code. Forked by the fork server (:mod:`.zygote`).

Before the fork, the server imported trusted code (torch, the given code, the handlers, and the modules a
submission is likely to import, since a worker that drops to an unprivileged user cannot read the
interpreter's library afterwards) and ran a warm-up. After the fork, :func:`run` puts the student's output on
its own pipe, contains the process, says ``ready`` with the active protections, then answers one request at a
time on its own file descriptors.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import torch

from grader.sandbox import filesystem, handlers, limits, protocol, serving, warmup

PRELOAD = (
    "abc", "argparse", "collections", "copy", "csv", "dataclasses", "datetime", "encodings.ascii", "encodings.idna",
    "encodings.latin_1", "encodings.utf_16", "encodings.utf_32", "enum", "functools", "glob", "io", "itertools",
    "logging", "math", "operator", "pathlib", "pickle", "pprint", "random", "re", "shutil", "signal", "socket",
    "statistics", "string", "subprocess", "tempfile", "textwrap", "threading", "time", "typing", "unittest",
    "warnings", "numpy", "torch.nn.functional", "torch.utils.data", "torch.testing", "torchvision",
    "torchvision.datasets", "torchvision.transforms",
)
"""Modules a submission may import: a worker that drops privileges cannot read the library afterwards."""
OPTIONAL_MODULES = ("matplotlib.pyplot", "tqdm", "tqdm.auto", "PIL.Image", "IPython", "pandas", "scipy")


def prepare() -> None:
    """Everything a worker needs that can be done once, before any fork (no CUDA here), and that a grading process
    may do too (the fork server's recorders are installed by :func:`install_recorders`, in the server only)."""
    _preload()
    warmup.warm_up()


def install_recorders() -> None:
    """The evidence recorders (autograd and torch.optim use), in the fork server, before any worker is forked."""
    handlers.install_recorders()


def _preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
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


def run(config: dict[str, Any], request_fd: int, reply_fd: int, output_fd: int, *, threads: int) -> None:
    """Become a worker for ``config`` and serve until the grader closes the request pipe; never returns."""
    try:
        _become_worker(config, request_fd, reply_fd, output_fd, threads)
        serving.serve(request_fd, reply_fd)
    except BaseException:  # noqa: B036 - a worker that cannot start says why on its output pipe
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)
    os._exit(0)


def _become_worker(config: dict[str, Any], request_fd: int, reply_fd: int, output_fd: int, threads: int) -> None:
    os.setsid()
    limits.first_to_go_when_memory_runs_out()
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    limits.close_fds_except({0, 1, 2, request_fd, reply_fd})
    torch.set_num_threads(threads)
    os.chdir(config["workdir"])
    device = config["device"] if config["device"] != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        warmup.warm_up_cuda()
    # RLIMIT_AS would break CUDA's address-space reservations; on a GPU the host watches RSS instead.
    active = limits.apply(limits.Containment.from_config(config, cpu_only=device == "cpu"))
    os.environ.update(HOME=config["workdir"], TMPDIR=config["workdir"])
    os.environ.pop("PYTHONPATH", None)
    _set_import_path(config["submission"])
    handlers.configure(config)
    active["solution_hidden"] = filesystem.solution_reachable(sys.path) is None
    protocol.write_frame(reply_fd, {"id": "ready", "ok": True, "value": {"protections": active, "device": device}})


def _set_import_path(submission: str) -> None:
    """The submission first; nothing that exposes the grader's checkout (only its preloaded modules remain)."""
    hidden = {str(filesystem.checkout_root()), "", "."}
    sys.path[:] = [submission] + [p for p in sys.path if p not in hidden and os.path.realpath(p) not in hidden]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()

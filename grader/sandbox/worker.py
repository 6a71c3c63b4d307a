"""The worker: the only process that runs student code.

Started by the host as ``python -m grader.sandbox.worker CONFIG_JSON``. It imports trusted code first (torch,
the given code, the handlers, and the modules a submission is likely to import, since a worker that drops to
an unprivileged user cannot read the interpreter's library afterwards), contains itself, says ``ready`` with
the active protections, then answers one request at a time on its own file descriptors. The student's
stdout and stderr (fds 1 and 2) are a separate pipe that the host caps.
"""
from __future__ import annotations

import importlib
import io
import json
import os
import sys
import traceback

import torch

from grader.sandbox import handlers, limits, protocol

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


def _warm_up() -> None:
    """Run what student code commonly does once, so torch's lazy imports happen while files are readable."""
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 0, 1, 1])
    _ = [repr(v) for v in (model, x, x.double(), model[1].weight, model[1].weight.grad, x.numpy(), x[0, 0])]
    _ = f"{x.mean():.3f} {x.tolist()} {model.state_dict()}"
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
                      torch.optim.Adam(model.parameters())):
        loss = torch.nn.functional.cross_entropy(model(x), y) + torch.nn.MSELoss(reduction="none")(x, x).sum()
        loss.backward()
        _ = repr(model[1].weight.grad)
        optimizer.step()
        optimizer.zero_grad()
    torch.autograd.grad(model(x).sum(), list(model.parameters()))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2, shuffle=True)
    _ = [batch for batch in loader] + list(torch.utils.data.random_split(loader.dataset, [3, 2]))
    torch.einsum("ij,kj->ik", x, x).softmax(dim=1).argmax(dim=1).float().mean().item()
    torch.testing.assert_close(x, x.clone())
    with torch.no_grad(), torch.inference_mode():
        model.eval()(x)
    torch.nn.functional.one_hot(y, 2)
    torch.save(model.state_dict(), io.BytesIO())


def _warm_up_cuda() -> None:
    """Load CUDA's lazily opened libraries (cuBLAS, ...) while site-packages is still readable."""
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)).cuda()
    x, y = torch.randn(16, 64, device="cuda"), torch.randint(0, 2, (16,), device="cuda")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    for dtype in (torch.float32, torch.float64):
        model.to(dtype)
        loss = torch.nn.functional.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        (model(x.to(dtype)).argmax(dim=1) == y).float().mean().item()
    torch.cuda.synchronize()


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
    _preload()
    _warm_up()
    handlers.install_recorders()
    os.chdir(config["workdir"])
    device = config["device"] if config["device"] != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        _warm_up_cuda()
    # RLIMIT_AS would break CUDA's address-space reservations; on a GPU the host watches RSS instead.
    containment = limits.Containment(uid=config.get("uid"), max_processes=config.get("max_processes", 256),
                                     memory_bytes=config.get("memory_bytes") if device == "cpu" else None)
    active = limits.apply(containment)
    os.environ.update(HOME=config["workdir"], TMPDIR=config["workdir"])
    sys.path.insert(0, config["submission"])
    handlers.configure(config)
    protocol.write_frame(reply_fd, {"id": "ready", "ok": True, "value": {"protections": active, "device": device}})
    _serve(request_fd, reply_fd)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except BaseException:  # noqa: B036
        traceback.print_exc()
        os._exit(3)
    os._exit(0)

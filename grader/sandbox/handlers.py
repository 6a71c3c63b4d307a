"""Worker-side calls: build trusted objects from the grader's payload, call the student, return plain data.

Nothing here decides a grade. Each handler returns tensors, numbers and strings; the grader compares them.
What the recorders report (autograd or torch.optim used) is evidence gathered inside the student's process.
"""
from __future__ import annotations

import importlib
import inspect
import os
import sys
import time
import traceback

import torch
from torch import nn

from grader.contract import MODULES
from grader.data import TensorLoader, normalise
from grader.fixtures import official_checksums_skipped
from grader.given import MyNet
from grader.notebooks import NOTES

_state: dict = {"config": {}, "recording": False, "autograd_calls": 0, "optimizers": 0, "import_errors": {}}


class SubmissionImportError(Exception):
    """A submission module that failed to import is needed by this call."""


def configure(config: dict) -> None:
    _state["config"] = config


def dispatch(call: str, payload: dict):
    """Run the handler named ``call``; its return value is plain data (tensors, numbers, strings, lists, dicts)."""
    if call not in HANDLERS:
        raise LookupError(f"unknown call {call!r}")
    torch.default_generator.manual_seed(payload.get("seed", 0))  # torch.manual_seed also queues CUDA seeding: slow
    return HANDLERS[call](payload)


# ---------------------------------------------------------------- evidence recorders

class _EngineRecorder:
    """Stands in for torch's autograd engine and counts its use while recording is on."""

    def __init__(self, engine):
        self._engine = engine

    def run_backward(self, *args, **kwargs):
        if _state["recording"]:
            _state["autograd_calls"] += 1
        return self._engine.run_backward(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._engine, name)


def install_recorders() -> None:
    """Count autograd backward passes and torch.optim use (installed before the submission is imported)."""
    from torch.autograd.variable import Variable

    Variable._execution_engine = _EngineRecorder(Variable._execution_engine)
    original_init = torch.optim.Optimizer.__init__

    def counting_init(self, *args, **kwargs):
        _state["optimizers"] += 1
        original_init(self, *args, **kwargs)

    torch.optim.Optimizer.__init__ = counting_init
    for module in (importlib.import_module("torch.optim.sgd"), importlib.import_module("torch.optim._functional")):
        original = module.sgd

        def counting_sgd(*args, __original=original, **kwargs):
            _state["optimizers"] += 1
            return __original(*args, **kwargs)

        module.sgd = counting_sgd


class _Recording:
    def __enter__(self):
        _state.update(recording=True, autograd_calls=0, optimizers=0)
        return self

    def __exit__(self, *exc):
        _state["recording"] = False
        self.autograd_calls, self.optimizers = _state["autograd_calls"], _state["optimizers"]
        return False


# ---------------------------------------------------------------- helpers

def student(module: str, name: str):
    """The submission's ``module.name``; raises SubmissionImportError when that module did not import."""
    if module in _state["import_errors"]:
        raise SubmissionImportError(_state["import_errors"][module])
    return getattr(sys.modules.get(module) or importlib.import_module(module), name)


def plain(value, depth: int = 0):
    """Student-returned ``value`` as plain data: tensors detached on the CPU, numbers, strings, containers."""
    if depth > 6:
        return {"__repr__": "nested too deep"}
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value[:100_000]]
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in list(value.items())[:1000]}
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:  # numpy scalars
        return plain(value.item(), depth + 1)
    return {"__repr__": f"{type(value).__module__}.{type(value).__qualname__}"}


def _submission_frames(error: BaseException) -> list:
    root = _state["config"].get("submission", "\0")
    return [(frame, line) for frame, line in traceback.walk_tb(error.__traceback__)
            if frame.f_code.co_filename.startswith(root)]


def student_traceback(error: BaseException) -> str:
    """The traceback lines that are in the submission's own files (empty when none are)."""
    root = _state["config"].get("submission", "\0")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return ""
    for frame in frames:
        frame.filename = os.path.relpath(frame.filename, root)
    return "".join(traceback.format_list(frames))[-4000:]


def student_function(error: BaseException) -> str | None:
    """The submission's function in which ``error`` was raised (e.g. "MyMLP.__init__"), if it was raised there."""
    frames = _submission_frames(error)
    if not frames:
        return None
    code = frames[-1][0].f_code
    return getattr(code, "co_qualname", code.co_name)


def _model(payload: dict) -> MyNet:
    model = MyNet(payload["n_l"], payload["activations"]).double()
    with torch.no_grad():
        for name, tensor in payload["params"].items():
            model.get_parameter(name).copy_(tensor)
    return model


def _dtype_of(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter (the inputs it expects), float32 if none."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _params(model: nn.Module) -> dict:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters()}


# ---------------------------------------------------------------- handlers

def load(payload: dict) -> dict:
    """Import each submission module; describe the contract names it defines, or say why it did not import."""
    result = {}
    for module in MODULES:
        started = time.perf_counter()
        try:
            mod = importlib.import_module(module)
        except BaseException as error:  # noqa: B036 - SystemExit at import included
            missing = isinstance(error, ModuleNotFoundError) and error.name == module
            message = (f"{module}.py is missing from your submission." if missing else
                       f"Importing {module}.py failed: {type(error).__name__}: {error}")
            _state["import_errors"][module] = message
            result[module] = {"names": {}, "error": message, "traceback": student_traceback(error)}
            continue
        result[module] = {"names": {n: describe(getattr(mod, n)) for n in payload.get("names", {}).get(module, [])
                                    if hasattr(mod, n)},
                          "notes": [str(note) for note in getattr(mod, NOTES, [])][:20],
                          "seconds": time.perf_counter() - started}
    return result


def describe(obj) -> dict:
    """Kind and signature of a module attribute, as plain data."""
    kind = "class" if inspect.isclass(obj) else "function" if callable(obj) else "other"
    try:
        parameters = [[p.name, p.kind.name, None if p.default is p.empty else repr(p.default)]
                      for p in inspect.signature(obj).parameters.values()]
    except (TypeError, ValueError):
        parameters = None
    return {"kind": kind, "parameters": parameters}


def backprop(payload: dict) -> dict:
    """Forward with the given MyNet, then the student's backpropagation; report gradients and side effects."""
    model = _model(payload)
    x, y_true = payload["x"].clone(), payload["y"].clone()
    y_pred = model(x)
    before = y_pred.detach().clone()
    with _Recording() as record:
        student("backpropagation", "backpropagation")(model, y_true, y_pred)
    reply = {"dL_dw": {str(l): plain(model.dL_dw.get(l)) for l in range(1, model.L + 1)},
             "dL_db": {str(l): plain(model.dL_db.get(l)) for l in range(1, model.L + 1)},
             "autograd_calls": record.autograd_calls}
    if payload.get("side_effects"):
        reply.update(params_after=_params(model), x_after=x, y_after=y_true,
                     y_pred_changed=not torch.equal(before, y_pred.detach()))
    return reply


def grad_check(payload: dict) -> dict:
    """The student's grad_check on the given MyNet with gradients the grader supplied."""
    model = _model(payload)
    for l in range(1, model.L + 1):
        model.dL_dw[l] = payload["dL_dw"][str(l)].clone()
        model.dL_db[l] = payload["dL_db"][str(l)].clone()
    loss_fn = nn.MSELoss(reduction="none")
    result = student("backpropagation", "grad_check")(model, payload["x"].clone(), payload["y"].clone(), loss_fn,
                                                      eps=payload["eps"], tol=payload["tol"])
    return {"result": plain(result), "params_after": _params(model)}


def _training_setup(payload: dict):
    model = _model(payload)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["x"], payload["y"]),
                                         batch_size=payload["batch_size"], shuffle=False)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["val_x"], payload["val_y"]),
                                      batch_size=payload["batch_size"]) if "val_x" in payload else None
    return model, loader, val, nn.CrossEntropyLoss()


def train(payload: dict) -> dict:
    """The student's train with a torch.optim.SGD the worker configures as the grader asked."""
    model, loader, val, loss_fn = _training_setup(payload)
    optimizer = torch.optim.SGD(model.parameters(), lr=payload["lr"], momentum=payload["momentum"],
                                weight_decay=payload["weight_decay"])
    history = student("gradient_descent", "train")(payload["n_epochs"], optimizer, model, loss_fn, loader, val,
                                                   device=torch.device("cpu"))
    return {"history": plain(history), "params_after": _params(model)}


def train_manual_update(payload: dict) -> dict:
    """The student's train_manual_update; reports whether torch.optim was used during the call."""
    model, loader, val, loss_fn = _training_setup(payload)
    with _Recording() as record:
        history = student("gradient_descent", "train_manual_update")(
            payload["n_epochs"], model, loss_fn, loader, lr=payload["lr"], momentum=payload["momentum"],
            weight_decay=payload["weight_decay"], val_loader=val, device=torch.device("cpu"))
    return {"history": plain(history), "params_after": _params(model), "optimizers": record.optimizers}


def mlp(payload: dict) -> dict:
    """Build the student's MyMLP (seeded) and run it on the grader's inputs in both accepted shapes."""
    model = student("gradient_descent", "MyMLP")()
    model.eval()
    x = payload["x"].to(_dtype_of(model))
    with torch.no_grad():
        out_images, out_flat = model(x.clone()), model(x.flatten(1).clone())
    return {"state": {k: plain(v) for k, v in model.state_dict().items()},
            "out_images": plain(out_images), "out_flat": plain(out_flat)}


def load_cifar(payload: dict) -> dict:
    """The student's load_cifar on the grader's fixture; every item of every split as plain data."""
    with official_checksums_skipped():  # the grader's fixture has no official checksums
        splits = student("gradient_descent", "load_cifar")(payload["root"], val_fraction=payload["val_fraction"],
                                                           seed=payload["seed"], download=False)
    if not isinstance(splits, (tuple, list)) or len(splits) != 3:
        return {"error": f"returned {type(splits).__name__}, not a tuple of three datasets"}
    result = {}
    for name, dataset in zip(("train", "val", "test"), splits):
        items = [dataset[i] for i in range(min(len(dataset), payload["max_items"]))]
        result[name] = {"len": len(dataset), "images": [plain(item[0]) for item in items],
                        "labels": [plain(item[1]) for item in items]}
    return result


def accuracy(payload: dict) -> dict:
    """Train the student's MyMLP with the student's train or train_manual_update; return test logits."""
    device = torch.device(payload["device"])
    torch.manual_seed(payload["seed"])
    model = student("gradient_descent", "MyMLP")().to(device)
    dtype = _dtype_of(model)
    train_x = normalise(payload["train_x"], payload["train_x"]).to(device, dtype)
    test_x = normalise(payload["test_x"], payload["train_x"]).to(device, dtype)
    train_loader = TensorLoader(train_x, payload["train_y"].to(device), payload["batch_size"])
    test_loader = TensorLoader(test_x, payload["test_y"].to(device), payload["batch_size"])
    loss_fn, hp = nn.CrossEntropyLoss(), payload["hyperparameters"]
    started = time.perf_counter()
    if payload["function"] == "train":
        optimizer = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                    weight_decay=hp["weight_decay"])
        student("gradient_descent", "train")(hp["epochs"], optimizer, model, loss_fn, train_loader, None, device)
    else:
        student("gradient_descent", "train_manual_update")(hp["epochs"], model, loss_fn, train_loader, lr=hp["lr"],
                                                           momentum=hp["momentum"], weight_decay=hp["weight_decay"],
                                                           val_loader=None, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x) for x, _ in test_loader])
    reported = student("gradient_descent", "compute_accuracy")(model, test_loader, device)
    return {"logits": plain(logits), "student_accuracy": plain(reported), "train_seconds": seconds}


def ping(payload: dict) -> dict:
    return {"pid": os.getpid(), "uid": os.getuid()}


HANDLERS = {"load": load, "backprop": backprop, "grad_check": grad_check, "train": train,
            "train_manual_update": train_manual_update, "mlp": mlp, "load_cifar": load_cifar,
            "accuracy": accuracy, "ping": ping}

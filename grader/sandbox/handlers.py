"""Worker-side calls: build trusted objects from the grader's payload, call the student, return plain data.

Nothing here decides a grade. Each handler returns tensors, numbers and strings; the grader compares them.
What the recorders report (autograd or torch.optim used) is evidence gathered inside the student's process.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import nn

from grader.assignment.calls import OBJECT, callable_key, role_values
from grader.assignment.declaration import Assignment, from_config
from grader.data.cifar import TensorLoader, normalise
from grader.data.fixtures import official_checksums_skipped
from grader.given import MyNet
from grader.sandbox import graded
from grader.submission.notebooks import NOTES, HelperStandIn, UnusableFile

_state: dict[str, Any] = {"config": {}, "recording": False, "autograd_calls": 0, "optimizers": 0, "import_errors": {}}


def configure(config: dict[str, Any]) -> None:
    """Take this worker's configuration: the assignment (and torch's default dtype as its template sets it)."""
    _state["config"] = config
    _state["assignment"] = from_config(config["assignment"])
    graded.reset()
    torch.set_default_dtype(getattr(torch, _state["assignment"].data.dtype))


def dispatch(call: str, payload: dict[str, Any]) -> Any:
    """Run the handler named ``call``; its return value is plain data (tensors, numbers, strings, lists, dicts)."""
    if call not in HANDLERS:
        raise LookupError(f"unknown call {call!r}")
    torch.default_generator.manual_seed(payload.get("seed", 0))  # torch.manual_seed also queues CUDA seeding: slow
    return HANDLERS[call](payload)


# ---------------------------------------------------------------- evidence recorders

class _EngineRecorder:
    """Stands in for torch's autograd engine and counts its use while recording is on."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def run_backward(self, *args: Any, **kwargs: Any) -> Any:
        if _state["recording"]:
            _state["autograd_calls"] += 1
        return self._engine.run_backward(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def install_recorders() -> None:
    """Count autograd backward passes and torch.optim use (installed before the submission is imported)."""
    from torch.autograd.variable import Variable

    # a stand-in for torch's engine: duck-typed, not its subclass
    Variable._execution_engine = _EngineRecorder(Variable._execution_engine)  # type: ignore[assignment]
    original_init = torch.optim.Optimizer.__init__

    def counting_init(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> None:
        _state["optimizers"] += 1
        original_init(self, *args, **kwargs)

    torch.optim.Optimizer.__init__ = counting_init  # type: ignore[method-assign]  # patched to count, on purpose
    for module in (importlib.import_module("torch.optim.sgd"), importlib.import_module("torch.optim._functional")):
        original = module.sgd

        def counting_sgd(*args: Any, __original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            _state["optimizers"] += 1
            return __original(*args, **kwargs)

        setattr(module, "sgd", counting_sgd)  # noqa: B010 - a patched module attribute mypy cannot see


class _Recording:
    autograd_calls = optimizers = 0

    def __enter__(self) -> _Recording:
        _state.update(recording=True, autograd_calls=0, optimizers=0)
        return self

    def __exit__(self, *_exc: object) -> Literal[False]:
        _state["recording"] = False
        self.autograd_calls, self.optimizers = _state["autograd_calls"], _state["optimizers"]
        return False


# ---------------------------------------------------------------- helpers

def assignment() -> Assignment:
    return cast(Assignment, _state["assignment"])


def student_call(call: str, payload: dict[str, Any], objects: dict[str, Any], device: str = "cpu") -> Any:
    """Call the student's function that ``call`` runs, each role's value taken from
    :func:`grader.assignment.calls.role_values` (the numbers) or from ``objects`` (what this handler built), bound to
    the student's own signature; a parameter the grader fills (:data:`grader.assignment.roles.FILLS`) gets its value
    from :func:`fills`."""
    key = callable_key(call, payload)
    if key is None:
        raise LookupError(f"{call} calls no student function")
    values = {role: objects.get(role) if value == OBJECT else value
              for role, value in role_values(call, payload).items()}
    graded.set_globals(assignment(), device)
    return graded.call(assignment(), key, values, _state["import_errors"], fills(payload, objects, device))


def _identity(value: Any) -> Any:
    return value


def fills(payload: dict[str, Any], objects: dict[str, Any], device: str) -> dict[str, Any]:
    """The values of :data:`grader.assignment.roles.FILLS` for this call: loaders over the grader's validation data (the
    training data where a call has none), an identity preprocessor, quiet flags, the seed, the device."""
    loader = objects.get("validation_data") or objects.get("train_loader")
    return {"val_loader": loader, "test_loader": loader, "preprocessor": _identity, "verbose": False,
            "print_every": 1_000_000, "seed": payload.get("seed", 0), "device": torch.device(device)}


def student_class(key: str, device: str = "cpu") -> Any:
    """The student's declared class ``key``, built with no arguments (after the grader's globals are set)."""
    graded.set_globals(assignment(), device)
    return graded.call(assignment(), key, {}, _state["import_errors"])


def plain(value: Any, depth: int = 0) -> Any:
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


def _submission_frames(error: BaseException) -> list[Any]:
    root = _state["config"].get("submission", "\0")
    return [(frame, line) for frame, line in traceback.walk_tb(error.__traceback__)
            if frame.f_code.co_filename.startswith(root)]


def student_traceback(error: BaseException) -> str:
    """The traceback lines that are in the submission's own files (empty when none are)."""
    root = _state["config"].get("submission", "\0")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(root)]
    if not frames:
        return ""
    shown = []
    for frame in frames:
        relative = os.path.relpath(frame.filename, root)
        module = relative[:-3] if relative.endswith(".py") and relative[:-3] in assignment().modules else None
        if module is not None and handed_in(module).endswith(".ipynb"):
            continue  # the module generated from a notebook: its cells' own frames follow
        frame.filename = handed_in(module) if module is not None else relative
        shown.append(frame)
    return "".join(traceback.format_list(shown))[-4000:]


def handed_in(module: str) -> str:
    """The file the student handed ``module`` in as (a renamed .py is quoted under the student's own name)."""
    return str(_state["config"].get("files", {}).get(module) or f"{module}.py")


def student_function(error: BaseException) -> str | None:
    """The submission's function in which ``error`` was raised (e.g. "MyMLP.__init__"), if it was raised there."""
    frames = _submission_frames(error)
    if not frames:
        return None
    code = frames[-1][0].f_code
    return str(getattr(code, "co_qualname", code.co_name))


def _model(payload: dict[str, Any]) -> MyNet:
    model = MyNet(payload["n_l"], payload["activations"]).double()
    with torch.no_grad():
        for name, tensor in payload["params"].items():
            model.get_parameter(name).copy_(tensor)
    return model


def _dtype_of(model: nn.Module) -> torch.dtype:
    """The dtype of the model's first floating-point parameter (the inputs it expects), float32 if none."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _params(model: nn.Module) -> dict[str, Any]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters()}


# ---------------------------------------------------------------- handlers

def load(payload: dict[str, Any]) -> dict[str, Any]:
    """Import each submission module; describe the declared functions and classes found in it (where, under which
    name, with which parameters), or say why a module did not import."""
    modules: dict[str, dict[str, Any]] = {}
    helpers = [sys.modules.setdefault(name, HelperStandIn(name)) for name in assignment().helpers]
    for module in assignment().modules:
        started = time.perf_counter()
        try:
            mod = importlib.import_module(module)
        except BaseException as error:  # noqa: B036 - SystemExit at import included
            missing = isinstance(error, ModuleNotFoundError) and error.name == module
            message = (f"{module}.py is missing from your submission." if missing else
                       f"{error}" if isinstance(error, UnusableFile) else
                       f"Importing {handed_in(module)} failed: {type(error).__name__}: {error}")
            _state["import_errors"][module] = message
            modules[module] = {"error": message, "file": handed_in(module),
                               "traceback": "" if isinstance(error, UnusableFile) else student_traceback(error)}
            continue
        modules[module] = {"notes": [str(note) for note in getattr(mod, NOTES, [])][:20], "file": handed_in(module),
                           "seconds": time.perf_counter() - started}
    helper_notes = [note for helper in helpers if isinstance(helper, HelperStandIn) and (note := helper.note())]
    first = next(iter(modules.values()), None)
    if first is not None and helper_notes:
        first.setdefault("notes", []).extend(helper_notes)
    graded.set_globals(assignment(), "cpu")
    return {"modules": modules, "callables": graded.describe(assignment(), _state["import_errors"])}


def backprop(payload: dict[str, Any]) -> dict[str, Any]:
    """Forward with the given MyNet, then the student's backpropagation; report gradients and side effects."""
    model = _model(payload)
    x, y_true = payload["x"].clone(), payload["y"].clone()
    y_pred = model(x)
    before = y_pred.detach().clone()
    with _Recording() as record:
        student_call("backprop", payload, {"model": model, "y_true": y_true, "y_pred": y_pred})
    reply = {"dL_dw": {str(l): plain(model.dL_dw.get(l)) for l in range(1, model.L + 1)},
             "dL_db": {str(l): plain(model.dL_db.get(l)) for l in range(1, model.L + 1)},
             "autograd_calls": record.autograd_calls}
    if payload.get("side_effects"):
        reply.update(params_after=_params(model), x_after=x, y_after=y_true,
                     y_pred_changed=not torch.equal(before, y_pred.detach()))
    return reply


def grad_check(payload: dict[str, Any]) -> dict[str, Any]:
    """The student's grad_check on the given MyNet with gradients the grader supplied."""
    model = _model(payload)
    for l in range(1, model.L + 1):
        model.dL_dw[l] = payload["dL_dw"][str(l)].clone()
        model.dL_db[l] = payload["dL_db"][str(l)].clone()
    objects = {"model": model, "x": payload["x"].clone(), "y_true": payload["y"].clone(),
               "loss_fn": nn.MSELoss(reduction="none")}
    result = student_call("grad_check", payload, objects)
    return {"result": plain(result), "params_after": _params(model)}


def _training_objects(payload: dict[str, Any]) -> dict[str, Any]:
    model = _model(payload)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["x"], payload["y"]),
                                         batch_size=payload["batch_size"], shuffle=False)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["val_x"], payload["val_y"]),
                                      batch_size=payload["batch_size"])
    return {"model": model, "train_loader": loader, "val_loader": val if payload.get("validate") else None,
            "validation_data": val, "loss_fn": nn.CrossEntropyLoss(), "device": torch.device("cpu")}


def _returned_model(value: Any, depth: int = 0) -> nn.Module | None:
    """An nn.Module the student's function returned (alone, or inside a tuple, list or dict), if any."""
    if isinstance(value, nn.Module):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    if depth < 2:
        for item in list(items)[:16]:
            found = _returned_model(item, depth + 1)
            if found is not None:
                return found
    return None


def _training_reply(returned: Any, model: nn.Module) -> dict[str, Any]:
    """What a training call gives back: the returned value as plain data, the parameters of the model the grader
    passed, and those of a different model the function returned (trained on a copy)."""
    reply = {"history": plain(returned), "params_after": _params(model)}
    other = _returned_model(returned)
    if other is not None and other is not model:
        reply["returned_params"] = _params(other)
    return reply


def train(payload: dict[str, Any]) -> dict[str, Any]:
    """The student's train with a torch.optim.SGD the worker configures as the grader asked."""
    objects = _training_objects(payload)
    objects["optimizer"] = torch.optim.SGD(objects["model"].parameters(), lr=payload["lr"],
                                           momentum=payload["momentum"], weight_decay=payload["weight_decay"])
    return _training_reply(student_call("train", payload, objects), objects["model"])


def train_manual_update(payload: dict[str, Any]) -> dict[str, Any]:
    """The student's train_manual_update; reports whether torch.optim was used during the call."""
    objects = _training_objects(payload)
    with _Recording() as record:
        returned = student_call("train_manual_update", payload, objects)
    return {**_training_reply(returned, objects["model"]), "optimizers": record.optimizers}


def mlp(payload: dict[str, Any]) -> dict[str, Any]:
    """Build the student's MLP class (seeded) and run it on the grader's inputs in both accepted shapes."""
    model = student_class("mlp")
    if graded.is_stub(type(model).forward):
        raise NotImplementedError(f"{type(model).__name__}.forward is still the template's stub")
    model.eval()
    x = payload["x"].to(_dtype_of(model))
    with torch.no_grad():
        out_images, out_flat = model(x.clone()), model(x.flatten(1).clone())
    return {"state": {k: plain(v) for k, v in model.state_dict().items()},
            "out_images": plain(out_images), "out_flat": plain(out_flat)}


def load_cifar(payload: dict[str, Any]) -> dict[str, Any]:
    """The student's load_cifar on the grader's fixture; every item of every split as plain data."""
    with official_checksums_skipped():  # the grader's fixture has no official checksums, and there is no network
        splits = student_call("load_cifar", payload, {"data_root": payload["root"]})
    if not isinstance(splits, (tuple, list)) or len(splits) != 3:
        return {"error": f"returned {type(splits).__name__}, not a tuple of three datasets"}
    result = {}
    for name, dataset in zip(("train", "val", "test"), splits):
        items = [dataset[i] for i in range(min(len(dataset), payload["max_items"]))]
        result[name] = {"len": len(dataset), "images": [plain(item[0]) for item in items],
                        "labels": [plain(item[1]) for item in items]}
    return result


def accuracy(payload: dict[str, Any]) -> dict[str, Any]:
    """Train the student's MLP with the student's train or train_manual_update; return test logits, and what the
    student's compute_accuracy says (or why it failed: that part is judged on its own)."""
    device = torch.device(payload["device"])
    torch.manual_seed(payload["seed"])
    model = student_class("mlp", payload["device"]).to(device)
    dtype = _dtype_of(model)

    data = payload["data"]
    arrays = {name: _mapped(path).to(device) for name, path in data["files"].items()}

    def normalised(batch: torch.Tensor) -> torch.Tensor:
        return normalise(batch, data["mean"], data["std"]).to(dtype)

    train_loader = TensorLoader(arrays["train_x"], arrays["train_y"], payload["batch_size"], normalised)
    test_loader = TensorLoader(arrays["test_x"], arrays["test_y"], payload["batch_size"], normalised)
    objects = {"model": model, "loss_fn": nn.CrossEntropyLoss(), "train_loader": train_loader, "val_loader": None,
               "validation_data": train_loader, "device": device}
    hp = payload["hyperparameters"]
    if payload["function"] == "train":
        objects["optimizer"] = torch.optim.SGD(model.parameters(), lr=hp["lr"], momentum=hp["momentum"],
                                               weight_decay=hp["weight_decay"])
    started = time.perf_counter()
    student_call("accuracy", payload, objects, device=payload["device"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x) for x, _ in test_loader])
    return {"logits": plain(logits), "train_seconds": seconds,
            **_reported_accuracy(model, test_loader, device, payload["device"])}


def _mapped(path: str) -> torch.Tensor:
    """A ``.npy`` file the grader wrote, memory-mapped copy-on-write: its pages are the page cache's, shared with the
    grader and never counted twice."""
    return torch.from_numpy(np.load(path, mmap_mode="c", allow_pickle=False))


def _reported_accuracy(model: nn.Module, loader: TensorLoader, device: torch.device,
                       device_name: str) -> dict[str, Any]:
    try:
        reported = student_call("accuracy", {"function": "compute_accuracy"},
                                {"model": model, "loader": loader, "device": device}, device=device_name)
    except Exception as error:  # judged as the compute_accuracy part alone, never as the training's failure
        return {"student_accuracy_error": f"{type(error).__name__}: {str(error)[:500]}",
                "student_accuracy_traceback": student_traceback(error)}
    return {"student_accuracy": plain(reported)}


def ping(payload: dict[str, Any]) -> dict[str, Any]:
    return {"pid": os.getpid(), "uid": os.getuid() if hasattr(os, "getuid") else None}


HANDLERS = {"load": load, "backprop": backprop, "grad_check": grad_check, "train": train,
            "train_manual_update": train_manual_update, "mlp": mlp, "load_cifar": load_cifar,
            "accuracy": accuracy, "ping": ping}

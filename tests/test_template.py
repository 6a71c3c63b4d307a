"""The student template: same public interface as the reference, every graded body a clear TODO."""
from __future__ import annotations

import importlib.util
import inspect

import pytest
import torch

from grader.assignment.declaration import load_assignment
from grader.given import MyNet
from tests.support.grading import REFERENCE, TEMPLATE


def _load(folder, module):
    spec = importlib.util.spec_from_file_location(f"{folder.name}_{module}", folder / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def _public(module):
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and callable(obj) and getattr(obj, "__module__", "") == module.__name__}


@pytest.mark.parametrize("module", ["backpropagation", "gradient_descent"])
def test_same_public_names_signatures_and_docstrings(module):
    reference, template = _load(REFERENCE, module), _load(TEMPLATE, module)
    ref, tpl = _public(reference), _public(template)
    assert set(ref) == set(tpl)
    for name in ref:
        assert inspect.signature(ref[name]) == inspect.signature(tpl[name]), name
        assert inspect.getdoc(ref[name]) == inspect.getdoc(tpl[name]), name
    if module == "backpropagation":
        assert reference.MyNet is template.MyNet is MyNet


@pytest.mark.parametrize("folder", [REFERENCE, TEMPLATE], ids=["reference", "template"])
def test_signatures_are_the_declared_ones(folder):
    for spec in load_assignment("default").callables.values():
        obj = getattr(_load(folder, spec.module), spec.name)
        parameters = [(p.name, None if p.default is p.empty else repr(p.default))
                      for p in inspect.signature(obj).parameters.values()]
        assert parameters == [(p.name, p.default) for p in spec.parameters], spec.name


def test_every_graded_body_raises_not_implemented():
    bp, gd = _load(TEMPLATE, "backpropagation"), _load(TEMPLATE, "gradient_descent")
    model = MyNet((2, 3, 2))
    x = torch.randn(1, 2)
    calls = [lambda: bp.backpropagation(model, x, model(x)),
             lambda: bp.grad_check(model, x, x, torch.nn.MSELoss(reduction="none")),
             lambda: gd.load_cifar("."), gd.MyMLP,
             lambda: gd.train(1, None, model, None, []),
             lambda: gd.train_manual_update(1, model, None, []),
             lambda: gd.compute_accuracy(model, [])]
    for call in calls:
        with pytest.raises(NotImplementedError, match="TODO"):
            call()

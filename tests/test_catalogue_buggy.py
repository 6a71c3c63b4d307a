"""A catalogue of realistic buggy submissions: each is caught by the right check with a helpful message.

Each bug is a patch on the reference (the patch target must exist, so a stale catalogue entry fails loudly).
``fails``: the check that must lose points and a fragment its feedback must contain;
``passes``: checks that must still give full marks (the bug is caught by the right check, not by accident).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from grader.pipeline import grade

from .conftest import rubric_for, write_submission

BP, GD = "backpropagation", "gradient_descent"
LAST_DELTA = "delta = 2 * (y_pred - y_true) * model.df[model.L](model.z[model.L])"
RECURSION = "delta = (delta @ model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1])"
TRAIN_STEP = "        optimizer.step()\n        optimizer.zero_grad()\n"
MANUAL_RETURN = "    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)\n\n\ndef _fit"


@dataclass(frozen=True)
class Bug:
    name: str
    patches: tuple
    fails: tuple[str, str]
    passes: tuple[str, ...] = ()
    append: dict = field(default_factory=dict)


AUTOGRAD_BACKPROP = '''
def backpropagation(model, y_true, y_pred):
    loss = ((y_pred - y_true) ** 2).sum()
    params = [p for l in range(1, model.L + 1) for p in (model.fc[str(l)].weight, model.fc[str(l)].bias)]
    grads = torch.autograd.grad(loss, params)
    for l in range(1, model.L + 1):
        model.dL_dw[l], model.dL_db[l] = grads[2 * l - 2], grads[2 * l - 1]
'''

BUGS = [
    Bug("derivative taken at a instead of z",
        ((BP, LAST_DELTA, LAST_DELTA.replace("model.z[model.L]", "model.a[model.L]")),
         (BP, RECURSION, RECURSION.replace("model.z[l - 1]", "model.a[l - 1]"))),
        ("backpropagation_one_sample", "elements differ")),
    Bug("loss derivative without the factor 2", ((BP, "delta = 2 * (y_pred - y_true)", "delta = (y_pred - y_true)"),),
        ("backpropagation_one_sample", "Largest absolute difference")),
    Bug("mean over the outputs", ((BP, "delta = 2 * (y_pred - y_true)", "delta = 2 * (y_pred - y_true) / y_pred.shape[1]"),),
        ("backpropagation_one_sample", "elements differ")),
    Bug("mean over the batch", ((BP, "delta = 2 * (y_pred - y_true)", "delta = 2 * (y_pred - y_true) / y_pred.shape[0]"),),
        ("backpropagation_mini_batch", "batch of 2"), passes=("backpropagation_one_sample",)),
    Bug("bias gradient from the first sample only", ((BP, "model.dL_db[l] = delta.sum(dim=0)", "model.dL_db[l] = delta[0]"),),
        ("backpropagation_mini_batch", "model.dL_db"), passes=("backpropagation_one_sample",)),
    Bug("activation derivative hard-coded (tanh)",
        ((BP, LAST_DELTA, "delta = 2 * (y_pred - y_true) * (1 - torch.tanh(model.z[model.L]) ** 2)"),
         (BP, RECURSION, "delta = (delta @ model.fc[str(l)].weight) * (1 - torch.tanh(model.z[l - 1]) ** 2)")),
        ("backpropagation_one_sample", "activation=")),
    Bug("first layer skipped", ((BP, "for l in range(model.L, 0, -1):", "for l in range(model.L, 1, -1):"),),
        ("backpropagation_one_sample", "but it is None")),
    Bug("weight gradient transposed", ((BP, "model.dL_dw[l] = delta.T @ model.a[l - 1]",
                                        "model.dL_dw[l] = model.a[l - 1].T @ delta"),),
        ("backpropagation_one_sample", "shape")),
    Bug("weights updated inside backpropagation",
        ((BP, "                delta = (delta @", "                model.fc[str(l)].weight -= 0.01 * model.dL_dw[l]\n"
                                                  "                delta = (delta @"),),
        ("rules", "changed fc.")),
    Bug("prediction modified in place", ((BP, LAST_DELTA, "y_pred.sub_(y_true)\n        delta = 2 * y_pred * "
                                                          "model.df[model.L](model.z[model.L])"),),
        ("rules", "y_pred")),
    Bug("autograd used", (), ("rules", "autograd"), passes=("backpropagation_one_sample",),
        append={BP: AUTOGRAD_BACKPROP}),
    Bug("grad_check always says yes", ((BP, "return rel_err <= tol, rel_err", "return True, rel_err"),),
        ("grad_check", "expected (False")),
    Bug("grad_check checks weights only",
        ((BP, "for param, analytic in ((layer.weight, model.dL_dw[l]), (layer.bias, model.dL_db[l])):",
          "for param, analytic in ((layer.weight, model.dL_dw[l]),):"),),
        ("grad_check", "dL_db")),
    Bug("grad_check does not restore parameters", ((BP, "        flat[i] = original\n        grads[i]", "        grads[i]"),),
        ("grad_check", "differ from before")),
    Bug("grad_check relative error without the norm sum",
        ((BP, "(g_fd - g_bp).norm().item() / denominator", "(g_fd - g_bp).norm().item() / g_fd.norm().item()"),),
        ("grad_check", "the contract's formula gives")),
    Bug("weight decay outside the momentum buffer",
        ((GD, "grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad", "grad = param.grad"),
         (GD, "            param.add_(grad, alpha=-lr)\n", "            param.add_(grad + weight_decay * param, alpha=-lr)\n")),
        ("train_manual_update", "momentum (0.9) and weight decay (0.01)")),
    Bug("decoupled weight decay",
        ((GD, "grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad",
          "param.mul_(1 - lr * weight_decay)\n            grad = param.grad"),),
        ("train_manual_update", "first differ")),
    Bug("momentum buffer reset every epoch",
        ((GD, MANUAL_RETURN, "    history = {}\n    for _ in range(n_epochs):\n        buffers.clear()\n"
                             "        for key, values in _fit(1, model, loss_fn, train_loader, val_loader, device, step).items():\n"
                             "            history.setdefault(key, []).extend(values)\n    return history\n\n\ndef _fit"),),
        ("train_manual_update", "after epoch 2 (after epoch 1 they still matched)")),
    Bug("momentum with dampening (1 - momentum)", ((GD, "buffers[i].mul_(momentum).add_(grad)",
                                                    "buffers[i].mul_(momentum).add_(grad, alpha=1 - momentum)"),),
        ("train_manual_update", "momentum (0.9), no weight decay")),
    Bug("forgotten zero_grad", ((GD, TRAIN_STEP, "        optimizer.step()\n"),), ("train", "Forgotten zero_grad")),
    Bug("two updates per step", ((GD, TRAIN_STEP, "        optimizer.step()\n" + TRAIN_STEP),),
        ("train", "More than one step")),
    Bug("train never steps the optimizer", ((GD, TRAIN_STEP, "        optimizer.zero_grad()\n"),),
        ("train", "parameter fc.")),
    Bug("train_loss is the last batch's loss",
        ((GD, 'history["train_loss"].append(float(loss_sum) / n_batches)', 'history["train_loss"].append(float(loss))'),),
        ("train", "mean batch loss")),
    Bug("train_loss reported as NaN",
        ((GD, 'history["train_loss"].append(float(loss_sum) / n_batches)', 'history["train_loss"].append(float("nan"))'),),
        ("train", "expected the mean batch loss")),
    Bug("torch.optim inside the manual update",
        ((GD, MANUAL_RETURN, "    sgd = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)\n"
                             "    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device,\n"
                             "                lambda: (sgd.step(), sgd.zero_grad()))\n\n\ndef _fit"),),
        ("rules", "torch.optim"), passes=("train_manual_update",)),
    Bug("softmax on the MLP output", ((GD, "return self.layers(torch.flatten(x, 1))",
                                       "return torch.softmax(self.layers(torch.flatten(x, 1)), dim=1)"),),
        ("MyMLP", "no softmax")),
    Bug("a missing ReLU", ((GD, "self.layers = nn.Sequential(*layers[:-1])",
                            "self.layers = nn.Sequential(*(layers[:1] + layers[2:-1]))"),),
        ("MyMLP", "no ReLU after the first hidden layer")),
    Bug("swapped labels", ((GD, "labels.append(label)", "labels.append(1 - label)"),
                           (GD, '(targets[keep] == CIFAR10_INDEX["bird"])', '(targets[keep] == CIFAR10_INDEX["airplane"])')),
        ("load_cifar", "labelled 0; expected 1 (airplane 0, bird 1)")),
    Bug("unnormalised images", ((GD, "normalised = ((images.to(torch.float64) / 255 - mean) / std).to(torch.float32)",
                                 "normalised = (images.to(torch.float64) / 255).to(torch.float32)"),),
        ("load_cifar", "not normalised")),
    Bug("validation taken from the test set", ((GD, "dataset(train_images[val_idx], train_labels[val_idx]),",
                                                "dataset(test_images[:n_val], test_labels[:n_val]),"),),
        ("load_cifar", "from the test images")),
]


def test_catalogue_is_large_enough():
    assert len(BUGS) >= 25
    assert len({bug.name for bug in BUGS}) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[bug.name for bug in BUGS])
def test_bug_is_caught_by_the_right_check(tmp_path, bug):
    folder = write_submission(tmp_path / "submission", bug.patches, append=bug.append)
    failing, fragment = bug.fails
    rubric = rubric_for(failing, *bug.passes, examples=40)
    report = grade(folder, rubric)
    results = {r.name: r for r in report.results}
    caught = results[failing]
    assert caught.score < caught.max_score and caught.status == "failed", caught.feedback
    assert fragment in caught.feedback, caught.feedback
    assert "Traceback (most recent call last)" not in caught.feedback
    for name in bug.passes:
        assert results[name].status == "passed", f"{name}: {results[name].feedback}"

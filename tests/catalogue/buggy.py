"""A catalogue of realistic buggy submissions: each is caught by the right check with a helpful message."""
from __future__ import annotations

from dataclasses import dataclass

from . import Submission

BP, GD = "backpropagation", "gradient_descent"
LAST_DELTA = "delta = 2 * (y_pred - y_true) * model.df[model.L](model.z[model.L])"
RECURSION = "delta = (delta @ model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1])"
TRAIN_STEP = "        optimizer.step()\n        optimizer.zero_grad()\n"
MANUAL_RETURN = "    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)\n\n\ndef _fit"


@dataclass(frozen=True)
class Bug(Submission):
    """A buggy submission; ``fails``: (check that must lose points, fragment of its feedback);
    ``passes``: checks that must still give full marks (the bug is caught by the right check, not by accident)."""

    fails: tuple[str, str] = ("", "")
    passes: tuple[str, ...] = ()
    diagnosis: str | None = None
    """The misconception the grader must name for it (grader/checks/diagnosis/catalogue.py), or None: no misconception of
    the catalogue explains it, and none may be named."""


def bug(name: str, patches: tuple, fails: tuple[str, str], passes: tuple[str, ...] = (), append=None,
        diagnosis: str | None = None) -> Bug:
    return Bug(name, patches, append=append or {}, fails=fails, passes=passes, diagnosis=diagnosis)


AUTOGRAD_BACKPROP = '''
def backpropagation(model, y_true, y_pred):
    loss = ((y_pred - y_true) ** 2).sum()
    params = [p for l in range(1, model.L + 1) for p in (model.fc[str(l)].weight, model.fc[str(l)].bias)]
    grads = torch.autograd.grad(loss, params)
    for l in range(1, model.L + 1):
        model.dL_dw[l], model.dL_db[l] = grads[2 * l - 2], grads[2 * l - 1]
'''

FIRST_SAMPLE_BACKPROP = '''
def backpropagation(model, y_true, y_pred):
    """Written for one sample: the batch dimension is squeezed away (only the first sample counts)."""
    with torch.no_grad():
        delta = 2 * (y_pred[0] - y_true[0]) * model.df[model.L](model.z[model.L][0])
        for l in range(model.L, 0, -1):
            model.dL_dw[l] = torch.outer(delta, model.a[l - 1][0])
            model.dL_db[l] = delta
            if l > 1:
                delta = (model.fc[str(l)].weight.T @ delta) * model.df[l - 1](model.z[l - 1][0])
'''
MANUAL_UPDATE = (
    "            grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad\n"
    "            if momentum:\n"
    "                buffers[i] = grad.clone() if i not in buffers else buffers[i].mul_(momentum).add_(grad)\n"
    "                grad = buffers[i]\n"
    "            param.add_(grad, alpha=-lr)\n")

BUGS = [
    bug("derivative taken at a instead of z",
        ((BP, LAST_DELTA, LAST_DELTA.replace("model.z[model.L]", "model.a[model.L]")),
         (BP, RECURSION, RECURSION.replace("model.z[l - 1]", "model.a[l - 1]"))),
        ("backpropagation_one_sample", "elements differ"), diagnosis='derivative_at_output'),
    bug("loss derivative without the factor 2", ((BP, "delta = 2 * (y_pred - y_true)", "delta = (y_pred - y_true)"),),
        ("backpropagation_one_sample", "Largest absolute difference"), diagnosis='missing_factor_2'),
    bug("mean over the outputs", ((BP, "delta = 2 * (y_pred - y_true)", "delta = 2 * (y_pred - y_true) / y_pred.shape[1]"),),
        ("backpropagation_one_sample", "elements differ"), diagnosis='mean_over_outputs'),
    bug("mean over the batch", ((BP, "delta = 2 * (y_pred - y_true)", "delta = 2 * (y_pred - y_true) / y_pred.shape[0]"),),
        ("backpropagation_mini_batch", "batch of 2"), passes=("backpropagation_one_sample",), diagnosis='mean_over_batch'),
    bug("bias gradient from the first sample only", ((BP, "model.dL_db[l] = delta.sum(dim=0)", "model.dL_db[l] = delta[0]"),),
        ("backpropagation_mini_batch", "model.dL_db"), passes=("backpropagation_one_sample",), diagnosis='bias_one_sample'),
    bug("activation derivative hard-coded (tanh)",
        ((BP, LAST_DELTA, "delta = 2 * (y_pred - y_true) * (1 - torch.tanh(model.z[model.L]) ** 2)"),
         (BP, RECURSION, "delta = (delta @ model.fc[str(l)].weight) * (1 - torch.tanh(model.z[l - 1]) ** 2)")),
        ("backpropagation_one_sample", "activation="), diagnosis='activation_hardcoded'),
    bug("first layer skipped", ((BP, "for l in range(model.L, 0, -1):", "for l in range(model.L, 1, -1):"),),
        ("backpropagation_one_sample", "but it is None"), diagnosis='layer_skipped'),
    bug("weight gradient transposed", ((BP, "model.dL_dw[l] = delta.T @ model.a[l - 1]",
                                        "model.dL_dw[l] = model.a[l - 1].T @ delta"),),
        ("backpropagation_one_sample", "shape"), diagnosis='weight_gradient_transposed'),
    bug("weights updated inside backpropagation",
        ((BP, "                delta = (delta @", "                model.fc[str(l)].weight -= 0.01 * model.dL_dw[l]\n"
                                                  "                delta = (delta @"),),
        ("rules", "changed fc.")),
    bug("prediction modified in place", ((BP, LAST_DELTA, "y_pred.sub_(y_true)\n        delta = 2 * y_pred * "
                                                          "model.df[model.L](model.z[model.L])"),),
        ("rules", "y_pred")),
    bug("autograd used", (), ("rules", "autograd"), passes=("backpropagation_one_sample",),
        append={BP: AUTOGRAD_BACKPROP}),
    bug("grad_check always says yes", ((BP, "return rel_err <= tol, rel_err", "return True, rel_err"),),
        ("grad_check", "expected (False"), diagnosis='always_true'),
    bug("grad_check checks weights only",
        ((BP, "for param, analytic in ((layer.weight, model.dL_dw[l]), (layer.bias, model.dL_db[l])):",
          "for param, analytic in ((layer.weight, model.dL_dw[l]),):"),),
        ("grad_check", "dL_db"), diagnosis='biases_not_checked'),
    bug("grad_check does not restore parameters", ((BP, "        flat[i] = original\n        grads[i]", "        grads[i]"),),
        ("grad_check", "differ from before"), diagnosis='parameters_not_restored'),
    bug("grad_check relative error without the norm sum",
        ((BP, "(g_fd - g_bp).norm().item() / denominator", "(g_fd - g_bp).norm().item() / g_fd.norm().item()"),),
        ("grad_check", "the contract's formula gives")),
    bug("weight decay outside the momentum buffer",
        ((GD, "grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad", "grad = param.grad"),
         (GD, "            param.add_(grad, alpha=-lr)\n", "            param.add_(grad + weight_decay * param, alpha=-lr)\n")),
        ("train_manual_update", "momentum (0.9) and weight decay (0.01)"), diagnosis='decay_outside_momentum'),
    bug("decoupled weight decay",
        ((GD, "grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad",
          "param.mul_(1 - lr * weight_decay)\n            grad = param.grad"),),
        ("train_manual_update", "first differ"), diagnosis='decay_outside_momentum'),
    bug("momentum buffer reset every epoch",
        ((GD, MANUAL_RETURN, "    history = {}\n    for _ in range(n_epochs):\n        buffers.clear()\n"
                             "        for key, values in _fit(1, model, loss_fn, train_loader, val_loader, device, step).items():\n"
                             "            history.setdefault(key, []).extend(values)\n    return history\n\n\ndef _fit"),),
        ("train_manual_update", "after epoch 2 (after epoch 1 they still matched)"), diagnosis='momentum_reset_each_epoch'),
    bug("momentum with dampening (1 - momentum)", ((GD, "buffers[i].mul_(momentum).add_(grad)",
                                                    "buffers[i].mul_(momentum).add_(grad, alpha=1 - momentum)"),),
        ("train_manual_update", "momentum (0.9), no weight decay"), diagnosis='momentum_dampened'),
    bug("forgotten zero_grad", ((GD, TRAIN_STEP, "        optimizer.step()\n"),), ("train", "Forgotten zero_grad"), diagnosis='gradients_not_zeroed'),
    bug("two updates per step", ((GD, TRAIN_STEP, "        optimizer.step()\n" + TRAIN_STEP),),
        ("train", "More than one step"), diagnosis='double_step'),
    bug("train never steps the optimizer", ((GD, TRAIN_STEP, "        optimizer.zero_grad()\n"),),
        ("train", "parameter fc.")),
    bug("train_loss is the last batch's loss",
        ((GD, 'history["train_loss"].append(float(loss_sum) / n_batches)', 'history["train_loss"].append(float(loss))'),),
        ("train", "mean batch loss"), diagnosis='last_batch_loss'),
    bug("train_loss reported as NaN",
        ((GD, 'history["train_loss"].append(float(loss_sum) / n_batches)', 'history["train_loss"].append(float("nan"))'),),
        ("train", "expected each epoch's mean batch loss")),
    bug("torch.optim inside the manual update",
        ((GD, MANUAL_RETURN, "    sgd = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)\n"
                             "    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device,\n"
                             "                lambda: (sgd.step(), sgd.zero_grad()))\n\n\ndef _fit"),),
        ("rules", "torch.optim"), passes=("train_manual_update",)),
    bug("softmax on the MLP output", ((GD, "return self.layers(torch.flatten(x, 1))",
                                       "return torch.softmax(self.layers(torch.flatten(x, 1)), dim=1)"),),
        ("MyMLP", "no softmax"), diagnosis='softmax_output'),
    bug("a missing ReLU", ((GD, "self.layers = nn.Sequential(*layers[:-1])",
                            "self.layers = nn.Sequential(*(layers[:1] + layers[2:-1]))"),),
        ("MyMLP", "no ReLU after the first hidden layer"), diagnosis='missing_relu'),
    bug("swapped labels", ((GD, "labels.append(label)", "labels.append(1 - label)"),
                           (GD, '(targets[keep] == CIFAR10_INDEX["bird"])', '(targets[keep] == CIFAR10_INDEX["airplane"])')),
        ("load_cifar", "labelled 0; expected 1 (airplane 0, bird 1)"), diagnosis='labels_swapped'),
    bug("unnormalised images", ((GD, "normalised = ((images.to(torch.float64) / 255 - mean) / std).to(torch.float32)",
                                 "normalised = (images.to(torch.float64) / 255).to(torch.float32)"),),
        ("load_cifar", "not normalised"), diagnosis='not_normalized'),
    bug("validation taken from the test set", ((GD, "dataset(train_images[val_idx], train_labels[val_idx]),",
                                                "dataset(test_images[:n_val], test_labels[:n_val]),"),),
        ("load_cifar", "from the test images"), diagnosis='val_from_test'),
    bug("gradients with the opposite sign", ((BP, "delta = 2 * (y_pred - y_true)", "delta = 2 * (y_true - y_pred)"),),
        ("backpropagation_one_sample", "elements differ"), diagnosis="sign_flipped"),
    bug("activation derivative left out", ((BP, LAST_DELTA, "delta = 2 * (y_pred - y_true)"),
                                            (BP, RECURSION, "delta = delta @ model.fc[str(l)].weight")),
        ("backpropagation_one_sample", "elements differ"), diagnosis="derivative_missing"),
    bug("one sample at a time (squeezed batch)", (), ("backpropagation_mini_batch", "batch of"),
        passes=("backpropagation_one_sample",), append={BP: FIRST_SAMPLE_BACKPROP}, diagnosis="batch_of_one_only"),
    bug("gradients stored under the next layer's index",
        ((BP, "model.dL_dw[l] = delta.T @ model.a[l - 1]", "model.dL_dw[l - 1] = delta.T @ model.a[l - 1]"),
         (BP, "model.dL_db[l] = delta.sum(dim=0)", "model.dL_db[l - 1] = delta.sum(dim=0)")),
        ("backpropagation_one_sample", "model.dL_d"), diagnosis="wrong_layer"),
    bug("grad_check reports the absolute error",
        ((BP, "rel_err = 0.0 if denominator == 0 else (g_fd - g_bp).norm().item() / denominator",
          "rel_err = (g_fd - g_bp).norm().item()"),), ("grad_check", "the contract's formula gives"),
        diagnosis="absolute_error"),
    bug("grad_check with one-sided differences",
        ((BP, "grads[i] = (loss_plus - loss_minus) / (2 * eps)",
          "grads[i] = (loss_plus - loss_fn(model(x), y_true).sum().item()) / eps"),),
        ("grad_check", "the contract's formula gives"), diagnosis="one_sided_difference"),
    bug("momentum ignored", ((GD, "            if momentum:\n", "            if False:  # the momentum is never used\n"),),
        ("train_manual_update", "momentum (0.9), no weight decay"), diagnosis="momentum_ignored"),
    bug("momentum buffer subtracted", ((GD, "buffers[i].mul_(momentum).add_(grad)", "buffers[i].mul_(-momentum).add_(grad)"),),
        ("train_manual_update", "momentum (0.9), no weight decay"), diagnosis="momentum_sign_flipped"),
    bug("momentum buffer minus the gradient", ((GD, "buffers[i].mul_(momentum).add_(grad)",
                                                "buffers[i].mul_(momentum).sub_(grad)"),),
        ("train_manual_update", "momentum (0.9), no weight decay"), diagnosis="momentum_gradient_subtracted"),
    bug("the first step's update applied twice", (
        (GD, "    buffers: dict[int, torch.Tensor] = {}\n", "    buffers: dict[int, torch.Tensor] = {}\n    first = [True]\n"),
        (GD, "            param.add_(grad, alpha=-lr)\n            param.grad = None\n",
         "            param.add_(grad, alpha=-lr)\n            if first[0]:\n                param.add_(grad, alpha=-lr)\n"
         "            param.grad = None\n        first[0] = False\n")),
        ("train_manual_update", "first differ"), diagnosis="double_update_some_steps"),
    bug("manual update never clears the gradients", ((GD, "            param.grad = None\n", ""),),
        ("train_manual_update", "first differ"), diagnosis="gradients_not_zeroed"),
    bug("manual update applied twice per batch", ((GD, MANUAL_UPDATE, "            for _ in range(2):\n" + "".join(
        "    " + line + "\n" for line in MANUAL_UPDATE.splitlines())),),
        ("train_manual_update", "first differ"), diagnosis="double_update"),
    bug("learning rate applied twice", ((GD, "            param.add_(grad, alpha=-lr)\n",
                                         "            param.add_(grad, alpha=-lr * lr)\n"),),
        ("train_manual_update", "first differ"), diagnosis="lr_applied_twice"),
    bug("train_loss is the sum of the batch losses",
        ((GD, 'history["train_loss"].append(float(loss_sum) / n_batches)', 'history["train_loss"].append(float(loss_sum))'),),
        ("train", "mean batch loss"), diagnosis="loss_summed"),
    bug("a hidden layer of the wrong width", ((GD, "for n_in, n_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):",
                                               "for n_in, n_out in zip((3072, 512, 64, 32), (512, 64, 32, 2)):"),),
        ("MyMLP", "no linear layer"), diagnosis="wrong_width"),
    bug("cats instead of birds", ((GD, "    for label, name in enumerate(CLASSES):", '    for label, name in enumerate(("airplane", "cat")):'),
                                  (GD, "keep = np.isin(targets, list(CIFAR10_INDEX.values()))", "keep = np.isin(targets, [0, 3])"),
                                  (GD, '(targets[keep] == CIFAR10_INDEX["bird"])', "(targets[keep] == 3)")),
        ("load_cifar", "returned datasets of sizes"), diagnosis="wrong_class"),
    # right code handed back in a shape that earns less: only the part it misses is charged
    bug("manual update returns nothing", ((GD, MANUAL_RETURN, MANUAL_RETURN.replace("    return _fit", "    _fit")),),
        ("train_manual_update", "returned None: no list of losses in it"), passes=("train", "rules")),
    bug("bias gradient squeezed at width 1", ((BP, "model.dL_db[l] = delta.sum(dim=0)",
                                               "model.dL_db[l] = delta.sum(dim=0).squeeze()"),),
        ("backpropagation_one_sample", "a squeeze()?"), passes=("grad_check",)),
]
BY_NAME = {entry.name: entry for entry in BUGS}

MANUAL_STEP = "            param.add_(grad, alpha=-lr)\n"
BROKEN_LOOPS = (
    Submission("train: no zero_grad (gradients accumulate)", ((GD, TRAIN_STEP, "        optimizer.step()\n"),)),
    Submission("train_manual_update: gradients never cleared",
               ((GD, "            param.grad = None\n", ""),)),
    Submission("loss on the wrong tensor (the previous batch's labels)",
               ((GD, "        for x, y in train_loader:\n", "        previous_y = None\n        for x, y in train_loader:\n"),
                (GD, "            loss = loss_fn(output, y)\n",
                 "            target = previous_y if previous_y is not None and len(previous_y) == len(y) else y\n"
                 "            loss = loss_fn(output, target)\n            previous_y = y\n"))),
    Submission("compute_accuracy in train mode, divided by batches x batch size",
               ((GD, "    return _evaluate(model, lambda output, y: output.new_zeros(()), loader, device)[1]\n",
                 "    model.train()\n    correct = sum(int((model(x.to(device)).argmax(1) == y.to(device)).sum()) "
                 "for x, y in loader)\n    return correct / (len(loader) * loader.batch_size)\n"),)),
    Submission("constant outputs", ((GD, "return self.layers(torch.flatten(x, 1))",
                                     "return self.layers(torch.flatten(x, 1)) * 0"),)),
    Submission("train_manual_update: learning rate 10x too large",
               ((GD, MANUAL_STEP, "            param.add_(grad, alpha=-10 * lr)\n"),)),
    Submission("train_manual_update: learning rate 10x too small",
               ((GD, MANUAL_STEP, "            param.add_(grad, alpha=-lr / 10)\n"),)),
)
"""Broken training loops for the accuracy stage's calibration: which lose accuracy points, which cannot be told
apart from correct ones by accuracy alone (benchmarks/calibrate_accuracy.py --broken)."""

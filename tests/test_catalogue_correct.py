"""Correct solutions written differently from the reference: every one gets full marks (accuracy aside)."""
from __future__ import annotations

import pytest

from grader.pipeline import grade

from .conftest import rubric_for, write_submission

EINSUM_LOOPS = '''
def backpropagation(model, y_true, y_pred):
    """Per-sample loops and einsum instead of matrix products."""
    with torch.no_grad():
        for n in range(y_pred.shape[0]):
            delta = 2 * (y_pred[n] - y_true[n]) * model.df[model.L](model.z[model.L][n])
            for l in range(model.L, 0, -1):
                w_grad = torch.einsum("i,j->ij", delta, model.a[l - 1][n])
                model.dL_dw[l] = w_grad if n == 0 else model.dL_dw[l] + w_grad
                model.dL_db[l] = delta.clone() if n == 0 else model.dL_db[l] + delta
                if l > 1:
                    delta = torch.einsum("i,ij->j", delta, model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1][n])
'''

ZERO_BUFFER = '''
def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None):
    """Momentum buffers start at zero; loops written out by hand."""
    device = device if device is not None else next(model.parameters()).device
    buffers = [torch.zeros_like(p) for p in model.parameters()]
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(n_epochs):
        total, batches, correct, seen = 0.0, 0, 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            model.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            with torch.no_grad():
                for p, buf in zip(model.parameters(), buffers):
                    g = p.grad + weight_decay * p
                    buf.mul_(momentum).add_(g)
                    p -= lr * buf
            total += loss.item()
            batches += 1
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
        history["train_loss"].append(total / batches)
        history["train_acc"].append(correct / seen)
        if val_loader is not None:
            history["val_loss"].append(0.0)
            history["val_acc"].append(compute_accuracy(model, val_loader, device))
    return history
'''

CHATTY = '''
_quiet_backpropagation = backpropagation
def backpropagation(model, y_true, y_pred):
    print("backpropagation called with", y_pred.shape, "and the whole model:", model)
    for l in range(1, model.L + 1):
        print("layer", l, model.fc[str(l)].weight)
    _quiet_backpropagation(model, y_true, y_pred)
    print("done; gradients:", model.dL_dw)
'''

TRANSFORMS_LOADER = '''
def load_cifar(data_root, val_fraction=0.1, seed=265, download=False):
    """torchvision datasets and transforms, normalised with the published CIFAR-10 constants."""
    import os
    from torchvision import datasets, transforms
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    if os.path.isdir(os.path.join(data_root, "cifar-10-batches-py")):
        splits = [datasets.CIFAR10(data_root, train=t, download=download, transform=transform) for t in (True, False)]
        keep = {0: 0, 2: 1}
        target = lambda label: keep[label]
    else:
        splits = [datasets.ImageFolder(os.path.join(data_root, s), transform=transform) for s in ("train", "test")]
        names = splits[0].classes
        keep = {names.index("airplane"): 0, names.index("bird"): 1}
        target = lambda label: keep[label]
    subsets = []
    for data in splits:
        labels = data.targets
        indices = [i for i, label in enumerate(labels) if label in keep]
        data.target_transform = target
        subsets.append(torch.utils.data.Subset(data, indices))
    train_all, test = subsets
    n_val = int(round(val_fraction * len(train_all)))
    generator = torch.Generator().manual_seed(seed)
    train, val = torch.utils.data.random_split(train_all, [len(train_all) - n_val, n_val], generator=generator)
    return train, val, test
'''

VARIANTS = {
    "einsum and per-sample loops": {"append": {"backpropagation": EINSUM_LOOPS}},
    "global float64 default dtype at import": {"patches": (("gradient_descent", "from torch import nn\n",
                                                            "from torch import nn\n\ntorch.set_default_dtype(torch.float64)\n"),
                                                           ("backpropagation", "import torch\n",
                                                            "import torch\n\ntorch.set_default_dtype(torch.float64)\n"))},
    "momentum buffer initialised with zeros": {"append": {"gradient_descent": ZERO_BUFFER}},
    "lots of printing": {"append": {"backpropagation": CHATTY}},
    "torchvision transforms with published constants": {"append": {"gradient_descent": TRANSFORMS_LOADER}},
}


@pytest.mark.parametrize("name", VARIANTS)
def test_correct_variant_gets_full_marks(tmp_path, name):
    folder = write_submission(tmp_path / "submission", **VARIANTS[name])
    rubric = rubric_for(*[n for n in ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules",
                                      "grad_check", "train", "train_manual_update", "MyMLP", "load_cifar")],
                        examples=60)
    report = grade(folder, rubric)
    failed = {r.name: r.feedback for r in report.results if r.status != "passed"}
    assert not failed, failed
    assert report.score == report.max_score
    if name == "lots of printing":
        printed = next(r.output for r in report.results if r.name == "backpropagation_one_sample")
        assert "backpropagation called with" in printed and len(printed) <= 64 * 1024 + 200

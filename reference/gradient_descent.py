"""Reference solution: CIFAR-10 airplane/bird data, the MLP, training with torch.optim.SGD and by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from grader.given import CIFAR10_INDEX, CLASSES, MLP_SIZES, SEED, VAL_FRACTION

LAYOUT_HELP = (
    "Expected one of two layouts:\n"
    "  1. the official CIFAR-10 python layout: DATA_ROOT/cifar-10-batches-py/{data_batch_1..5,test_batch}\n"
    "     (torchvision downloads it there with download=True);\n"
    "  2. an ImageFolder tree: DATA_ROOT/train/{airplane,bird}/*.png|jpg and DATA_ROOT/test/{airplane,bird}/...\n"
    "Point at the data with --data-root DIR or the CIFAR_ROOT environment variable."
)


def load_cifar(data_root, val_fraction: float = VAL_FRACTION, seed: int = SEED, download: bool = False):
    """Return ``(train_set, val_set, test_set)`` of CIFAR-10 airplanes (label 0) and birds (label 1).

    Each item is ``(image, label)``: a float32 tensor (3, 32, 32) normalised per channel with the mean and
    standard deviation of the training split, and an int. The validation set is a seeded random split
    of the training images (disjoint from train); the test set is the CIFAR-10 test images of the two classes.
    Raises FileNotFoundError naming both supported layouts when ``data_root`` holds neither.
    """
    train_images, train_labels, test_images, test_labels = _read_images(Path(data_root), download)
    order = torch.randperm(len(train_labels), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * len(train_labels)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    pixels = train_images[train_idx].to(torch.float64) / 255
    mean = pixels.mean(dim=(0, 2, 3), keepdim=True)
    std = pixels.std(dim=(0, 2, 3), keepdim=True)

    def dataset(images, labels):
        normalised = ((images.to(torch.float64) / 255 - mean) / std).to(torch.float32)
        return torch.utils.data.TensorDataset(normalised, labels)

    return (
        dataset(train_images[train_idx], train_labels[train_idx]),
        dataset(train_images[val_idx], train_labels[val_idx]),
        dataset(test_images, test_labels),
    )


def _read_images(root: Path, download: bool):
    if download or (root / "cifar-10-batches-py").is_dir() or root.name == "cifar-10-batches-py":
        return _read_official(root.parent if root.name == "cifar-10-batches-py" else root, download)
    if all((root / split / name).is_dir() for split in ("train", "test") for name in CLASSES):
        return _read_image_folder(root / "train") + _read_image_folder(root / "test")
    raise FileNotFoundError(f"No CIFAR-10 airplane/bird data found at {str(root)!r}.\n{LAYOUT_HELP}")


def _read_official(root: Path, download: bool):
    from torchvision.datasets import CIFAR10

    arrays = []
    for train in (True, False):
        data = CIFAR10(str(root), train=train, download=download)
        targets = np.asarray(data.targets)
        keep = np.isin(targets, list(CIFAR10_INDEX.values()))
        images = torch.from_numpy(data.data[keep]).permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy((targets[keep] == CIFAR10_INDEX["bird"]).astype(np.int64))
        arrays += [images, labels]
    return tuple(arrays)


def _read_image_folder(split_dir: Path):
    from PIL import Image

    images, labels = [], []
    for label, name in enumerate(CLASSES):
        for path in sorted((split_dir / name).iterdir()):
            with Image.open(path) as image:
                images.append(np.asarray(image.convert("RGB")))
            labels.append(label)
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return stacked, torch.tensor(labels, dtype=torch.int64)


class MyMLP(nn.Module):
    """Multi-layer perceptron 3072 -> 512 -> 128 -> 32 -> 2, ReLU after each hidden layer, linear output.

    Accepts images ``(N, 3, 32, 32)`` or flat vectors ``(N, 3072)``; returns logits ``(N, 2)``.
    """

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        for n_in, n_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.flatten(x, 1))


def train(n_epochs, optimizer, model, loss_fn, train_loader, val_loader=None, device=None) -> dict:
    """Train ``model`` for ``n_epochs`` with ``optimizer``; return the per-epoch history.

    Each batch: forward, loss, backward, ``optimizer.step()``, gradients zeroed. The history holds
    ``train_loss`` (mean of that epoch's batch losses), ``train_acc`` (accuracy on the batches as they were
    trained), and ``val_loss`` / ``val_acc`` (empty without ``val_loader``), one value per epoch.
    """

    def step():
        optimizer.step()
        optimizer.zero_grad()

    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)


def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None) -> dict:
    """Same as :func:`train`, with stochastic gradient descent written by hand (no ``torch.optim``).

    For every parameter p with gradient g, as ``torch.optim.SGD(lr, momentum, weight_decay)`` does it:
        g   <- g + weight_decay * p                     (L2 term, before the momentum buffer)
        buf <- g  on the first step, else  momentum * buf + g      (buffer kept across epochs)
        p   <- p - lr * (buf if momentum != 0 else g)
    """
    buffers: dict[int, torch.Tensor] = {}

    @torch.no_grad()
    def step():
        for i, param in enumerate(model.parameters()):
            if param.grad is None:
                continue
            grad = param.grad.add(param, alpha=weight_decay) if weight_decay else param.grad
            if momentum:
                buffers[i] = grad.clone() if i not in buffers else buffers[i].mul_(momentum).add_(grad)
                grad = buffers[i]
            param.add_(grad, alpha=-lr)
            param.grad = None

    return _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step)


def _fit(n_epochs, model, loss_fn, train_loader, val_loader, device, step) -> dict:
    device = device if device is not None else next(model.parameters()).device
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for _ in range(n_epochs):
        model.train()
        loss_sum, n_batches, n_correct, n_seen = 0.0, 0, 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            step()
            loss_sum += loss.detach()
            n_batches += 1
            n_correct += (output.argmax(dim=1) == y).sum()
            n_seen += len(y)
        history["train_loss"].append(float(loss_sum) / n_batches)
        history["train_acc"].append(float(n_correct) / n_seen)
        if val_loader is not None:
            val_loss, val_acc = _evaluate(model, loss_fn, val_loader, device)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
    return history


@torch.no_grad()
def _evaluate(model, loss_fn, loader, device) -> tuple[float, float]:
    model.eval()
    loss_sum, n_batches, n_correct, n_seen = 0.0, 0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        output = model(x)
        loss_sum += loss_fn(output, y)
        n_batches += 1
        n_correct += (output.argmax(dim=1) == y).sum()
        n_seen += len(y)
    return float(loss_sum) / n_batches, float(n_correct) / n_seen


def compute_accuracy(model, loader, device=None) -> float:
    """Fraction of the loader's samples whose arg-max output equals the label (model in eval mode, no grad)."""
    device = device if device is not None else next(model.parameters()).device
    return _evaluate(model, lambda output, y: output.new_zeros(()), loader, device)[1]

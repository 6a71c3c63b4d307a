"""Your solution: CIFAR-10 airplane/bird data, the MLP, training with torch.optim.SGD and by hand.

Check your work at any time with:  autograde check student_template/   (or any folder with your two files)
"""
from __future__ import annotations

import torch
from torch import nn

from grader.given import CIFAR10_INDEX, CLASSES, MLP_SIZES, SEED, VAL_FRACTION  # noqa: F401 - for your code


def load_cifar(data_root, val_fraction: float = VAL_FRACTION, seed: int = SEED, download: bool = False):
    """Return ``(train_set, val_set, test_set)`` of CIFAR-10 airplanes (label 0) and birds (label 1).

    Each item is ``(image, label)``: a float32 tensor (3, 32, 32) normalised per channel with the mean and
    standard deviation of the training split, and an int. The validation set is a seeded random split
    of the training images (disjoint from train); the test set is the CIFAR-10 test images of the two classes.
    Raises FileNotFoundError naming both supported layouts when ``data_root`` holds neither.
    """
    raise NotImplementedError(
        "TODO load_cifar: read DATA_ROOT/cifar-10-batches-py (torchvision.datasets.CIFAR10) or the ImageFolder "
        "tree DATA_ROOT/{train,test}/{airplane,bird}; keep airplanes (label 0) and birds (label 1); split "
        "val_fraction of the training images off with a generator seeded by `seed`; normalise each channel."
    )


class MyMLP(nn.Module):
    """Multi-layer perceptron 3072 -> 512 -> 128 -> 32 -> 2, ReLU after each hidden layer, linear output.

    Accepts images ``(N, 3, 32, 32)`` or flat vectors ``(N, 3072)``; returns logits ``(N, 2)``.
    """

    def __init__(self):
        super().__init__()
        raise NotImplementedError(
            "TODO MyMLP: create the four nn.Linear layers 3072->512->128->32->2 (ReLU between them, none at the end)."
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("TODO MyMLP.forward: flatten x to (N, 3072), return logits of shape (N, 2).")


def train(n_epochs, optimizer, model, loss_fn, train_loader, val_loader=None, device=None) -> dict:
    """Train ``model`` for ``n_epochs`` with ``optimizer``; return the per-epoch history.

    Each batch: forward, loss, backward, ``optimizer.step()``, gradients zeroed. The history holds
    ``train_loss`` (mean of that epoch's batch losses), ``train_acc`` (accuracy on the batches as they were
    trained), and ``val_loss`` / ``val_acc`` (empty without ``val_loader``), one value per epoch.
    """
    raise NotImplementedError(
        "TODO train: loop over epochs and batches (move x, y with .to(device)); forward, loss, backward, "
        "optimizer.step(), zero the gradients; return {'train_loss': [...], 'val_loss': [...], "
        "'train_acc': [...], 'val_acc': [...]} with one value per epoch."
    )


def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum=0.0, weight_decay=0.0,
                        val_loader=None, device=None) -> dict:
    """Same as :func:`train`, with stochastic gradient descent written by hand (no ``torch.optim``).

    For every parameter p with gradient g, as ``torch.optim.SGD(lr, momentum, weight_decay)`` does it:
        g   <- g + weight_decay * p                     (L2 term, before the momentum buffer)
        buf <- g  on the first step, else  momentum * buf + g      (buffer kept across epochs)
        p   <- p - lr * (buf if momentum != 0 else g)
    """
    raise NotImplementedError(
        "TODO train_manual_update: like train, but after loss.backward() update every parameter yourself "
        "under torch.no_grad() (L2 term, then a momentum buffer per parameter kept across epochs), "
        "then zero the gradients. Do not use torch.optim."
    )


def compute_accuracy(model, loader, device=None) -> float:
    """Fraction of the loader's samples whose arg-max output equals the label (model in eval mode, no grad)."""
    raise NotImplementedError(
        "TODO compute_accuracy: under torch.no_grad() and model.eval(), count output.argmax(dim=1) == y over the "
        "loader and divide by the number of samples."
    )

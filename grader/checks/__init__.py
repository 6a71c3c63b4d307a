"""The checks, in grading order: check name -> (title, function taking a Context, returning a CheckResult)."""
from __future__ import annotations

from . import accuracy, backprop, grad_check, interface, load_cifar, mlp, rules, training

CHECKS = {
    "interface": (interface.TITLE, interface.run),
    "backpropagation_one_sample": (backprop.ONE_SAMPLE_TITLE, backprop.run_one_sample),
    "backpropagation_mini_batch": (backprop.MINI_BATCH_TITLE, backprop.run_mini_batch),
    "rules": (rules.TITLE, rules.run),
    "grad_check": (grad_check.TITLE, grad_check.run),
    "train": (training.TRAIN_TITLE, training.run_train),
    "train_manual_update": (training.MANUAL_TITLE, training.run_manual),
    "MyMLP": (mlp.TITLE, mlp.run),
    "load_cifar": (load_cifar.TITLE, load_cifar.run),
    "accuracy": (accuracy.TITLE, accuracy.run),
}

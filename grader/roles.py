"""The grader's vocabulary of parameter ROLES: what each value the grader passes means, whatever a template or a
student calls the parameter. Imports nothing heavy (the worker and the torch-free commands share it).

An assignment declares, for each graded function, which role each of its parameters plays and under which name
(:mod:`grader.assignment`); :mod:`grader.binding` then matches the roles to the parameters a student actually wrote.
The aliases here are names students commonly use for a role; a declaration may add its own.
"""
from __future__ import annotations

ROLES: dict[str, tuple[str, ...]] = {
    # what the role is -> names often used for it (compared without case, underscores or dashes)
    "model": ("net", "network", "mlp", "my_model", "classifier", "nn_model"),
    "y_true": ("y", "target", "targets", "y_target", "ytrue", "label", "labels", "y_train", "expected"),
    "y_pred": ("output", "outputs", "y_hat", "yhat", "prediction", "predictions", "pred", "out", "y_out"),
    "x": ("inputs", "input", "x_input", "data", "images"),
    "loss_fn": ("loss_function", "criterion", "loss", "lossfn", "loss_func", "lossfunction", "cost_fn"),
    "eps": ("epsilon", "h", "step"),
    "tol": ("tolerance", "threshold", "atol", "rtol"),
    "data_root": ("data_path", "root", "path", "data_dir", "datapath", "dataroot", "data_folder", "folder"),
    "split_fraction": ("train_val_split", "val_fraction", "val_split", "split", "train_fraction", "val_ratio",
                       "validation_split", "train_split", "split_ratio", "val_size", "train_size"),
    "seed": ("random_seed", "split_seed", "rng_seed"),
    "download": ("download_data",),
    "n_epochs": ("epochs", "num_epochs", "n_epoch", "epoch_count", "nb_epochs", "max_epochs", "number_of_epochs",
                 "epoch", "nepochs"),
    "optimizer": ("opt", "optim", "optimiser", "sgd"),
    "train_loader": ("loader", "trainloader", "data_loader", "dataloader", "train_dl", "train_data", "training_loader",
                     "train_dataloader", "loader_train"),
    "val_loader": ("valid_loader", "validation_loader", "val_dl", "val_data", "valloader", "val_dataloader",
                   "loader_val"),
    "loader": ("data_loader", "dataloader", "test_loader", "val_loader", "dl", "data", "eval_loader"),
    "lr": ("learning_rate", "eta", "alpha", "step_size", "learningrate"),
    "momentum": ("momentum_coeff", "momentum_coef", "mom", "beta", "mu", "momentum_factor", "momentum_rate"),
    "weight_decay": ("wd", "decay", "l2", "l2_reg", "l2_lambda", "lambda_", "lmbda", "weight_decay_coeff",
                     "reg", "regularization", "l2_coeff", "weightdecay"),
    "device": ("dev", "torch_device"),
    "widths": ("n_l", "layers", "sizes"),
    "activation": ("activations", "act"),
}
"""Every role the grader passes a value for, with its common aliases."""

OPTIONAL_ROLES = frozenset({"device"})
"""Roles whose value a function may take from elsewhere (a module-level global the grader sets): a function without
such a parameter is still called, with no complaint."""


def normalised(name: str) -> str:
    """``name`` compared loosely: lower case, without underscores, dashes or spaces (``learningRate`` =
    ``learning_rate``)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def is_role(role: str) -> bool:
    return role in ROLES

"""The grader's vocabulary of parameter ROLES: what each value the grader passes means, whatever a template or a
student calls the parameter. Imports nothing heavy (the worker and the torch-free commands share it).

An assignment declares, for each graded function, which role each of its parameters plays and under which name
(:mod:`grader.assignment.declaration`); :mod:`grader.assignment.binding` then matches the roles to the parameters a
student actually wrote.
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
                       "validation_split", "train_split", "split_ratio", "val_size", "train_size", "val_share",
                       "validation_share", "validation_fraction"),
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


FILLS: dict[str, tuple[str, ...]] = {
    # what the grader passes -> parameter names that ask for it (compared like ROLES' aliases)
    "val_loader": ("val_loader", *ROLES["val_loader"], "validation_dataloader", "valid_dl", "validloader"),
    "test_loader": ("test_loader", "testloader", "test_dl", "test_data", "loader_test", "test_dataloader"),
    "preprocessor": ("preprocessor", "preprocess", "preprocessing", "transform", "transforms", "normalizer",
                     "normaliser", "normalize", "normalise", "normalization", "normalisation"),
    "verbose": ("verbose", "verbosity", "print_progress", "print_loss", "show_progress", "debug", "log", "logging",
                "plot", "show_plot", "show"),
    "print_every": ("print_every", "log_every", "log_interval", "print_interval", "report_every", "print_freq",
                    "log_freq"),
    "seed": ("seed", *ROLES["seed"]),
    "device": ("device", *ROLES["device"]),
}
"""Values the grader can give a parameter that the template does not have, when a student's function requires it
(or its default is a notebook value that was not run): a validation or test loader over the grader's own data, an
identity preprocessor, quiet flags, a seed, the device. A parameter with a usable default keeps its default."""
FILL_DESCRIPTIONS = {"val_loader": "the grader's validation loader", "test_loader": "a loader of the grader's data",
                     "preprocessor": "an identity function (the grader's data is already prepared)",
                     "verbose": "False", "print_every": "1000000 (quiet)", "seed": "the rubric's seed",
                     "device": "the grading device"}


def fill_for(name: str) -> str | None:
    """The value the grader can give a parameter called ``name`` (a key of FILLS), or None."""
    wanted = normalised(name)
    return next((fill for fill, names in FILLS.items() if wanted in {normalised(n) for n in names}), None)


def normalised(name: str) -> str:
    """``name`` compared loosely: lower case, without underscores, dashes or spaces (``learningRate`` =
    ``learning_rate``)."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def is_role(role: str) -> bool:
    return role in ROLES

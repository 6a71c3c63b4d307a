"""Your solution: manual backpropagation and a finite-difference gradient check.

Notation (layers ``l = 1..L``, batch of N samples as rows):
    z[l] = a[l-1] @ W[l]^T + b[l],   a[l] = f_l(z[l]),   y_pred = a[L]
    loss = sum_n sum_j (y_pred[n, j] - y_true[n, j])^2
Check your work at any time with:  autograde check student_template/   (or any folder with your two files)
"""
from __future__ import annotations

import torch

from grader.given import MyNet  # given code, re-exported: students import it from here


def backpropagation(model: MyNet, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    """Fill ``model.dL_dw[l]`` and ``model.dL_db[l]`` with the exact gradients of the summed squared error.

    Equations, with ``*`` the element-wise product and the batch along rows:
        delta[L] = 2 (y_pred - y_true) * f_L'(z[L])                       (N, n_L)
        delta[l] = (delta[l+1] @ W[l+1]) * f_l'(z[l])                     (N, n_l)
        dL/dW[l] = delta[l]^T @ a[l-1]                                    (n_l, n_{l-1})
        dL/db[l] = sum over the batch of delta[l]                         (n_l,)
    Uses only ``model.a``, ``model.z``, ``model.df`` and the weights; no autograd; modifies nothing else.
    """
    raise NotImplementedError(
        "TODO backpropagation: for l = L..1 compute delta[l] (shape (N, n_l)) from model.z, model.a, model.df "
        "and model.fc[str(l)].weight, then set model.dL_dw[l] (shape of fc[str(l)].weight) and "
        "model.dL_db[l] (shape of fc[str(l)].bias). Do not use autograd."
    )


def grad_check(model: MyNet, x: torch.Tensor, y_true: torch.Tensor, loss_fn, eps: float = 1e-6, tol: float = 1e-6):
    """Compare ``model.dL_dw`` / ``model.dL_db`` with central finite differences of the summed loss.

    For every weight and bias entry theta: g_fd = (L(theta + eps) - L(theta - eps)) / (2 eps), with
    L = loss_fn(model(x), y_true).sum(). Returns ``(rel_err <= tol, rel_err)`` where
    rel_err = ||g_fd - g_bp|| / (||g_fd|| + ||g_bp||) over all parameters together (0 when both are 0).
    Every parameter is restored bit-for-bit.
    """
    raise NotImplementedError(
        "TODO grad_check: perturb each weight and bias entry by +eps and -eps (under torch.no_grad()), "
        "restore it exactly, build g_fd with one entry per parameter entry, compare with model.dL_dw / "
        "model.dL_db and return (rel_err <= tol, rel_err)."
    )

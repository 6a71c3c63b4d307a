"""Reference solution: manual backpropagation and a finite-difference gradient check.

Notation (layers ``l = 1..L``, batch of N samples as rows):
    z[l] = a[l-1] @ W[l]^T + b[l],   a[l] = f_l(z[l]),   y_pred = a[L]
    loss = sum_n sum_j (y_pred[n, j] - y_true[n, j])^2
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
    with torch.no_grad():
        delta = 2 * (y_pred - y_true) * model.df[model.L](model.z[model.L])
        for l in range(model.L, 0, -1):
            model.dL_dw[l] = delta.T @ model.a[l - 1]
            model.dL_db[l] = delta.sum(dim=0)
            if l > 1:
                delta = (delta @ model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1])


def grad_check(model: MyNet, x: torch.Tensor, y_true: torch.Tensor, loss_fn, eps: float = 1e-6, tol: float = 1e-6):
    """Compare ``model.dL_dw`` / ``model.dL_db`` with central finite differences of the summed loss.

    For every weight and bias entry theta: g_fd = (L(theta + eps) - L(theta - eps)) / (2 eps), with
    L = loss_fn(model(x), y_true).sum(). Returns ``(rel_err <= tol, rel_err)`` where
    rel_err = ||g_fd - g_bp|| / (||g_fd|| + ||g_bp||) over all parameters together (0 when both are 0).
    Every parameter is restored bit-for-bit.
    """
    fd_parts, bp_parts = [], []
    with torch.no_grad():
        for l in range(1, model.L + 1):
            layer = model.fc[str(l)]
            for param, analytic in ((layer.weight, model.dL_dw[l]), (layer.bias, model.dL_db[l])):
                fd_parts.append(_central_differences(model, param, x, y_true, loss_fn, eps))
                bp_parts.append(analytic.reshape(-1).to(fd_parts[-1].dtype))
    g_fd, g_bp = torch.cat(fd_parts), torch.cat(bp_parts)
    denominator = (g_fd.norm() + g_bp.norm()).item()
    rel_err = 0.0 if denominator == 0 else (g_fd - g_bp).norm().item() / denominator
    return rel_err <= tol, rel_err


def _central_differences(model, param, x, y_true, loss_fn, eps) -> torch.Tensor:
    flat = param.view(-1)
    grads = torch.empty(flat.numel(), dtype=torch.float64)
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        loss_plus = loss_fn(model(x), y_true).sum().item()
        flat[i] = original - eps
        loss_minus = loss_fn(model(x), y_true).sum().item()
        flat[i] = original
        grads[i] = (loss_plus - loss_minus) / (2 * eps)
    return grads

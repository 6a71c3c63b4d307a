"""What grad_check code with each misconception returns, in float64, from the case and the gradients it was given.

No finite differences are computed here (this ships in the student kit): the central differences a correct
grad_check takes are autograd's gradient (they agree to about 1e-10 in float64 with eps = 1e-6, far inside the
check's agreement), and one-sided differences are autograd's gradient plus eps / 2 times the loss's second
derivative along each parameter (Taylor's expansion, exact to O(eps^2)), that second derivative by autograd too.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..cases import Gradients, NetCase, by_parameter_name, expected_gradients, relative_error


@dataclass(frozen=True)
class Observation:
    """One call of the student's grad_check: the case, the gradients given, and what came back."""

    case: NetCase
    dL_dw: Gradients
    dL_db: Gradients
    correct_verdict: bool
    verdict: bool
    rel_err: float
    params_after: dict[str, Any]


def errors(case: NetCase, dL_dw: Gradients, dL_db: Gradients, eps: float) -> dict[str, float]:
    """The relative error of the given gradients as the correct code and as each misconception computes it."""
    central = by_parameter_name(*expected_gradients(case))
    forward = {name: central[name] + eps / 2 * curvature for name, curvature in _second_derivatives(case).items()}
    analytic = by_parameter_name(dL_dw, dL_db)
    names = list(central)
    weights = [name for name in names if name.endswith("weight")]
    every = torch.cat([central[k] for k in names]) - torch.cat([analytic[k] for k in names])
    return {"correct": relative_error(central, analytic, names),
            "biases_not_checked": relative_error(central, analytic, weights),
            "absolute_error": every.norm().item(), "one_sided_difference": relative_error(forward, analytic, names)}


def _second_derivatives(case: NetCase) -> dict[str, torch.Tensor]:
    """d2L/dp2 for every parameter entry p (the Hessian's diagonal), by autograd, flattened by parameter name."""
    model = case.model()
    loss = ((model(case.x) - case.y) ** 2).sum()
    parameters = dict(model.named_parameters())
    grads = dict(zip(parameters, torch.autograd.grad(loss, list(parameters.values()), create_graph=True)))
    diagonal = {}
    for name, parameter in parameters.items():
        flat = grads[name].reshape(-1)
        diagonal[name] = torch.stack([torch.autograd.grad(flat[i], parameter, retain_graph=True)[0].reshape(-1)[i]
                                      for i in range(flat.numel())]).detach()
    return diagonal


def holding(observations: list[Observation], eps: float, agreement: tuple[float, float]) -> dict[str, Any]:
    """For :func:`first_match`: per misconception, whether it gives what the student's grad_check
    returned on every call. Empty when every call was answered correctly."""
    computed = [errors(o.case, o.dL_dw, o.dL_db, eps) for o in observations]

    def close(got: float, expected: float) -> bool:
        return abs(got - expected) <= agreement[0] * abs(expected) + agreement[1]

    def not_restored() -> bool:
        return all(_moved_by(o, -eps) for o in observations) or all(_moved_by(o, eps) for o in observations)

    correct = all(o.verdict == o.correct_verdict and close(o.rel_err, c["correct"]) and _moved_by(o, 0.0)
                  for o, c in zip(observations, computed))
    if correct:
        return {}
    def reports(name: str) -> Callable[[], bool]:
        def holds() -> bool:
            return all(close(o.rel_err, c[name]) for o, c in zip(observations, computed)) and \
                any(not close(c[name], c["correct"]) for c in computed)
        return holds

    checks = {"always_true": lambda: all(o.verdict for o in observations)
              and not all(o.correct_verdict for o in observations),
              "parameters_not_restored": not_restored,
              **{name: reports(name) for name in ("biases_not_checked", "absolute_error", "one_sided_difference")}}
    return {name: (lambda check=check: (check(), "")) for name, check in checks.items()}


def _moved_by(observation: Observation, shift: float) -> bool:
    """Whether every parameter after the call is its value before plus ``shift`` (within rounding)."""
    for name, before in observation.case.params.items():
        after = observation.params_after.get(name)
        if not isinstance(after, torch.Tensor) or after.shape != before.shape:
            return False
        if not torch.allclose(after.double(), before + shift, rtol=0, atol=1e-12 + 1e-9 * abs(shift)):
            return False
    return True

"""grad_check accepts correct gradients, rejects a corrupted weight and a corrupted bias, reports the contract's
relative error, and leaves every parameter bit-for-bit unchanged."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..report.results import Part
from .base import CheckTimeUp, Context, Skip, failed_call, out_of_time
from .cases import Gradients, NetCase, by_parameter_name, expected_gradients, make_net_case, relative_error
from .diagnosis import diagnosed, first_match
from .diagnosis.grad_check import Observation, holding
from .registry import Check, Settings

EPS, TOL = 1e-6, 1e-6
AGREEMENT = (1e-3, 1e-7)
"""rel_err must be within 1e-3 * ours + 1e-7 of the grader's own finite-difference value."""
CASES = (((3, 4, 2), "tanh", 3), ((2, 3, 3, 1), "sigmoid", 2), ((4, 2), "relu", 4))
LABELS = {"correct": "accepts correct gradients (returns True)",
          "weight": "rejects gradients with one corrupted weight entry (returns False)",
          "bias": "rejects gradients with one corrupted bias entry (returns False)",
          "rel_err": "reports rel_err = ||g_fd - g_bp|| / (||g_fd|| + ||g_bp||)",
          "restores": "leaves every parameter bit-for-bit unchanged"}


def run(ctx: Context) -> list[Part]:
    if not ctx.assignment.has("grad_check"):
        raise Skip(f"the assignment {ctx.assignment.name!r} gives grad_check: students do not write it.")
    call = ctx.assignment.callable("grad_check").call(eps=EPS, tol=TOL)
    failures: dict[str, Part] = {}
    observations: list[Observation] = []
    try:
        for index, (n_l, activation, batch) in enumerate(CASES):
            case = make_net_case(n_l, (activation,) * (len(n_l) - 1), batch, ctx.seed + index)
            for variant in ("correct", "weight", "bias"):
                for key, part in _judge(ctx, call, case, variant, observations).items():
                    failures.setdefault(key, part)
    except CheckTimeUp:
        for key, label in LABELS.items():
            failures.setdefault(key, out_of_time(label))
    diagnosis = first_match("grad_check", holding(observations, EPS, AGREEMENT), len(observations)) \
        if failures and observations else None
    return [diagnosed(failures[key], diagnosis, "your grad_check's answers") if key in failures else Part.ok(label)
            for key, label in LABELS.items()]


def _judge(ctx: Context, call: str, case: NetCase, variant: str, observations: list[Any]) -> dict[str, Part]:
    """The failed parts (by key) of one call of grad_check with correct or corrupted gradients."""
    dL_dw, dL_db, what = _gradients(case, variant)
    payload = {**case.payload(), "dL_dw": {str(l): g for l, g in dL_dw.items()},
               "dL_db": {str(l): g for l, g in dL_db.items()}, "eps": EPS, "tol": TOL}
    pending = ctx.begin("grad_check", payload)
    ours, seconds = contract_error(case, dL_dw, dL_db), case.autograd[1]  # while the worker runs
    reply = ctx.finish(pending, seconds)
    context = f"{call} on {case.describe()} with {what}"
    if not reply.ok:
        return {key: failed_call(LABELS[key], call, reply.failure, context=context)
                for key in (variant, "rel_err", "restores")}
    verdict, rel_err = _unpack(reply.value["result"])
    if verdict is None:
        message = f"{context} returned {reply.value['result']!r:.100}; expected a tuple (bool, float)."
        return {key: Part.fail(LABELS[key], message) for key in (variant, "rel_err")}
    observations.append(Observation(case, dL_dw, dL_db, variant == "correct", verdict, rel_err,
                                    reply.value["params_after"]))
    return _verdict(case, variant, context, verdict, rel_err, ours, reply.value["params_after"])


def _gradients(case: NetCase, variant: str) -> tuple[Gradients, Gradients, str]:
    """(dL_dw, dL_db, description): autograd's gradients, one entry corrupted for "weight" and "bias"."""
    dL_dw, dL_db = expected_gradients(case)
    if variant == "weight":
        dL_dw[1][0, 0] += _corruption(dL_dw, dL_db)
        return dL_dw, dL_db, "gradients whose dL_dw[1][0, 0] is wrong"
    if variant == "bias":
        last = len(case.n_l) - 1
        dL_db[last][0] += _corruption(dL_dw, dL_db)
        return dL_dw, dL_db, f"gradients whose dL_db[{last}][0] is wrong"
    return dL_dw, dL_db, "correct gradients"


def _verdict(case: NetCase, variant: str, context: str, verdict: bool, rel_err: float, ours: float,
             params_after: dict[str, torch.Tensor]) -> dict[str, Part]:
    failures = {}
    if verdict != (variant == "correct"):
        failures[variant] = Part.fail(LABELS[variant], f"{context} returned ({verdict}, {rel_err:.3g}); expected "
                                                       f"({not verdict}, about {ours:.3g}).")
    if not abs(rel_err - ours) <= AGREEMENT[0] * ours + AGREEMENT[1]:
        failures["rel_err"] = Part.fail(LABELS["rel_err"], f"{context} reported rel_err {rel_err:.6g}; the contract's "
                                                           f"formula gives {ours:.6g}.")
    changed = [name for name, tensor in case.params.items()
               if not (isinstance(params_after.get(name), torch.Tensor) and torch.equal(params_after[name], tensor))]
    if changed:
        failures["restores"] = Part.fail(LABELS["restores"], f"after {context}, these parameters differ from before: "
                                         f"{', '.join(changed)}. Restore each entry exactly (e.g. keep the original "
                                         "value and write it back).")
    return failures


def _corruption(dL_dw: Gradients, dL_db: Gradients) -> float:
    scale = torch.cat([g.flatten() for g in (*dL_dw.values(), *dL_db.values())]).abs().max().item()
    return 0.2 * scale + 0.05


def _unpack(result: object) -> tuple[bool | None, float]:
    if not isinstance(result, list) or len(result) != 2:
        return None, float("nan")
    verdict, rel_err = (r.item() if isinstance(r, torch.Tensor) and r.numel() == 1 else r for r in result)
    if not isinstance(verdict, bool) or not isinstance(rel_err, (int, float)) or isinstance(rel_err, bool):
        return None, float("nan")
    return verdict, float(rel_err)


def contract_error(case: NetCase, dL_dw: Gradients, dL_db: Gradients) -> float:
    """The contract's rel_err of these gradients, with autograd's gradient standing for the central differences
    (in float64 with eps = EPS they agree to about 1e-10 relative, far inside AGREEMENT: tests/checks/test_cases.py)."""
    exact = by_parameter_name(*expected_gradients(case))
    return relative_error(exact, by_parameter_name(dL_dw, dL_db), list(exact))


@dataclass(frozen=True)
class GradCheckSettings(Settings):
    points: float = 10


CHECKS = (Check("grad_check", "{grad_check}: accepts correct gradients, rejects corrupted ones, restores parameters",
                run, GradCheckSettings, grades=("grad_check",)),)

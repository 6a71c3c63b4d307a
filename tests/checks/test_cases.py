"""The grader's own strategies, tested: valid ranges, determinism, and ReLU inputs kept off the kink."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.cases import (
    GRADED_ACTIVATIONS,
    KINK_MARGIN,
    SGDConfig,
    by_parameter_name,
    expected_gradients,
    make_net_case,
    min_kink_distance,
    net_cases,
    relative_error,
    sgd_configs,
    training_problem,
)
from grader.given import KINKED_ACTIVATIONS


@given(net_cases(batch_sizes=st.integers(1, 8)))
def test_net_cases_are_in_range_and_off_the_kink(case):
    assert 2 <= len(case.n_l) <= 5 and all(1 <= n <= 8 for n in case.n_l)
    assert len(case.activations) == len(case.n_l) - 1 and set(case.activations) <= set(GRADED_ACTIVATIONS)
    assert case.x.dtype == case.y.dtype == torch.float64 and 1 <= len(case.x) <= 8
    assert min_kink_distance(case) >= KINK_MARGIN


def test_kinked_cases_really_are_checked():
    case = make_net_case((3, 8, 8, 2), ("relu",) * 3, 8, seed=0)
    assert "relu" in KINKED_ACTIVATIONS and KINK_MARGIN <= min_kink_distance(case) < float("inf")


def test_cases_are_deterministic():
    a, b = make_net_case((2, 3, 1), ("tanh", "tanh"), 4, seed=9), make_net_case((2, 3, 1), ("tanh", "tanh"), 4, seed=9)
    assert all(torch.equal(a.params[k], b.params[k]) for k in a.params) and torch.equal(a.x, b.x)


def test_expected_gradients_have_parameter_shapes():
    case = make_net_case((4, 3, 2), ("sigmoid", "identity"), 5, seed=1)
    dw, db = expected_gradients(case)
    assert dw[1].shape == (3, 4) and db[2].shape == (2,)


@given(sgd_configs())
def test_sgd_configs_cover_the_contract(config):
    assert config.n_epochs >= 2 and config.n_samples > config.batch_size
    assert config.momentum == 0 or 0 < config.momentum < 1
    payload = training_problem(config)
    assert payload["y"].dtype == torch.int64 and payload["x"].dtype == torch.float64


def test_sgd_configs_reach_every_momentum_and_decay_combination():
    seen = set()

    @given(sgd_configs())
    def collect(config):
        seen.add((config.momentum > 0, config.weight_decay > 0))

    collect()
    assert seen == {(False, False), (False, True), (True, False), (True, True)}


def _finite_differences(case, eps: float, one_sided: bool = False) -> dict[str, torch.Tensor]:
    """Central (or forward) differences of the summed squared error, written here: the grader ships none."""
    model = case.model()
    found = {}
    with torch.no_grad():
        def loss() -> float:
            return ((model(case.x) - case.y) ** 2).sum().item()
        base = loss()
        for name, param in model.named_parameters():
            flat, values = param.view(-1), []
            for i in range(flat.numel()):
                original = flat[i].item()
                flat[i] = original + eps
                plus = loss()
                flat[i] = original - eps
                minus = loss()
                flat[i] = original
                values.append((plus - base) / eps if one_sided else (plus - minus) / (2 * eps))
            found[name] = torch.tensor(values, dtype=torch.float64)
    return found


@pytest.mark.parametrize("index", range(3))
def test_autograd_stands_for_the_finite_differences_a_grad_check_takes(index):
    from grader.checks.diagnosis.grad_check import errors
    from grader.checks.grad_check import AGREEMENT, CASES, EPS, _gradients, contract_error

    n_l, activation, batch = CASES[index]
    case = make_net_case(n_l, (activation,) * (len(n_l) - 1), batch, 265 + index)
    central, forward = _finite_differences(case, EPS), _finite_differences(case, EPS, one_sided=True)
    for variant in ("correct", "weight", "bias"):
        dL_dw, dL_db, _ = _gradients(case, variant)
        analytic = by_parameter_name(dL_dw, dL_db)
        by_differences = relative_error(central, analytic, list(central))
        assert abs(contract_error(case, dL_dw, dL_db) - by_differences) <= AGREEMENT[0] * by_differences + 1e-9
        one_sided = relative_error(forward, analytic, list(forward))
        assert errors(case, dL_dw, dL_db, EPS)["one_sided_difference"] == pytest.approx(one_sided, rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.01), (0.9, 0.01)])
def test_the_grader_s_sgd_is_torch_optim_sgd_bit_for_bit(momentum, weight_decay):
    from grader.checks.cases import reference_run
    from grader.given import MyNet

    payload = training_problem(SGDConfig(0.05, momentum, weight_decay, 3, 14, 4, 5))
    run = reference_run(payload)
    model = MyNet(payload["n_l"], payload["activations"]).double()
    model.load_state_dict(payload["params"], strict=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=momentum, weight_decay=weight_decay)
    for _ in range(3):
        for start in range(0, 14, 4):
            torch.nn.CrossEntropyLoss()(model(payload["x"][start:start + 4]), payload["y"][start:start + 4]).backward()
            optimizer.step()
            optimizer.zero_grad()
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter.detach(), run.params[name]), name

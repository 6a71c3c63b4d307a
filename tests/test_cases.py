"""The grader's own strategies, tested: valid ranges, determinism, and ReLU inputs kept off the kink."""
from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.cases import (
    GRADED_ACTIVATIONS,
    KINK_MARGIN,
    expected_gradients,
    make_net_case,
    min_kink_distance,
    net_cases,
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

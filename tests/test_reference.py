"""The reference solution against autograd and torch.optim.SGD (float64), on generated cases."""
from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, note
from hypothesis import strategies as st

from grader.checks.cases import (
    SGDConfig,
    expected_gradients,
    make_net_case,
    net_cases,
    reference_training,
    sgd_configs,
    training_problem,
)
from grader.checks.compare import relative_difference
from grader.data.fixtures import official_checksums_skipped, write_fixture
from grader.given import MyNet
from reference.backpropagation import backpropagation, grad_check
from reference.gradient_descent import MyMLP, compute_accuracy, load_cifar, train, train_manual_update
from tests.support.grading import shared_data

LIMIT = 1e-9


@given(net_cases(batch_sizes=st.integers(1, 8)))
def test_backpropagation_matches_autograd(case):
    note(case.describe())
    model = case.model()
    y_pred = model(case.x)
    backpropagation(model, case.y, y_pred)
    expected_w, expected_b = expected_gradients(case)
    for l in range(1, model.L + 1):
        assert model.dL_dw[l].shape == model.fc[str(l)].weight.shape
        assert model.dL_db[l].shape == model.fc[str(l)].bias.shape
        assert relative_difference(model.dL_dw[l], expected_w[l]) <= LIMIT
        assert relative_difference(model.dL_db[l], expected_b[l]) <= LIMIT


@given(net_cases(batch_sizes=st.integers(1, 4)))
def test_backpropagation_changes_nothing_and_needs_no_autograd(case):
    model = case.model()
    with torch.no_grad():
        y_pred = model(case.x)
    before = copy.deepcopy(model.state_dict())
    backpropagation(model, case.y, y_pred)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name])


def _rel_err_and_params(case, corrupt=None):
    model = case.model()
    backpropagation(model, case.y, model(case.x))
    if corrupt == "weight":
        model.dL_dw[1][0, 0] += 1.0
    elif corrupt == "bias":
        model.dL_db[model.L][0] += 1.0
    before = copy.deepcopy(model.state_dict())
    ok, rel_err = grad_check(model, case.x, case.y, torch.nn.MSELoss(reduction="none"))
    unchanged = all(torch.equal(t, before[n]) for n, t in model.state_dict().items())
    return ok, rel_err, unchanged


@given(net_cases(batch_sizes=st.integers(1, 3)))
def test_grad_check_accepts_correct_gradients_and_restores(case):
    ok, rel_err, unchanged = _rel_err_and_params(case)
    note(f"{case.describe()}: rel_err {rel_err}")
    assert ok and 0 <= rel_err <= 1e-6 and unchanged


@pytest.mark.parametrize("corrupt", ["weight", "bias"])
def test_grad_check_rejects_corrupted_gradients(corrupt):
    case = make_net_case((3, 4, 2), ("tanh", "tanh"), 3, seed=5)
    ok, rel_err, unchanged = _rel_err_and_params(case, corrupt)
    assert not ok and rel_err > 1e-3 and unchanged


@given(sgd_configs())
def test_manual_update_matches_torch_sgd(config):
    note(config.describe())
    payload = training_problem(config)
    expected, losses = reference_training(payload)
    model = make_net_case(payload["n_l"], payload["activations"], 1, 0).model()
    with torch.no_grad():
        for name, tensor in payload["params"].items():
            model.get_parameter(name).copy_(tensor)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["x"], payload["y"]),
                                         batch_size=config.batch_size)
    history = train_manual_update(config.n_epochs, model, torch.nn.CrossEntropyLoss(), loader, lr=config.lr,
                                  momentum=config.momentum, weight_decay=config.weight_decay)
    for name, p in model.named_parameters():
        assert relative_difference(p.detach(), expected[name]) <= LIMIT, name
    assert history["train_loss"] == pytest.approx(losses, rel=LIMIT)
    assert history["val_loss"] == [] and len(history["train_acc"]) == config.n_epochs


def test_train_history_and_validation():
    config = SGDConfig(0.1, 0.9, 0.01, 3, 20, 8, seed=1)
    payload = training_problem(config, with_validation=True)
    expected, losses = reference_training(payload)
    model = MyNet(payload["n_l"], payload["activations"]).double()
    model.load_state_dict({k: v for k, v in payload["params"].items()}, strict=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["x"], payload["y"]), batch_size=8)
    val = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(payload["val_x"], payload["val_y"]), batch_size=8)
    history = train(3, optimizer, model, torch.nn.CrossEntropyLoss(), loader, val)
    assert history["train_loss"] == pytest.approx(losses, rel=LIMIT)
    assert len(history["val_loss"]) == len(history["val_acc"]) == len(history["train_acc"]) == 3
    assert all(0 <= a <= 1 for a in history["val_acc"] + history["train_acc"])
    for name, p in model.named_parameters():
        assert relative_difference(p.detach(), expected[name]) <= LIMIT


def test_mlp_shapes_and_inputs():
    model = MyMLP()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(512, 3072), (512,), (128, 512), (128,), (32, 128), (32,), (2, 32), (2,)]
    x = torch.randn(4, 3, 32, 32)
    assert torch.equal(model(x), model(x.flatten(1)))
    loader = [(x, torch.tensor([0, 1, 0, 1]))]
    assert compute_accuracy(model, loader) in (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.mark.parametrize("layout", ["imagefolder", "official"])
def test_load_cifar_on_fixtures(tmp_path, layout):
    fixture = write_fixture(tmp_path / layout, layout, seed=3)
    with official_checksums_skipped():
        train_set, val_set, test_set = load_cifar(fixture.root, val_fraction=0.25, seed=1)
        again = load_cifar(fixture.root, val_fraction=0.25, seed=1)[1]
    assert (len(train_set), len(val_set), len(test_set)) == (18, 6, 10)
    image, label = train_set[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32 and int(label) in (0, 1)
    train_x = torch.stack([train_set[i][0] for i in range(len(train_set))])
    assert train_x.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert (train_x.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3
    assert sorted(int(test_set[i][1]) for i in range(10)) == [0] * 5 + [1] * 5
    assert all(torch.equal(val_set[i][0], again[i][0]) for i in range(len(val_set)))


def test_load_cifar_names_both_layouts_when_data_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py.*\n.*ImageFolder|ImageFolder"):
        load_cifar(tmp_path)


@pytest.mark.data
def test_load_cifar_on_the_real_data():
    train_set, val_set, test_set = load_cifar(shared_data())
    assert (len(train_set), len(val_set), len(test_set)) == (9000, 1000, 2000)
    labels = train_set.tensors[1]
    assert set(labels.tolist()) == {0, 1} and 4300 < int(labels.sum()) < 4700
    assert int(test_set.tensors[1].sum()) == 1000
    assert train_set.tensors[0].mean(dim=(0, 2, 3)).abs().max() < 1e-4

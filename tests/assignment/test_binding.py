"""Binding the grader's values to the signature a student wrote, by role (grader/assignment/binding.py): pure
functions."""
from __future__ import annotations

import inspect

import pytest

from grader.assignment.binding import BindingError, StudentParameter, bind, binding_note, call_arguments
from grader.assignment.declaration import load_assignment

MANUAL_2023 = load_assignment("inf265-2023").callable("train_manual_update")
VALUES = {"n_epochs": 3, "model": "MODEL", "loss_fn": "LOSS", "train_loader": "LOADER", "lr": 0.05,
          "momentum": 0.9, "weight_decay": 0.01, "device": "DEVICE"}


def described(function) -> list[StudentParameter]:
    return [StudentParameter(p.name, p.kind.name, None if p.default is p.empty else repr(p.default))
            for p in inspect.signature(function).parameters.values()]


def call(function, values=VALUES, spec=MANUAL_2023):
    """Call ``function`` as the worker would: bound by role; returns what it received."""
    binding = bind(spec.parameters, described(function))
    args, kwargs = call_arguments(function.__name__, spec.parameters, binding, values)
    return function(*args, **kwargs)


def received(**kwargs):
    return kwargs


def test_the_template_signature_binds_by_name_and_needs_no_note():
    def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=1e-2, momentum_coeff=0., weight_decay=0.):
        return received(n=n_epochs, lr=lr, momentum=momentum_coeff, wd=weight_decay, loader=train_loader)

    assert call(train_manual_update) == {"n": 3, "lr": 0.05, "momentum": 0.9, "wd": 0.01, "loader": "LOADER"}
    binding = bind(MANUAL_2023.parameters, described(train_manual_update))
    assert binding_note("train_manual_update", MANUAL_2023.parameters, binding, described(train_manual_update)) is None


def test_renamed_parameters_bind_by_alias_and_the_note_says_how():
    def train_manual_update(epoch_count, model, loss_function, train_loader, learning_rate=0.01, momentum=0.,
                            weight_decay=0.):
        return received(n=epoch_count, loss=loss_function, lr=learning_rate, momentum=momentum)

    assert call(train_manual_update) == {"n": 3, "loss": "LOSS", "lr": 0.05, "momentum": 0.9}
    parameters = described(train_manual_update)
    note = binding_note("train_manual_update", MANUAL_2023.parameters, bind(MANUAL_2023.parameters, parameters),
                        parameters)
    assert "epoch_count as n_epochs; loss_function as loss_fn; learning_rate as lr; momentum as momentum_coeff" in note


def test_reordered_parameters_are_passed_by_name():
    def train_manual_update(lr, weight_decay, momentum_coeff, n_epochs, model, loss_fn, train_loader):
        return received(lr=lr, wd=weight_decay, momentum=momentum_coeff, n=n_epochs)

    assert call(train_manual_update) == {"lr": 0.05, "wd": 0.01, "momentum": 0.9, "n": 3}


def test_renamed_in_place_binds_by_position_but_a_flag_never_takes_a_number():
    def train_manual_update(n_epochs, model, loss_fn, train_loader, step=0.01, verbose=False, beta_one=0.,
                            decay_rate=0.):
        return received(step=step, verbose=verbose, beta=beta_one, decay=decay_rate)

    assert call(train_manual_update) == {"step": 0.05, "verbose": False, "beta": 0.9, "decay": 0.01}


def test_a_missing_role_fails_only_calls_that_need_a_value_other_than_the_default():
    def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, weight_decay=0.):
        return received(lr=lr, wd=weight_decay)

    assert call(train_manual_update, {**VALUES, "momentum": 0.0}) == {"lr": 0.05, "wd": 0.01}
    with pytest.raises(BindingError, match="no parameter for the template's 'momentum_coeff'.*momentum_coeff=0.9"):
        call(train_manual_update)


def test_a_required_parameter_without_a_role_makes_the_function_uncallable():
    def train_manual_update(n_epochs, model, loss_fn, train_loader, scheduler, lr=0.01, momentum_coeff=0.,
                            weight_decay=0.):
        return received()

    with pytest.raises(BindingError, match="required parameter\\(s\\) scheduler"):
        call(train_manual_update)


def test_device_may_come_from_a_global_and_a_device_parameter_gets_it():
    def without(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum_coeff=0., weight_decay=0.):
        return received()

    def with_device(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum_coeff=0., weight_decay=0., dev=None):
        return received(device=dev)

    assert call(without) == {} and call(with_device) == {"device": "DEVICE"}


def test_keyword_arguments_and_positional_only_parameters():
    def catch_all(n_epochs, model, loss_fn, train_loader, /, **options):
        return received(n=n_epochs, **options)

    assert call(catch_all) == {"n": 3, "lr": 0.05, "momentum_coeff": 0.9, "weight_decay": 0.01}


def test_a_role_is_never_taken_twice_and_extras_keep_their_defaults():
    def train_manual_update(n_epochs, model, loss_fn, train_loader, lr=0.01, momentum_coeff=0., weight_decay=0.,
                            momentum=0.5, return_loss=True):
        return received(momentum_coeff=momentum_coeff, momentum=momentum, return_loss=return_loss)

    assert call(train_manual_update) == {"momentum_coeff": 0.9, "momentum": 0.5, "return_loss": True}

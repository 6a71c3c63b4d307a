"""How long the accuracy stage's trainings will take here, predicted before they start from a measurement of this
machine: a few training steps of the declared MLP in the declared dtype, timed in CPU seconds, scaled to the stage's
steps and divided by the CPUs this grading may use (a container's quota). Used only under a time budget
(``--time-budget``: a Gradescope container's timeout), so that a container too slow for the stage hears which setting
to change instead of being killed mid-training."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from ..sandbox.cpu import available_cpus

PROBE_BATCH = 64
PROBE_STEPS = 3
OVERHEAD = 1.3
"""A student's loop costs more than the bare steps (the loader's normalisation, .item() per batch, the evaluation):
measured on the reference and the correct catalogue, within this factor."""


@dataclass(frozen=True)
class Prediction:
    cpu_seconds: float
    """CPU time of the stage's trainings, on one thread."""
    cpus: float
    """The CPUs this grading may use."""

    @property
    def wall_seconds(self) -> float:
        """The trainings' wall time: their CPU time spread over the CPUs available, at most one (a small MLP's
        training gains little from more threads: assuming none keeps the prediction on the safe side)."""
        return self.cpu_seconds / min(self.cpus, 1.0)


def predict(sizes: tuple[int, ...], dtype: torch.dtype, batch_size: int, train_size: int, epochs: int,
            trainings: int) -> Prediction:
    """The predicted cost of ``trainings`` trainings of an MLP of widths ``sizes`` for ``epochs`` epochs of
    ``train_size`` images in batches of ``batch_size``."""
    step = _seconds_per_step(sizes, dtype) * batch_size / PROBE_BATCH
    steps = math.ceil(train_size / batch_size) * epochs * trainings
    return Prediction(step * steps * OVERHEAD, available_cpus())


def _seconds_per_step(sizes: tuple[int, ...], dtype: torch.dtype) -> float:
    """CPU seconds of one forward, backward and SGD update of a batch of PROBE_BATCH, on one thread, here (after
    one warm-up)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _timed_steps(sizes, dtype)
    finally:
        torch.set_num_threads(threads)


def _timed_steps(sizes: tuple[int, ...], dtype: torch.dtype) -> float:
    generator = torch.Generator().manual_seed(0)
    layers: list[nn.Module] = []
    for inputs, outputs in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(inputs, outputs, dtype=dtype), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    x = torch.randn(PROBE_BATCH, sizes[0], dtype=dtype, generator=generator)
    y = torch.randint(0, sizes[-1], (PROBE_BATCH,), generator=generator)
    started = 0.0
    for step in range(PROBE_STEPS + 1):
        if step == 1:
            started = time.process_time()
        model.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(parameter.grad, alpha=-0.01)  # type: ignore[arg-type]  # set by backward
    return (time.process_time() - started) / PROBE_STEPS


def too_slow(prediction: Prediction, left: float, budget: float) -> str:
    """Why the stage is not graded here, and what to change."""
    return (f"not graded: this machine is too slow for the accuracy stage within the grading's time budget. Its two "
            f"trainings would take about {prediction.wall_seconds:.0f} s here (about {prediction.cpu_seconds:.0f} "
            f"CPU-seconds, from a measurement on this machine, on {prediction.cpus:g} CPU(s)), and "
            f"{max(left, 0):.0f} s of the {budget:g} s budget are left. Give the autograder more CPU (Gradescope: the "
            "assignment's Autograder settings, 1.0 CPU or more) or a longer timeout (and build the bundle with "
            "--timeout to match), or grade this stage on a faster machine (autograde batch, or a GPU runner).")

"""What the solution's code gives back, found by running it in the sandbox on tiny problems: the form of what
each training function returns (a list of losses, a history dict, nothing) and the widths of the MLP it builds."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import pipeline
from ..assignment.declaration import Assignment
from ..checks.cases import SGDConfig, reference_for
from ..checks.rubric import load_rubric
from ..sandbox.host import Host, start_host
from ..sandbox.limits import Limits
from ..sandbox.workers import choose_sandbox
from ..submission.folder import prepared

PROBE_CONFIG = SGDConfig(lr=0.05, momentum=0.9, weight_decay=0.01, n_epochs=2, n_samples=12, batch_size=4, seed=1)
TIMEOUT = 60.0


@dataclass
class Probe:
    """What running the solution showed: each training function's return form, the MLP's widths, problems."""

    returns: dict[str, str] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    """What each training function returned, described (for the declaration's comments)."""
    mlp_sizes: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each callable's parameter defaults as the imported solution holds them (``repr``, by parameter name): the
    value of a default written as a constant the source alone cannot resolve (``val_fraction=VAL_FRACTION``)."""


@contextmanager
def solution_host(solution: Path, assignment: Assignment, limits: Limits, *, device: str = "cpu",
                  sandbox: str = "auto") -> Iterator[Host]:
    """The instructor's solution prepared as a submission (notebooks converted) in a started sandbox host, closed
    on exit: student code's rules apply to it too."""
    chosen = choose_sandbox(sandbox)
    server = pipeline.fork_server() if chosen == "linux" else None
    try:
        with prepared(Path(solution), assignment) as (folder, _, files), \
                start_host(folder, limits, device=device, zygote=server, assignment=assignment, sandbox=chosen,
                           files=files) as host:
            host.start()
            yield host
    finally:
        if server is not None:
            server.close()


def probe(solution: Path, assignment: Assignment, *, sandbox: str = "auto") -> Probe:
    """Run the solution's training functions on a two-epoch problem and build its MLP, in the sandbox."""
    found = Probe()
    with solution_host(solution, assignment, load_rubric().limits, sandbox=sandbox) as host:
        found.defaults = {key: defaults_of(host.found(key)) for key in assignment.callables}
        for key in ("train", "train_manual_update"):
            if assignment.has(key) and not assignment.callable(key).given:
                payload, _, _ = reference_for(PROBE_CONFIG, False, len(assignment.data.classes))
                reply = host.call(key, payload, timeout=TIMEOUT)
                if reply.ok:
                    found.returns[key], found.shown[key] = classify(reply.value.get("history"))
                else:
                    found.problems.append(f"{assignment.callable(key).name} failed on a 2-epoch problem: "
                                          f"{reply.failure}")
        if assignment.has("mlp"):
            x = torch.zeros(2, *assignment.data.image_shape, dtype=getattr(torch, assignment.data.dtype))
            reply = host.call("mlp", {"x": x, "seed": 0}, timeout=TIMEOUT)
            if reply.ok:
                found.mlp_sizes = sizes_of(reply.value["state"])
            else:
                found.problems.append(f"{assignment.callable('mlp').name}() could not be built and run: "
                                      f"{reply.failure}")
    return found


def defaults_of(found: dict[str, Any] | None) -> dict[str, str]:
    """{parameter: repr of its default} from the worker's description of a callable (none when unreadable)."""
    parameters = (found or {}).get("parameters")
    if not isinstance(parameters, list):
        return {}
    return {str(entry[0]): str(entry[2]) for entry in parameters
            if isinstance(entry, list) and len(entry) == 3 and entry[2] is not None}


def classify(returned: Any) -> tuple[str, str]:
    """The declaration's ``returns`` for what a training function gave back, and a description of it."""
    if returned is None:
        return "nothing", "None"
    if isinstance(returned, dict):
        return "history", f"a dict of {', '.join(map(str, returned))}"
    if isinstance(returned, (list, tuple)):
        history = next((item for item in returned if isinstance(item, dict)), None)
        if history is not None:
            return "history", f"a {type(returned).__name__} holding a dict of {', '.join(map(str, history))}"
        return "losses", f"a {type(returned).__name__} of {len(returned)}"
    return "losses", type(returned).__name__


def sizes_of(state: dict[str, Any]) -> list[int]:
    """Input and output widths of the 2-D weights of a state dict, in order (``[3072, 512, 128, 32, 2]``)."""
    weights = [tuple(value.shape) for value in state.values() if hasattr(value, "shape") and len(value.shape) == 2]
    return [weights[0][1], *(w[0] for w in weights)] if weights else []

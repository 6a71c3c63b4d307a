"""What a grading run was asked to do: one dataclass that holds the one set of defaults.

Built once (from the command line by :mod:`grader.cli`, or by a test, a benchmark or ``grader.check()``) and passed
down unchanged: to ``autograde grade`` and ``check``, to ``autograde batch``, and as JSON to each batch grader
process. :mod:`grader.selection` turns it into what grading needs (the rubric, the skipped checks, the data folder).
Imports nothing heavy.
"""
from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .assignment.declaration import Assignment, load_assignment

DEVICES = ("auto", "cpu", "cuda")
SANDBOXES = ("auto", "linux", "portable")


@dataclass(frozen=True)
class GradingOptions:
    """How to grade a submission, beyond what the rubric says."""

    device: str = "auto"
    """Where the accuracy stage trains: auto (CUDA when available), cpu or cuda."""
    data_root: str | None = None
    """The CIFAR-10 folder (ImageFolder tree or cifar-10-batches-py); None: $CIFAR_ROOT, then the user's cache."""
    download: bool = False
    """Fetch CIFAR-10 into the user's cache when no data folder is given."""
    seed: int | None = None
    """Overrides the rubric's seed."""
    rubric: str | None = None
    """The rubric TOML; None: the assignment's own."""
    checks: tuple[str, ...] = ()
    """Run only these checks (empty: all)."""
    skip: tuple[str, ...] = ()
    """Leave these checks out (0 points, shown as skipped)."""
    skip_accuracy: bool = False
    """Leave out every check that needs the real data."""
    assignment: str | None = None
    """A packaged assignment's name or the path of an assignment.toml; None: the default."""
    sandbox: str = "auto"
    """Where student code runs: auto, linux or portable (see grader.sandbox.workers.choose_sandbox)."""
    verbose: bool = False
    """Progress on stderr, and full feedback for every check."""
    timings: bool = False
    """After the report, a table of where the grading's time went (per check: wall and CPU seconds, calls)."""
    time_budget: float | None = None
    """Seconds the whole grading may take (a Gradescope container's timeout, less a margin): a stage predicted not
    to fit in what is left is not graded, saying which setting to change; None: no such budget."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what a batch grader process receives)."""
        return {f.name: list(value) if isinstance(value := getattr(self, f.name), tuple) else value
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradingOptions:
        """The options :meth:`to_dict` gave; KeyError for a name that is not an option."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise KeyError(f"not grading options: {', '.join(unknown)}")
        values: dict[str, Any] = {name: tuple(v) if isinstance(v, list) else v for name, v in data.items()}
        return cls(**values)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> GradingOptions:
        """The options a parsed command line gives (an option the command does not have keeps its default)."""
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
        return cls.from_dict(given)

    def but(self, **changes: Any) -> GradingOptions:
        """A copy with ``changes`` (e.g. ``options.but(skip_accuracy=True)``)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class GradingSetup:
    """What grading one submission runs with, resolved from GradingOptions by :func:`grader.selection.prepare`
    (tests and benchmarks build it directly)."""

    device: str = "cpu"
    data_root: Path | None = None
    cache_dir: Path | None = None
    """Where decoded data is cached between runs (None: the default cache)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Checks to leave out, each with the reason shown in its place (e.g. "--skip-accuracy was given")."""
    contain: bool = True
    """Drop to an unprivileged uid in a network namespace when running as root (False: as without root)."""
    hidden: tuple[str, ...] = ()
    """Paths the worker must never read (results, rubric, data); see SandboxOptions."""
    assignment: Assignment = field(default_factory=lambda: load_assignment(None))
    """Which version of the assignment the submission is graded as."""
    sandbox: str = "linux"
    """Which sandbox runs the student's code: "linux" or "portable" (see grader.sandbox.workers.choose_sandbox)."""
    time_budget: float | None = None
    """See GradingOptions.time_budget."""

"""From :class:`~grader.options.GradingOptions` to what grading runs with, validated before any work starts.

``autograde grade`` and ``check`` call :func:`prepare` once per submission; ``autograde batch`` calls it once before
any grader process starts (bad input: exit 2, nothing written) and each grader process calls it again with the
same options. Importing this module imports nothing heavy; :func:`prepare` loads the rubric's check registry, which
imports torch (``grade`` starts its fork server first, so the two imports overlap).
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .data.locations import ENV_DATA_ROOT, download, resolve_data_root
from .options import GradingOptions, GradingSetup
from .sandbox.workers import choose_sandbox

if TYPE_CHECKING:
    from .assignment.declaration import Assignment
    from .checks.rubric import Rubric


class InputError(Exception):
    """Bad arguments or input; the message says what to do next."""


def prepare(options: GradingOptions, assignment: Assignment, *,
            hidden: Iterable[str | Path] = ()) -> tuple[Rubric, GradingSetup]:
    """The rubric with the chosen checks, and the setup to grade with: the data folder found, the checks to show
    as skipped with their reasons, the paths graded code must not read (``hidden``, the rubric and the data), the
    sandbox chosen.
    Raises InputError or RubricError, saying what to do next, for anything the options get wrong."""
    rubric = chosen_rubric(options, assignment)
    skipped = skipped_checks(rubric, options)
    root = data_folder(options)
    check_device(options.device)
    unreadable = [*hidden, *([options.rubric] if options.rubric else []), *([root] if root else [])]
    if options.time_budget is not None and options.time_budget <= 0:
        raise InputError(f"--time-budget must be a number of seconds above 0, got {options.time_budget:g}")
    setup = GradingSetup(device=options.device, data_root=root, skipped=skipped, assignment=assignment,
                         hidden=tuple(str(Path(p).resolve()) for p in unreadable),
                         sandbox=choose_sandbox(options.sandbox), time_budget=options.time_budget)
    return rubric, setup


def refuse_missing_paths(options: GradingOptions) -> None:
    """InputError, before any work starts, for a ``--rubric`` file or a data folder that is not there or cannot be
    read: told from the paths alone (neither is read, so the fork server made next knows nothing of them)."""
    if options.rubric and not Path(options.rubric).is_file():
        raise InputError(f"rubric file {str(Path(options.rubric))!r} does not exist (omit --rubric for the default)")
    if not options.download:
        data_folder(options)


def sandbox_for(options: GradingOptions) -> str:
    """The sandbox the grading runs student code in: ``--sandbox``, or for "auto" the Linux one where it can run."""
    return choose_sandbox(options.sandbox)


def chosen_rubric(options: GradingOptions, assignment: Assignment) -> Rubric:
    """The rubric (``--rubric`` or the assignment's own) restricted to ``--only``/``--checks``, with ``--seed``."""
    from .checks.rubric import load_rubric

    rubric = load_rubric(options.rubric or assignment.rubric_path)
    if options.seed is not None:
        rubric = dataclasses.replace(rubric, seed=options.seed)
    return rubric.only(*options.checks) if options.checks else rubric


def skipped_checks(rubric: Rubric, options: GradingOptions) -> dict[str, str]:
    """The checks to show as skipped, each with the reason (RubricError when ``--skip`` names an unknown one)."""
    if options.skip:
        rubric.only(*options.skip)  # validates the names
    reasons = {name: "--skip was given (0 points)." for name in options.skip}
    if options.skip_accuracy:
        reasons.update({spec.name: "--skip-accuracy was given (0 points for this stage)." for spec in rubric.checks
                        if spec.check.needs_data})
    return reasons


def data_folder(options: GradingOptions) -> Path | None:
    """The data folder from --data-root or $CIFAR_ROOT, or CIFAR-10 downloaded into the user's cache (now, with
    ``--download``, or earlier); None when there is none. InputError when a given folder is missing or unreadable."""
    if options.download and not options.data_root and not os.environ.get(ENV_DATA_ROOT):
        try:
            return download()
        except (OSError, RuntimeError) as error:
            raise InputError(f"--download could not fetch CIFAR-10 ({error}); pass --data-root DIR instead.") from None
    root = resolve_data_root(options.data_root)
    source = "--data-root" if options.data_root else f"${ENV_DATA_ROOT}"
    if root is not None and not root.is_dir():
        raise InputError(f"{source} points at {str(root)!r}, which does not exist.")
    if root is not None and not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"{source} points at {str(root)!r}, which this user cannot read.")
    return root


def check_device(device: str) -> None:
    """InputError when CUDA is asked for and there is none."""
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError("--device cuda was given but no CUDA device is available; use --device cpu or auto.")

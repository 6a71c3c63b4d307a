"""The hypothesis case search every generated-case check uses: cases drawn once per process, judged in order, and
from the first failure a hypothesis run that shrinks it to the smallest failing case.

Hypothesis is set up here for grading: nothing is written where the grader runs (its storage goes to the user's
cache), and the cases drawn for a seed depend on nothing but the strategy, the count and the seed: hypothesis'
habit of mixing in constants read from the "local" modules a process imported (the grader itself when installed
with ``pip install -e``, a student's module imported in a notebook) is switched off, so an editable clone, a wheel,
a kernel and Gradescope draw the same cases.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.strategies import SearchStrategy

from ..data.locations import user_cache
from ..outcomes import FailureKind
from ..report.results import Part

RETRY_KINDS = frozenset({FailureKind.WRONG, FailureKind.EXCEPTION})
"""Failures after which further generated cases are still worth running (and the case worth shrinking)."""


def _configure_hypothesis() -> None:
    """Hypothesis' storage in the user's cache (never ``./.hypothesis`` in the student's folder), and no constants
    from local modules in the drawn cases."""
    set_hypothesis_home_dir(user_cache() / "hypothesis")
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without local constants
        return
    if hasattr(providers, "_get_local_constants"):
        empty = providers._local_constants.__class__()  # the Constants type, empty
        providers._get_local_constants = lambda: empty


_configure_hypothesis()


class _Stop(Exception):
    """Raised inside a hypothesis run once further examples are pointless (crash, timeout, grader error)."""


class GraderCheckError(Exception):
    """The grader's own code failed while judging a case: an autograder error, never a pass."""


class _Search:
    """One hypothesis run: the cases run, the failing case kept, and a grader error if one happened."""

    def __init__(self, check_one: Callable[[Any], Part | None]):
        self.check_one, self.runs = check_one, 0
        self.part: Part | None = None
        self.final: Part | None = None
        self.grader_error: str | None = None

    def step(self, case: Any) -> None:
        """Judge one case; a failure worth shrinking raises AssertionError, a final one stops the run."""
        if self.final is not None or self.grader_error is not None:
            raise _Stop()
        self.runs += 1
        try:
            part = self.check_one(case)
        except Exception:
            self.grader_error = traceback.format_exc()
            raise _Stop() from None
        if part is None:
            return
        if part.kind in RETRY_KINDS:
            self.part = part
            raise AssertionError(part.message)
        self.final = part
        raise _Stop()

    def outcome(self, hypothesis_error: str | None) -> tuple[int, Part | None]:
        if self.grader_error is not None:
            raise GraderCheckError(f"the grader failed while judging a generated case:\n{self.grader_error}")
        if hypothesis_error and self.part is None and self.final is None:
            raise GraderCheckError(f"hypothesis failed without a failing case:\n{hypothesis_error}")
        return self.runs, self.final or self.part


def find_failure(strategy: SearchStrategy[Any], examples: int, run_seed: int,
                 check_one: Callable[[Any], Part | None]) -> tuple[int, Part | None]:
    """Run ``check_one`` on up to ``examples`` drawn cases; return (cases run, the smallest failing case's Part).

    Deterministic for a given ``run_seed``. The cases hypothesis draws for a run in which every case passes are
    drawn once per process (:func:`drawn_cases`: the same for every submission) and judged in that order; at the
    first failure hypothesis runs as it always does, the cases already judged answered from memory, so it shrinks
    the failing case and replays the smallest one last: the part kept is the shrunk counterexample's. A failure that
    makes further cases pointless (a crash, a timeout, code not implemented) stops the run at once and is kept as it
    is. Raises GraderCheckError when ``check_one`` itself raises (a grader bug) or hypothesis fails on its own.
    """
    judged: dict[Any, Part | None] = {}
    for case in drawn_cases(strategy, examples, run_seed):
        try:
            judged[_memo_key(case)] = part = check_one(case)
        except Exception:
            raise GraderCheckError(f"the grader failed while judging a generated case:\n{traceback.format_exc()}") \
                from None
        if part is not None and part.kind not in RETRY_KINDS:
            return len(judged), part
        if part is not None:
            return _hypothesis_search(strategy, examples, run_seed, _remembering(check_one, judged))
    return len(judged), None


def _memo_key(case: Any) -> Any:
    try:
        hash(case)
    except TypeError:  # a case holding tensors: the same object is drawn again (cases are built once per process)
        return ("id", id(case))
    return case


def _remembering(check_one: Callable[[Any], Part | None],
                 judged: dict[Any, Part | None]) -> Callable[[Any], Part | None]:
    """``check_one``, answering the cases that passed from ``judged`` (a replay does not call the student again)."""
    def check(case: Any) -> Part | None:
        key = _memo_key(case)
        if key in judged and judged[key] is None:
            return None
        return check_one(case)
    return check


_DRAWN: dict[tuple[str, int, int], list[Any]] = {}


def drawn_cases(strategy: SearchStrategy[Any], examples: int, run_seed: int) -> list[Any]:
    """The cases hypothesis draws, in order, for a run of ``examples`` in which every case passes: drawn once per
    process for each (strategy, examples, seed), since they depend on nothing else."""
    key = (repr(strategy), examples, run_seed)
    if key not in _DRAWN:
        cases: list[Any] = []

        def record(case: Any) -> None:
            cases.append(case)

        run = seed(run_seed)(settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                                      verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
                                      phases=(Phase.explicit, Phase.generate))(given(strategy)(record)))
        run()
        _DRAWN[key] = cases
    return _DRAWN[key]


def _hypothesis_search(strategy: SearchStrategy[Any], examples: int, run_seed: int,
                       check_one: Callable[[Any], Part | None]) -> tuple[int, Part | None]:
    search = _Search(check_one)
    run = seed(run_seed)(settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                                  verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
                                  report_multiple_bugs=False, phases=(Phase.explicit, Phase.generate, Phase.shrink))(
        given(strategy)(search.step)))
    try:
        run()
    except Exception:  # a failure is in the search; hypothesis' own wrapping of it is not needed
        return search.outcome(traceback.format_exc())
    return search.outcome(None)

"""Speed of grading one submission without the accuracy stage, isolation overhead, and the course checker.

    python benchmarks/bench_grading.py [--repeat 3]

1. End to end: ``autograde grade reference --skip-accuracy --json OUT`` as a fresh process, command start to
   written report (median of --repeat runs), and the number of hypothesis examples run by the gradient checks.
2. Isolation overhead: the same checks through the sandboxed worker vs. an in-process stand-in (benchmark only:
   the grader never runs student code in its own process).
3. Verifying the gradients of the 3072-512-128-32-2 network: the course's checker rebuilds the network twice per
   scalar parameter (timed on a sample of parameters, extrapolated), vs. the grader (one sandboxed call + autograd).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from grader.assignment.declaration import load_assignment
from grader.checks.backprop import gradient_mismatch
from grader.checks.cases import expected_gradients, make_net_case
from grader.checks.rubric import load_rubric
from grader.checks.run import grade
from grader.given import MLP_SIZES, MyNet
from grader.options import GradingSetup
from grader.outcomes import FailureKind
from grader.report.feedback import feedback
from grader.sandbox import handlers
from grader.sandbox.host import Host, binding_of, found_in
from grader.sandbox.reply import Failure, PendingCall, Reply


def end_to_end(repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp()) / "results.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", "grade", str(ROOT / "reference"), "--skip-accuracy",
                        "--json", str(out)], check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
        assert json.loads(out.read_text())["score"] == 85
    return {"seconds_median": statistics.median(times), "seconds_all": times}


class InProcessHost:
    """Benchmark stand-in for Host (the WorkerHost protocol): calls the worker's handlers in this process."""

    device = "cpu"

    def __init__(self, submission):
        self.submission, self.protections, self.restarts = str(submission), {}, 0
        self._scratch = Path(tempfile.mkdtemp())
        sys.path.insert(0, self.submission)
        self.assignment = load_assignment(None)
        handlers.configure({"submission": self.submission, "assignment": self.assignment.to_config()})
        self._load = self.call("load", {}, timeout=60)

    def start(self):
        pass

    def begin(self, call, payload=None):
        return PendingCall(call, None, early=self.call(call, payload, timeout=0))

    def finish(self, pending, *, timeout):
        return pending.early

    def call(self, call, payload=None, *, timeout):
        try:
            return Reply(value=handlers.dispatch(call, payload or {}))
        except Exception as error:
            return Reply(failure=Failure(FailureKind.EXCEPTION, f"{type(error).__name__}: {error}"))

    def description(self):
        return self._load

    def found(self, key):
        return found_in(self._load, key)

    def binding(self, key):
        return binding_of(self.assignment, key, self.found(key))

    def scratch_dir(self):
        return self._scratch

    def end_check(self):
        return 0

    def reset(self):
        pass

    def close(self):
        sys.path.remove(self.submission)
        for module in self.assignment.modules:
            sys.modules.pop(module, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def isolation_overhead(repeat: int) -> dict:
    rubric = load_rubric()
    handlers.install_recorders()
    examples, measured = 0, {"sandboxed": [], "in_process": []}
    for _ in range(repeat):
        for label, factory in (("sandboxed", Host), ("in_process", InProcessHost)):
            started = time.perf_counter()
            host = factory(ROOT / "reference") if factory is InProcessHost else None
            report = grade(ROOT / "reference", rubric.without("accuracy"), options=GradingSetup(), host=host)
            measured[label].append(time.perf_counter() - started)
            assert report.score == 85, [feedback(r) for r in report.results if not r.passed]
            examples = sum(p.details.get("examples", 0) for r in report.results for p in r.parts)
    sandboxed, in_process = (statistics.median(measured[k]) for k in ("sandboxed", "in_process"))
    startup = _worker_startup()
    return {"sandboxed_seconds": sandboxed, "in_process_seconds": in_process,
            "overhead_percent": 100 * (sandboxed - in_process) / in_process,
            "worker_startup_seconds": startup,
            "overhead_percent_excluding_worker_start": 100 * (sandboxed - startup - in_process) / in_process,
            "gradient_check_examples": examples}


def _worker_startup() -> float:
    started = time.perf_counter()
    with Host(ROOT / "reference") as host:
        host.call("ping", {}, timeout=60)
        return time.perf_counter() - started


def course_checker_vs_grader(sample: int = 20) -> dict:
    case = make_net_case(MLP_SIZES, ("relu",) * 4, 1, seed=0)
    n_params = sum(t.numel() for t in case.params.values())
    started = time.perf_counter()
    for _ in range(sample):
        for _sign in (+1, -1):  # what tests_backpropagation.py does per scalar: rebuild, load, perturb, forward
            model = MyNet(case.n_l, case.activations).double()
            model.load_state_dict({k: v for k, v in case.params.items()}, strict=False)
            model(case.x)
    per_parameter = (time.perf_counter() - started) / sample
    with Host(ROOT / "reference") as host:
        host.call("ping", {}, timeout=60)
        started = time.perf_counter()
        reply = host.call("backprop", case.payload(), timeout=120)
        problem = gradient_mismatch(case, reply.value, expected_gradients(case), "backpropagation(...)")
        grader_seconds = time.perf_counter() - started
    assert problem is None, problem
    return {"parameters": n_params, "course_checker_seconds_per_parameter": per_parameter,
            "course_checker_hours_estimated": per_parameter * n_params / 3600,
            "grader_seconds": grader_seconds}


def main(*, repeat: int = 3) -> dict:
    results = {"end_to_end": end_to_end(repeat), "isolation": isolation_overhead(repeat),
               "course_checker": course_checker_vs_grader(), "torch_threads": torch.get_num_threads()}
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    main(repeat=parser.parse_args().repeat)

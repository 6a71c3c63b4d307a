"""The sandbox host: protections it reports, restarts after failures, remembered import failures, functions that
are not called again, and no process left behind."""
from __future__ import annotations

import os

import torch

from grader.outcomes import FailureKind
from grader.report.feedback import feedback as feedback_of
from grader.sandbox.filesystem import landlock_abi
from grader.sandbox.host import Host, SandboxOptions
from grader.sandbox.limits import is_root
from tests.catalogue.hostile import ENDLESS_LOOP, LINGER, at_import, lingering_pids, running
from tests.support.grading import REFERENCE, fork_server, grade, rubric_for, write_submission

IMAGES = {"x": torch.zeros(1, 3, 32, 32)}


def test_protections_when_root_and_when_not_contained():
    with Host(REFERENCE, zygote=fork_server()) as host:
        reply = host.call("ping", {}, timeout=30)
        assert reply.ok and reply.value["pid"] != os.getpid()
        assert host.protections["separate_process"] and host.protections["own_session"]
        assert host.protections["unprivileged_user"] == is_root() == (reply.value["uid"] != 0)
        assert host.protections["network_namespace"] == is_root()
        assert host.protections["filesystem_allowlist"] == (landlock_abi() > 0)
        assert host.protections["solution_hidden"] == (landlock_abi() > 0 or is_root())
    with Host(REFERENCE, SandboxOptions(contain=False), zygote=fork_server()) as host:
        assert host.call("ping", {}, timeout=30).ok
        assert host.protections["unprivileged_user"] is False and host.protections["memory_limit"]


CRASHING_MLP = "import os\n\ndef MyMLP():\n    os._exit(9)\n"


def test_worker_is_replaced_after_a_crash(tmp_path):
    folder = write_submission(tmp_path / "s", append={"gradient_descent": CRASHING_MLP})
    with Host(folder, zygote=fork_server()) as host:
        first = host.call("ping", {}, timeout=30).value["pid"]
        crashed = host.call("mlp", IMAGES, timeout=30)
        assert crashed.failure.kind is FailureKind.CRASH and "status 9" in crashed.failure.message
        assert crashed.failure.function == "MyMLP"
        assert host.call("ping", {}, timeout=30).value["pid"] != first and host.restarts == 1


def test_a_function_that_crashed_is_not_called_again(tmp_path):
    folder = write_submission(tmp_path / "s", append={"gradient_descent": CRASHING_MLP})
    with Host(folder, zygote=fork_server()) as host:
        assert host.call("mlp", IMAGES, timeout=30).failure.kind is FailureKind.CRASH
        again = host.call("mlp", IMAGES, timeout=30)
        assert again.failure.kind is FailureKind.NOT_RUN and host.restarts == 1
        assert "an earlier call of MyMLP ended the grader's worker" in again.failure.message
        assert host.call("ping", {}, timeout=30).ok, "other calls still run"


def test_a_function_that_ran_out_of_memory_is_neither_retried_nor_called_again(tmp_path):
    allocator = "RuntimeError(\"DefaultCPUAllocator: can't allocate memory: you tried to allocate 536870912 bytes\")"
    for index, error in enumerate(("MemoryError()", allocator)):
        code = f"def MyMLP():\n    raise {error}\n"
        folder = write_submission(tmp_path / f"s{index}", append={"gradient_descent": code})
        with Host(folder, zygote=fork_server()) as host:
            exhausted = host.call("mlp", IMAGES, timeout=30)
            assert exhausted.failure.kind is FailureKind.MEMORY, exhausted.failure
            again = host.call("mlp", IMAGES, timeout=30)
            assert again.failure.kind is FailureKind.NOT_RUN and "MyMLP ran out of memory" in again.failure.message


def test_an_endless_loop_costs_one_time_limit_for_the_whole_submission(tmp_path):
    folder = ENDLESS_LOOP.write(tmp_path / "s")
    rubric = rubric_for("backpropagation_one_sample", "backpropagation_mini_batch", "rules", "train", examples=5,
                        check_seconds=3)
    results = {r.name: r for r in grade(folder, rubric).results}
    assert "did not finish within this check's time limit of 3 s" in feedback_of(results["backpropagation_one_sample"])
    for name in ("backpropagation_mini_batch", "rules"):
        assert "an earlier call of backpropagation ran out of time" in feedback_of(results[name])
        blocked = [p for p in results[name].failed_parts if p.details.get("function") == "backpropagation"]
        assert blocked and all(p.kind is FailureKind.NOT_RUN for p in blocked), "failed at once, not timed out"
    assert results["train"].passed


def test_a_crash_at_import_is_remembered(tmp_path):
    folder = write_submission(tmp_path / "s", files={"gradient_descent.py": "import os\nos._exit(5)\n"})
    with Host(folder, zygote=fork_server()) as host:
        first = host.call("ping", {}, timeout=30)
        assert first.failure.kind is FailureKind.IMPORT and "status 5" in first.failure.message
        assert host.call("ping", {}, timeout=30).failure == first.failure and host.restarts == 1


def test_a_syntax_error_fails_only_its_module(tmp_path):
    folder = write_submission(tmp_path / "s", files={"gradient_descent.py": "def broken(:\n"})
    with Host(folder, zygote=fork_server()) as host:
        assert host.call("ping", {}, timeout=30).ok
        assert "SyntaxError" in host.description().value["modules"]["gradient_descent"]["error"]
        failed = host.call("mlp", IMAGES, timeout=30)
        assert "Importing gradient_descent.py failed: SyntaxError" in failed.failure.message


def test_uncontained_worker_leaves_no_orphans(tmp_path):
    folder = write_submission(tmp_path / "s", at_import(LINGER))
    with Host(folder, SandboxOptions(contain=False), zygote=fork_server()) as host:
        assert host.call("ping", {}, timeout=30).ok
        pids = lingering_pids(host.description().output)
        assert pids and running(pids[0]), "the submission started a background process"
        assert host.end_check() >= 1
        assert not running(pids[0])


def test_a_submission_with_one_module_is_graded_on_that_module(tmp_path):

    folder = write_submission(tmp_path / "s")
    (folder / "gradient_descent.py").unlink()
    results = {r.name: r for r in grade(folder, rubric_for("interface", "backpropagation_one_sample", "train",
                                                            examples=10)).results}
    assert results["backpropagation_one_sample"].passed
    assert "gradient_descent.py is missing from your submission" in feedback_of(results["train"])
    assert "gradient_descent.py is missing" in feedback_of(results["interface"])

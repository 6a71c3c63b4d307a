"""The sandbox host: protections it reports, restarts after failures, remembered import failures."""
from __future__ import annotations

import os
import time

from grader.contract import names_by_module
from grader.sandbox.host import Host, SandboxOptions
from grader.sandbox.limits import is_root

from .conftest import REFERENCE, write_submission


def test_protections_when_root_and_when_not_contained():
    with Host(REFERENCE, names_by_module()) as host:
        reply = host.call("ping", {}, timeout=30)
        assert reply.ok and reply.value["pid"] != os.getpid()
        assert host.protections["separate_process"] and host.protections["own_session"]
        assert host.protections["unprivileged_user"] == is_root() == (reply.value["uid"] != 0)
        assert host.protections["network_namespace"] == is_root()
    with Host(REFERENCE, names_by_module(), SandboxOptions(contain=False)) as host:
        assert host.call("ping", {}, timeout=30).ok
        assert host.protections["unprivileged_user"] is False and host.protections["memory_limit"]


def test_worker_is_replaced_after_a_crash(tmp_path):
    folder = write_submission(tmp_path / "s", append={"gradient_descent": "import os\n\ndef MyMLP():\n    os._exit(9)\n"})
    with Host(folder, names_by_module()) as host:
        first = host.call("ping", {}, timeout=30).value["pid"]
        crashed = host.call("mlp", {"x": __import__("torch").zeros(1, 3, 32, 32)}, timeout=30)
        assert crashed.failure.kind == "crash" and "status 9" in crashed.failure.message
        assert host.call("ping", {}, timeout=30).value["pid"] != first and host.restarts == 1


def test_a_crash_at_import_is_remembered(tmp_path):
    folder = write_submission(tmp_path / "s", files={"gradient_descent.py": "import os\nos._exit(5)\n"})
    with Host(folder, names_by_module()) as host:
        first = host.call("ping", {}, timeout=30)
        assert first.failure.kind == "import" and "status 5" in first.failure.message
        assert host.call("ping", {}, timeout=30).failure == first.failure and host.restarts == 1


def test_a_syntax_error_fails_only_its_module(tmp_path):
    folder = write_submission(tmp_path / "s", files={"gradient_descent.py": "def broken(:\n"})
    with Host(folder, names_by_module()) as host:
        assert host.call("ping", {}, timeout=30).ok
        assert "SyntaxError" in host.load_reply.value["gradient_descent"]["error"]
        failed = host.call("mlp", {"x": __import__("torch").zeros(1, 3, 32, 32)}, timeout=30)
        assert "Importing gradient_descent.py failed: SyntaxError" in failed.failure.message


def test_uncontained_worker_leaves_no_orphans(tmp_path):
    from .test_catalogue_hostile import LINGER, at_import

    marker = tmp_path / "marker"
    folder = write_submission(tmp_path / "s", at_import(LINGER % str(marker)))
    with Host(folder, names_by_module(), SandboxOptions(contain=False)) as host:
        assert host.call("ping", {}, timeout=30).ok
        time.sleep(0.3)
        assert host.end_check() >= 1
    size = marker.stat().st_size
    time.sleep(0.5)
    assert size > 0 and marker.stat().st_size == size


def test_a_submission_with_one_module_is_graded_on_that_module(tmp_path):
    from grader.pipeline import grade

    from .conftest import rubric_for

    folder = write_submission(tmp_path / "s")
    (folder / "gradient_descent.py").unlink()
    results = {r.name: r for r in grade(folder, rubric_for("interface", "backpropagation_one_sample", "train",
                                                            examples=10)).results}
    assert results["backpropagation_one_sample"].passed
    assert "gradient_descent.py is missing from your submission" in results["train"].feedback
    assert "gradient_descent.py is missing" in results["interface"].feedback

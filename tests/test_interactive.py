"""grader.check() inside a real IPython kernel (jupyter_client): what the kernel executed is graded, an edit that was
never executed is not, and the result is an HTML table."""
from __future__ import annotations

import shutil

import pytest

from tests.catalogue import REFERENCE
from tests.support.notebooks import write_notebook

jupyter_client = pytest.importorskip("jupyter_client.manager", reason="needs jupyter_client and ipykernel")

CORRECT = (REFERENCE / "backpropagation.py").read_text()
BUGGY = CORRECT.replace("delta = 2 * (y_pred - y_true)", "delta = (y_pred - y_true)")


@pytest.fixture
def kernel(tmp_path):
    manager, client = jupyter_client.start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def execute(client, code: str) -> list[dict]:
    """What the cell displayed (display data and results), after it finished; fails on an error."""
    sent, shown = client.execute(code), []
    while True:
        message = client.get_iopub_msg(timeout=600)
        if message["parent_header"].get("msg_id") != sent:
            continue
        kind = message["msg_type"]
        if kind in ("display_data", "execute_result"):
            shown.append(message["content"]["data"])
        assert kind != "error", message["content"]["traceback"]
        if kind == "status" and message["content"]["execution_state"] == "idle":
            return shown


@pytest.mark.slow
def test_what_the_kernel_executed_is_graded_and_shown_as_a_table(kernel, tmp_path):
    write_notebook(tmp_path / "backpropagation.ipynb", [CORRECT])  # saved, never executed in this kernel
    shutil.copy(REFERENCE / "gradient_descent.py", tmp_path / "gradient_descent.py")
    execute(kernel, BUGGY)
    shown = execute(kernel, "import grader\nresult = grader.check('backpropagation', sandbox='portable')")
    table = shown[0]["text/html"]
    assert "<table>" in table and "backpropagation: one sample" in table and "&#10060; fail" in table
    assert "Diagnosis: your model.dL_dw and model.dL_db equal what the squared error&#x27;s derivative without" in table
    assert "cells never run do not" in shown[0]["text/plain"]
    execute(kernel, CORRECT)  # the fix, executed (the notebook need not be saved)
    shown = execute(kernel, "result = grader.check(sandbox='portable')")
    table = shown[0]["text/html"]
    assert "&#10060;" not in table and "autograde: 50 / 50" in table
    assert "Rules:" in table, "gradient_descent.py was taken from the folder, so the rules that need it ran"
    assert execute(kernel, "result.report.score") == [{"text/plain": "50.0"}]


@pytest.mark.slow
def test_the_one_liner_the_readme_prints_works_and_shows_the_report_once(kernel, tmp_path):
    """`import grader; grader.check("backpropagation")` as a cell's only line (its value is the cell's result): the
    report is shown once, the check's own line is not graded as part of the submission, nothing is written here."""
    shutil.copy(REFERENCE / "gradient_descent.py", tmp_path / "gradient_descent.py")
    execute(kernel, CORRECT)
    shown = execute(kernel, 'import grader; grader.check("backpropagation")')
    assert len(shown) == 1, [list(data) for data in shown]
    assert "autograde: 50 / 50" in shown[0]["text/html"] and "&#10060;" not in shown[0]["text/html"]
    assert "was not run" not in shown[0]["text/plain"], "the grader.check line is not the student's code"
    shown = execute(kernel, 'result = grader.check("backpropagation", show=False)')
    assert shown == []
    assert len(execute(kernel, "result")) == 1, "a report asked for in a later cell is shown"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradient_descent.py"], "nothing written in the folder"

"""Notebook submissions: graded like the .py files with the same definitions, top-level code never run."""
from __future__ import annotations

import json
import re

import pytest

from grader.commands.grade import check_main, grade_main
from grader.options import GradingOptions
from grader.report.feedback import feedback as feedback_of
from grader.submission.notebooks import convert
from tests.catalogue import REFERENCE, TEMPLATE
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.support.grading import grade, rubric_for
from tests.support.notebooks import CPU_CHECKS, TRAINING_CELL, cells_of, notebook_twin, write_notebook


def without_cell_references(text: str) -> str:
    """The feedback without what names the file (a notebook's cells, ``NAME.ipynb imports``): the rest must match."""
    text = re.sub(r"(\w+)\.ipynb imports", r"\1.py imports", text)
    return re.sub(r"Where, in your files:\n(  .*\n?)*", "Where, in your files: ...\n", text)


def comparable(report) -> list[tuple]:
    return [(r.name, r.score, r.status, without_cell_references(feedback_of(r))) for r in report.results]


@pytest.mark.parametrize("source", ["reference", "mean over the batch", "template"])
def test_a_notebook_gets_the_same_scores_and_feedback_as_its_py_twin(tmp_path, source):
    if source == "reference":
        py_folder = REFERENCE
    elif source == "template":
        py_folder = TEMPLATE
    else:
        py_folder = BUGGY[source].write(tmp_path / "py")
    rubric = rubric_for(*CPU_CHECKS, examples=20)
    twin = notebook_twin(py_folder, tmp_path / "notebooks")
    from_notebooks, from_py = grade(twin, rubric), grade(py_folder, rubric)
    assert comparable(from_notebooks) == comparable(from_py)
    printed = "".join(r.output for r in from_notebooks.results)
    assert "TRAINING FOR MINUTES" not in printed, "top-level code never runs"
    assert any("code cell" in note and "was not run" in note for note in from_notebooks.notes)
    assert any("magic or shell line" in note for note in from_notebooks.notes)


REDEFINED = '''
def backpropagation(model, y_true, y_pred):
    raise RuntimeError("the first, abandoned attempt")
'''
USES_A_LATER_HELPER = '''
def backpropagation(model, y_true, y_pred):
    with torch.no_grad():
        delta = output_delta(model, y_true, y_pred)
        for l in range(model.L, 0, -1):
            model.dL_dw[l] = delta.T @ model.a[l - 1]
            model.dL_db[l] = delta.sum(dim=0)
            if l > 1:
                delta = (delta @ model.fc[str(l)].weight) * model.df[l - 1](model.z[l - 1])
'''
HELPER = '''
def output_delta(model, y_true, y_pred):
    return 2 * (y_pred - y_true) * model.df[model.L](model.z[model.L])
'''
OWN_MYNET = '''
class MyNet(torch.nn.Module):
    """The student's own copy of the given class (not used by the grader)."""
    def __init__(self, n_l=(2, 3, 2), activation="tanh"):
        super().__init__()
        raise RuntimeError("the grader must build its own MyNet")
'''


def test_redefinitions_the_last_one_wins_and_a_helper_may_come_after_its_use(tmp_path):
    cells = ["import torch", OWN_MYNET, REDEFINED, "print(backpropagation)", USES_A_LATER_HELPER, HELPER,
             TRAINING_CELL, *cells_of((REFERENCE / "backpropagation.py").read_text())[-2:]]
    folder = tmp_path / "s"
    folder.mkdir()
    write_notebook(folder / "backpropagation.ipynb", cells)
    report = grade(folder, rubric_for("backpropagation_one_sample", "backpropagation_mini_batch", "grad_check",
                                      examples=20))
    failed = {r.name: feedback_of(r) for r in report.results if not r.passed}
    assert not failed, failed


def test_an_unresolved_import_is_reported_and_fails_only_the_code_that_uses_it(tmp_path):
    uses_it = REFERENCE.joinpath("backpropagation.py").read_text().replace(
        "    with torch.no_grad():\n        delta = 2",
        "    main_test()\n    with torch.no_grad():\n        delta = 2", 1)
    folder = tmp_path / "s"
    folder.mkdir()
    write_notebook(folder / "backpropagation.ipynb", ["from tests_backpropagation import main_test", uses_it])
    write_notebook(folder / "gradient_descent.ipynb", ["from tests_gradient_descent import *",
                                                      (REFERENCE / "gradient_descent.py").read_text()])
    report = grade(folder, rubric_for("backpropagation_one_sample", "grad_check", "MyMLP", examples=5))
    results = {r.name: r for r in report.results}
    assert results["grad_check"].passed and results["MyMLP"].passed
    feedback = feedback_of(results["backpropagation_one_sample"])
    assert "main_test is not available: `from tests_backpropagation import main_test` could not be imported" in feedback
    assert 'File "backpropagation.ipynb, code cell 2"' in feedback, "code cells are counted (markdown cells are not)"
    assert any("backpropagation.ipynb, code cell 1: `from tests_backpropagation import main_test` could not be "
               "imported" in note for note in report.notes)
    assert any("gradient_descent.ipynb, code cell 1" in note for note in report.notes)


SCRATCH_ARITHMETIC = "0.9 * 50000 = 45000"
TODO_STUB = "def grad_check(model, x, y_true, loss_fn, epsilon=1e-6, tol=1e-5):\n    #TODO"


def test_a_cell_that_does_not_parse_is_left_out_with_a_notice_and_the_rest_is_graded(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    reference = cells_of((REFERENCE / "backpropagation.py").read_text())
    write_notebook(folder / "backpropagation.ipynb", [*reference, SCRATCH_ARITHMETIC, TODO_STUB])
    (folder / "gradient_descent.py").write_text((REFERENCE / "gradient_descent.py").read_text())
    report = grade(folder, rubric_for("interface", "backpropagation_one_sample", "grad_check", examples=5))
    failed = {r.name: feedback_of(r) for r in report.results if not r.passed}
    assert not failed, failed
    scratch, stub = len(reference) + 1, len(reference) + 2  # code cells, as a student counts them
    assert any(f"backpropagation.ipynb, code cell {scratch} was left out: it is not valid Python (line 1: cannot "
               "assign to expression" in note for note in report.notes), report.notes
    assert any(f"backpropagation.ipynb, code cell {stub} was left out: it is not valid Python (line 2: expected an "
               "indented block" in note for note in report.notes), report.notes


@pytest.mark.slow
def test_notebooks_work_in_grade_and_check(tmp_path, capsys):
    twin = notebook_twin(REFERENCE, tmp_path / "upload" / "my_notebooks")
    path = tmp_path / "results.json"
    assert grade_main(submission=str(tmp_path / "upload"), outputs={"json": str(path)},
                      options=GradingOptions(skip_accuracy=True)) == 0
    results = json.loads(path.read_text())
    assert results["score"] == 85 and "was not run" in results["output"]
    assert check_main(directory=str(twin), options=GradingOptions(skip_accuracy=True)) == 0
    assert "Total: 85 / 100" in capsys.readouterr().out


def test_a_py_file_wins_over_a_notebook_of_the_same_name(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    for module in ("backpropagation", "gradient_descent"):
        (folder / f"{module}.py").write_text((REFERENCE / f"{module}.py").read_text())
    write_notebook(folder / "backpropagation.ipynb", ["raise SystemExit('never used')"])
    report = grade(folder, rubric_for("backpropagation_one_sample", examples=5))
    assert report.results[0].passed and "backpropagation.ipynb was not used" in report.notes[0]


def test_conversion_keeps_imports_definitions_and_constants_only(tmp_path):
    path = write_notebook(tmp_path / "backpropagation.ipynb", [
        "%%time\nprint('a cell magic: the whole cell is left out')",
        '"""A docstring is not code that was left out."""\nimport torch\nSEED = 3\nlr = 0.1\nprint(SEED)',
        "@torch.no_grad()\ndef f():\n    return SEED",
        "files = !ls\nclass A:\n    pass"])
    conversion = convert(path)
    assert "SEED = 3" in conversion.source and "def f" in conversion.source and "class A" in conversion.source
    assert "lr = 0.1" not in conversion.source and "print(" not in conversion.source
    assert "@torch.no_grad()" in conversion.source and "!ls" not in conversion.source
    assert "top-level code in code cell 1, code cell 2 was not run" in conversion.notes[0], "markdown not counted"


def test_a_file_that_is_not_a_notebook_fails_to_import_with_a_reason(tmp_path):
    path = tmp_path / "backpropagation.ipynb"
    path.write_text("{not json")
    conversion = convert(path)
    assert "is not a readable notebook" in conversion.notes[0] and "raise UnusableFile(" in conversion.source


@pytest.mark.parametrize("content, says", [
    ("", "backpropagation.ipynb is empty (0 bytes)"),
    ('{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# notes"}], "metadata": {}, "nbformat": 4, '
     '"nbformat_minor": 5}', "backpropagation.ipynb has no code cells (1 cell(s) in all)"),
], ids=["0 bytes", "no code cells"])
def test_an_empty_notebook_is_named_as_such_without_a_traceback(tmp_path, content, says):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "backpropagation.ipynb").write_text(content)
    (folder / "gradient_descent.py").write_text((REFERENCE / "gradient_descent.py").read_text())
    result = grade(folder, rubric_for("interface")).results[0]
    failed = result.failed_parts
    assert [p.label for p in failed] == ["backpropagation.ipynb imports"]
    assert failed[0].message.startswith(says) and "Traceback" not in failed[0].message and "File " not in \
        failed[0].message


def test_top_level_code_sharing_a_line_with_a_kept_statement_is_not_run(tmp_path):
    """``SEED = 3; print(...)`` keeps the constant, never the print; ``import grader; grader.check(...)`` keeps the
    import only."""
    path = write_notebook(tmp_path / "backpropagation.ipynb", [
        "SEED = 3; print('SETUP RAN')", "import torch; torch.manual_seed(SEED); x = torch.zeros(1)",
        "import grader; grader.check('backpropagation')"])
    conversion = convert(path)
    assert "SEED = 3; pass" in conversion.source and "print(" not in conversion.source
    assert "import torch; pass" in conversion.source and "grader.check" not in conversion.source
    assert "code cell 1, code cell 2 was not run" in conversion.notes[0], "the grader.check line is not counted"

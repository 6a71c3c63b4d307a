"""Which uploaded file is which module when students did not keep the expected names (grader/submission/naming.py),
and how
locate and prepared use it."""
from __future__ import annotations

import shutil

import pytest

from grader.submission.folder import SubmissionError, locate, prepared
from grader.submission.naming import match_modules, rank
from tests.support.grading import REFERENCE

MODULES = ("backpropagation", "gradient_descent")


@pytest.mark.parametrize("stem, module", [
    ("gradientDescent", "gradient_descent"), ("Gradient-Descent", "gradient_descent"),
    ("gradient_descent_2", "gradient_descent"), ("gradient_descent_final_v2", "gradient_descent"),
    ("gradient_decent_complete", "gradient_descent"), ("Copy of backpropagation", "backpropagation"),
    ("backpropagation (1)", "backpropagation"), ("Copy of Copy of backpropagation (2)", "backpropagation"),
    ("backpropogation", "backpropagation"), ("backprop", "backpropagation"),
    ("backpropagation_alice", "backpropagation"),
])
def test_close_names_match_their_module_only(stem, module):
    other = next(m for m in MODULES if m != module)
    assert rank(stem, module) is not None and rank(stem, other) is None


@pytest.mark.parametrize("stem", ["notes", "utils", "bp", "test", "tests_backpropagation", "descent"])
def test_unrelated_names_match_nothing(stem):
    """(``tests_backpropagation.py`` is the course's given helper file, often in the upload.)"""
    assert rank(stem, "gradient_descent") is None and rank(stem, "backpropagation") is None


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("")
    return folder


def test_own_names_win_and_a_py_wins_over_a_notebook(tmp_path):
    folder = touch(tmp_path, "backpropagation.ipynb", "backpropagation.py", "backprop_old.ipynb",
                   "gradientDescent.ipynb", "gradientDescent.py")
    matches = match_modules(folder, MODULES)
    assert matches.found["backpropagation"].path.name == "backpropagation.py"
    assert matches.found["backpropagation"].how is None
    assert matches.found["gradient_descent"].path.name == "gradientDescent.py"
    assert "gradientDescent.py was graded as gradient_descent.py" in matches.found["gradient_descent"].note(
        "gradient_descent")


def test_the_closest_rank_wins_and_equal_ones_are_ambiguous(tmp_path):
    folder = touch(tmp_path / "a", "Gradient_Descent.ipynb", "gradient_descent_tests.py")
    assert match_modules(folder, MODULES).found["gradient_descent"].path.name == "Gradient_Descent.ipynb"
    folder = touch(tmp_path / "b", "gradient_descent_2.ipynb", "gradient_descent_final.ipynb")
    matches = match_modules(folder, MODULES)
    assert "gradient_descent" not in matches.found
    assert [p.name for p in matches.ambiguous["gradient_descent"]] == ["gradient_descent_2.ipynb",
                                                                       "gradient_descent_final.ipynb"]


def test_locate_finds_misnamed_modules_one_folder_down(tmp_path):
    upload = tmp_path / "upload"
    shutil.copy(REFERENCE / "backpropagation.py", touch(upload / "my work") / "Backpropagation.py")
    assert locate(upload).folder == upload / "my work"
    with pytest.raises(SubmissionError, match="holds none of"):
        locate(touch(tmp_path / "empty", "notes.txt"))


def test_a_renamed_file_is_quoted_under_the_name_the_student_gave_it(tmp_path):
    from grader.report.feedback import feedback
    from tests.support.grading import grade, rubric_for

    folder = tmp_path / "s"
    folder.mkdir()
    signature = "def backpropagation(model: MyNet, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:\n"
    broken = (REFERENCE / "backpropagation.py").read_text().replace(signature, signature + "    raise ValueError()\n")
    (folder / "Backpropagation (1).py").write_text(broken)
    shutil.copy(REFERENCE / "gradient_descent.py", folder / "gradient_descent.py")
    text = feedback(grade(folder, rubric_for("backpropagation_one_sample", examples=3)).results[0])
    assert 'File "Backpropagation (1).py", line' in text and 'File "backpropagation.py"' not in text, text


def test_prepared_grades_a_misnamed_py_under_its_own_name_and_an_ambiguous_module_fails_to_import(tmp_path):
    folder = touch(tmp_path / "s", "gradient_descent_2.py", "gradient_descent_final.py")
    shutil.copy(REFERENCE / "backpropagation.py", folder / "back_propagation.py")
    with prepared(folder) as (graded, notes, _):
        assert (graded / "backpropagation.py").read_text() == (REFERENCE / "backpropagation.py").read_text()
        assert "Several files could be gradient_descent" in (graded / "gradient_descent.py").read_text()
    assert any("back_propagation.py was graded as backpropagation.py" in note for note in notes)
    assert not (folder / "backpropagation.py").exists(), "the upload itself is never written to"

"""Grading a class: gradebook, summary, resumable reruns, shards and merge, isolation between students, and a
batch that goes on whatever one submission or one grader process does."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch.entries import Entry, in_shard, list_entries, parse_shard
from grader.batch.runner import GraderPool
from grader.commands.batch import batch_main, merge_main
from grader.options import GradingOptions
from tests.catalogue import REFERENCE, TEMPLATE
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.support.notebooks import notebook_twin


def zipped(folder: Path, target: Path, inner: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in folder.glob("*.py"):
            archive.write(path, f"{inner}{path.name}")
    return target


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """A class of eight: correct, stubbed, buggy, zipped, nested, notebooks, a broken zip and a stray file."""
    root = tmp_path_factory.mktemp("class")
    shutil.copytree(REFERENCE, root / "alice")
    shutil.copytree(TEMPLATE, root / "bob")
    BUGGY["mean over the batch"].write(root / "carol")
    zipped(REFERENCE, root / "dave.zip", inner="dave_submission/")
    shutil.copytree(REFERENCE, root / "erin" / "upload" / "my_code")
    notebook_twin(REFERENCE, root / "frank")
    (root / "grace.zip").write_bytes(b"not a zip at all")
    (root / "notes.txt").write_text("not a submission")
    return root


def rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def small_class(tmp_path_factory) -> Path:
    """Three entries (correct, stubbed, malformed): enough for reruns and shards."""
    root = tmp_path_factory.mktemp("small")
    shutil.copytree(REFERENCE, root / "alice")
    shutil.copytree(TEMPLATE, root / "bob")
    (root / "grace.zip").write_bytes(b"not a zip at all")
    return root


SKIP_ACCURACY = GradingOptions(skip_accuracy=True)


def run(klass, out, capsys, **batch) -> str:
    assert batch_main(submissions=str(klass), out=str(out), options=SKIP_ACCURACY, workers=2, **batch) == 0
    return capsys.readouterr().err


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert batch_main(submissions=str(klass), out=str(out), options=SKIP_ACCURACY, workers=2) == 0
    return out


@pytest.fixture(scope="module")
def small_graded(small_class, tmp_path_factory) -> tuple[Path, str]:
    """The small class graded once (its output folder, what the batch printed); tests copy it before changing it."""
    out, printed = tmp_path_factory.mktemp("small-out"), io.StringIO()
    assert batch_main(submissions=str(small_class), out=str(out), options=SKIP_ACCURACY, workers=2,
                      stream=printed) == 0
    return out, printed.getvalue()


@pytest.mark.slow
def test_every_entry_gets_a_row_and_its_reports(graded):
    gradebook = rows(graded)
    assert gradebook.pop("points possible")["total"] == "100"
    assert {name: row["total"] for name, row in gradebook.items()} == {
        "alice": "85", "bob": "0", "carol": "75", "dave": "85", "erin": "85", "frank": "85", "grace": "0",
        "notes.txt": "0"}
    assert gradebook["grace"]["status"].startswith("malformed upload: grace.zip is not a readable .zip")
    assert gradebook["notes.txt"]["status"].startswith("malformed upload")
    assert all(gradebook[name]["status"] == "partial" for name in ("alice", "bob", "carol", "dave", "erin", "frank")), \
        "graded without the accuracy stage: the totals are not grades"
    for name in gradebook:
        assert {"results.json", "report.md", "report.txt", "state.json"} <= {p.name for p in (graded / name).iterdir()}
    results = json.loads((graded / "grace" / "results.json").read_text())
    assert results["score"] == 0 and "not a readable .zip" in results["tests"][0]["output"]


@pytest.mark.slow
def test_the_summary_says_which_mistakes_the_class_makes(graded):
    summary = (graded / "summary.md").read_text()
    assert "# Class summary: 8 submissions" in summary and "| accuracy | skipped |" in summary
    assert "not implemented yet" in summary and "backpropagation_mini_batch: most frequent failures" in summary
    assert (graded / "summary.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_rerun_grades_only_what_changed_only_regrades_named_students_and_force_regrades_all(small_class,
                                                                                             small_graded, capsys,
                                                                                             tmp_path):
    first_out, first_printed = small_graded
    assert "3 graded, 0 up to date" in first_printed
    out, moved = tmp_path / "out", tmp_path / "moved"
    shutil.copytree(first_out, out)
    assert "0 graded, 3 up to date" in run(small_class, out, capsys)
    assert "1 graded, 0 up to date" in run(small_class, out, capsys, students=("bob",))
    shutil.copytree(small_class, moved)
    (moved / "alice" / "notes.md").write_text("a new file changes the submission")
    assert "1 graded, 2 up to date" in run(moved, out, capsys), "moving the class regrades nothing; a change does"
    assert "3 graded, 0 up to date" in run(moved, out, capsys, force=True)


@pytest.mark.slow
def test_shards_are_deterministic_and_merge_into_the_same_gradebook(small_class, small_graded, tmp_path, capsys):
    names = [entry.name for entry in list_entries(small_class)]
    assert sorted(n for i in (1, 2, 3) for n in names if in_shard(n, i, 3)) == sorted(names)
    outs = [tmp_path / f"shard{i}" for i in (1, 2)]
    for index, out in enumerate(outs, start=1):
        run(small_class, out, capsys, shard=f"{index}/2")
    assert merge_main(outputs=[str(o) for o in outs], out=str(tmp_path / "merged")) == 0
    merged, whole = rows(tmp_path / "merged"), rows(small_graded[0])
    assert {n: r["total"] for n, r in merged.items()} == {n: r["total"] for n, r in whole.items()}
    assert len(merged) == 4 and (tmp_path / "merged" / "alice" / "results.json").is_file()


BROKEN_RUBRIC = "[checks.nonsense]\npoints = 1\n"


@pytest.mark.parametrize("argv, fragment", [
    ({"submissions": "/no/such/folder"}, "does not exist"),
    ({"shard": "3/2"}, "I must be between 1 and N"),
    ({"shard": "half"}, "--shard takes I/N"),
    ({"students": ("nobody",)}, "--only names no submission"),
    ({"checks": ("nonsense",)}, "no check named 'nonsense' in the rubric"),
    ({"skip": ("nonsense",)}, "no check named 'nonsense' in the rubric"),
    ({"rubric": "BROKEN"}, "the grader declares no check named 'nonsense'"),
    ({"data_root": "UNREADABLE"}, "which this user cannot read"),
    ({"assignment": "no-such-year"}, "no assignment 'no-such-year'"),
])
def test_bad_input_exits_2_with_what_to_do_before_any_work(klass, tmp_path, capsys, monkeypatch, argv, fragment):
    """The same message grade gives, before any grader process starts, and nothing written."""
    if argv.get("rubric") == "BROKEN":
        (tmp_path / "rubric.toml").write_text(BROKEN_RUBRIC)
        argv = {**argv, "rubric": str(tmp_path / "rubric.toml")}
    if argv.get("data_root") == "UNREADABLE":  # root reads everything: the refusal is simulated
        (tmp_path / "data").mkdir()
        argv = {**argv, "data_root": str(tmp_path / "data")}
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: str(path) != argv["data_root"] and real_access(path, mode))
    monkeypatch.setattr(GraderPool, "__init__", lambda *a, **k: pytest.fail("a grader process was started"))
    options = {name: value for name, value in argv.items() if name in GradingOptions.__dataclass_fields__}
    batch = {"submissions": str(klass), "out": str(tmp_path / "out"),
             **{name: value for name, value in argv.items() if name not in options}}
    assert batch_main(**batch, options=SKIP_ACCURACY.but(**options)) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_parse_shard():
    assert parse_shard("2/5") == (2, 5)


FAKE_GRADER = '''
import json, sys, time
settings = json.loads(sys.stdin.readline())
for line in sys.stdin:
    task = json.loads(line)
    if task["name"] == "dies":
        sys.exit(3)
    if task["name"] == "hangs":
        time.sleep(600)
    print(json.dumps({"name": task["name"], "status": "ok", "report": None}), flush=True)
'''


def test_a_grader_process_that_dies_or_hangs_costs_only_its_entry(tmp_path):
    script = tmp_path / "fake_grader.py"
    script.write_text(FAKE_GRADER)
    entries = [Entry(name, tmp_path) for name in ("a", "dies", "b", "hangs", "c")]
    answers = {}
    with GraderPool({}, 2, tmp_path / "log", command=(sys.executable, str(script)), startup_seconds=0) as pool:
        pool.grade(entries, limit_seconds=3, on_answer=lambda entry, answer: answers.update({entry.name: answer}))
    assert {name: answer["status"] for name, answer in answers.items()} == {
        "a": "ok", "b": "ok", "c": "ok", "dies": "grader error: the grader process died (see the log)",
        "hangs": "timeout: grading took longer than the limit of 3 s"}


@pytest.mark.slow
def test_one_student_cannot_read_write_or_signal_another_nor_the_gradebook(small_class, small_graded, tmp_path,
                                                                          capsys):
    from tests.catalogue.hostile import SPY_ON_THE_CLASS, hostile_backprop
    from tests.support.grading import write_submission

    klass, out = tmp_path / "class", tmp_path / "out"
    shutil.copytree(small_class, klass)
    shutil.copytree(small_graded[0], out)
    victim_state = (out / "alice" / "state.json").read_text()
    known = [str(klass / "alice" / "backpropagation.py"), str(out / "grades.csv"), str(out / "alice" / "state.json")]
    write_submission(klass / "attacker", hostile_backprop(SPY_ON_THE_CLASS % {"known": known}))
    shutil.copytree(REFERENCE, klass / "victim2")
    assert "2 graded, 3 up to date" in run(klass, out, capsys)
    printed = json.loads((out / "attacker" / "state.json").read_text())["report"]["results"][1]["output"]
    for path in known:
        assert f"blocked read {path}" in printed and f"blocked write {path}" in printed, printed
    assert "KILLED" not in printed and "READ " not in printed.replace("blocked read", "")
    assert (out / "alice" / "state.json").read_text() == victim_state
    gradebook = rows(out)
    assert gradebook["alice"]["total"] == gradebook["victim2"]["total"] == "85"


def test_the_class_page_and_each_students_page_are_valid_self_contained_html(small_graded):
    from tests.report.test_html import CHROMIUM, rendered, valid

    out, _ = small_graded
    page = (out / "summary.html").read_text()
    valid(page)
    assert 'src="data:image/png;base64,' in page and "<script" not in page
    assert 'href="alice/report.html"' in page and 'href="bob/report.html"' in page
    assert "Scores not final: 2 submission(s) partial" in page, "graded with --skip-accuracy"
    for name in ("alice", "bob", "grace"):
        valid((out / name / "report.html").read_text())
    assert "alice: 85 / 100" in (out / "alice" / "report.html").read_text()
    if CHROMIUM:
        dom = rendered(out / "summary.html")
        assert "Class summary: 3 submissions" in dom and dom.count('/report.html"') == 3

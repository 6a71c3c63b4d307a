"""The portable sandbox (grader/sandbox/portable.py), used where the Linux one cannot run: forced here with
--sandbox portable, and on a simulated platform without the POSIX-only pieces (tests/support/no_posix)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.batch.gradebook import load_states
from grader.commands.batch import batch_main
from grader.options import GradingOptions
from grader.sandbox.portable import exit_reason
from tests.catalogue import REFERENCE, TEMPLATE, Submission
from tests.catalogue.buggy import BUGS
from tests.catalogue.correct import CORRECT
from tests.catalogue.hostile import KILL_THE_GRADER, SELF_CONTAINED
from tests.support.grading import ROOT, grade, rubric_for

NO_POSIX = Path(__file__).parents[1] / "support" / "no_posix"
CPU_CHECKS = ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules", "grad_check", "train",
              "train_manual_update", "MyMLP", "load_cifar")


CLASS = [("reference", Submission("reference")), *((f"correct/{s.name}", s) for s in CORRECT),
         *((f"buggy/{s.name}", s) for s in BUGS)]
"""Each with the key of its scores in the golden file, which the Linux sandbox's own tests keep (test_cli,
tests/catalogue): the portable sandbox must grade each the same."""
HOSTILE = [s for s in SELF_CONTAINED if s is not KILL_THE_GRADER]
"""Recorded with other rubrics (short limits, 10 examples): graded here in both sandboxes."""


def the_class(folder: Path, submissions: list[Submission], template: bool = False) -> Path:
    """``submissions`` (and with ``template`` the student template) as a class folder, one per entry."""
    for index, submission in enumerate(submissions):
        submission.write(folder / f"{index:02d}")
    if template:
        (folder / "template").mkdir()
        for module in ("backpropagation.py", "gradient_descent.py"):
            (folder / "template" / module).write_text((TEMPLATE / module).read_text())
    return folder


def _batch_scores(klass: Path, out: Path, rubric: Path, sandbox: str) -> dict[str, tuple]:
    assert batch_main(submissions=str(klass), out=str(out), workers=2,
                      options=GradingOptions(rubric=str(rubric), checks=CPU_CHECKS, sandbox=sandbox)) == 0
    return {name: ({r["name"]: [round(r["score"], 6), r["status"]] for r in s["report"]["results"]},
                   s["status"], s["report"]["protections"]) for name, s in load_states(out).items()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, dict]:
    """The catalogues graded by a batch in the portable sandbox at 40 examples a check (the buggy catalogue's own
    setting); the hostile ones, and the template, in the Linux one too."""
    root = tmp_path_factory.mktemp("portable")
    rubric = root / "rubric.toml"
    text = (ROOT / "grader" / "assignment" / "packaged" / "default" / "rubric.toml").read_text()
    rubric.write_text(text.replace("examples = 120", "examples = 40").replace("examples = 80", "examples = 40")
                      .replace("import_seconds = 60", "import_seconds = 10"))
    catalogues = the_class(root / "class", [s for _, s in CLASS])
    hostile = the_class(root / "hostile", HOSTILE, template=True)
    return {"catalogues": _batch_scores(catalogues, root / "portable", rubric, "portable"),
            "hostile": {sandbox: _batch_scores(hostile, root / f"hostile-{sandbox}", rubric, sandbox)
                        for sandbox in ("linux", "portable")}}


@pytest.mark.slow
def test_the_catalogues_get_their_golden_scores_in_the_portable_sandbox(graded, golden):
    """Each check a catalogue entry's own test grades, graded the same: correct entries at full marks whatever
    the examples, buggy ones at their recorded scores (the same 40 examples)."""
    portable = graded["catalogues"]
    assert len(portable) == len(CLASS) > 55
    differing = {}
    for index, (key, _) in enumerate(CLASS):
        recorded, got = golden.recorded[key], portable[f"{index:02d}"][0]
        if key == "reference":
            recorded = {name: score for name, score in recorded.items() if name in CPU_CHECKS}
        if {name: got[name] for name in recorded} != recorded:
            differing[key] = ({n: got[n] for n in recorded}, recorded)
    assert not differing, differing


@pytest.mark.slow
def test_the_hostile_catalogue_and_the_template_get_the_same_scores_in_both_sandboxes(graded):
    linux, portable = graded["hostile"]["linux"], graded["hostile"]["portable"]
    assert set(linux) == set(portable) and len(linux) == len(HOSTILE) + 1
    differing = {name: (linux[name][:2], portable[name][:2]) for name in linux if linux[name][:2] != portable[name][:2]}
    assert not differing, differing


@pytest.mark.slow
def test_the_portable_report_says_which_protections_were_off(graded):
    protections = graded["catalogues"]["00"][2]
    assert protections["separate_process"] and protections["memory_limit"] and protections["process_tree_killed"]
    assert not protections["unprivileged_user"] and not protections["filesystem_allow_list"]


def run_without_posix(*arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NO_POSIX), str(ROOT)])}
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=env, timeout=600,
                          cwd=NO_POSIX)


@pytest.mark.slow
def test_check_works_without_the_posix_only_pieces():
    template = run_without_posix("-m", "grader", "check", str(TEMPLATE), "--skip-accuracy")
    assert template.returncode == 0, template.stderr
    assert "Total: 0 / 100" in template.stdout and "not implemented yet: backpropagation" in template.stdout
    assert "portable sandbox: this is a self-check" in template.stderr
    solved = run_without_posix("-m", "grader", "check", str(REFERENCE), "--skip-accuracy")
    assert solved.returncode == 0 and "Total: 85 / 100" in solved.stdout and "[ FAIL]" not in solved.stdout


def test_every_module_imports_without_the_posix_only_pieces():
    walk = ("import importlib, pkgutil, grader\n"
            "names = [m.name for m in pkgutil.walk_packages(grader.__path__, 'grader.')\n"
            "         if not m.name.endswith('__main__')]\n"
            "for name in names:\n    importlib.import_module(name)\nprint(len(names))")
    done = run_without_posix("-c", walk)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40


@pytest.mark.parametrize("code, fragment", [
    (-11, "killed by SIGSEGV"), (3221225477, "an access violation (0xC0000005)"),
    (0xC00000FD, "a stack overflow"), (3, "exited with status 3"), (None, "closed its connection")])
def test_crash_codes_are_named_on_posix_and_windows(code, fragment):
    assert fragment in exit_reason(code)


def test_a_container_that_refuses_the_worker_uid_falls_back_to_the_current_user(tmp_path, monkeypatch):
    """(As in a rootless or user-namespaced container: root, but chown to an unmapped uid is refused.)"""
    from grader.sandbox import host as host_module

    def refused(*args, **kwargs):
        raise PermissionError(22, "Invalid argument")

    monkeypatch.setattr(host_module.os, "chown", refused)
    report = grade(REFERENCE, rubric_for("backpropagation_one_sample", examples=5))
    assert report.results[0].passed
    assert report.protections["unprivileged_user"] is False
    assert any("could not give the worker its own user id" in note for note in report.notes)


def test_non_ascii_notebooks_and_output_survive_a_cp1252_console(tmp_path):
    """Files the grader writes and reads are utf-8 whatever the locale; a console that cannot show a character
    gets an escape."""
    from tests.support.notebooks import cells_of, write_notebook

    source = (REFERENCE / "backpropagation.py").read_text().replace(  # wrong, so that its output is shown
        "    with torch.no_grad():\n        delta = 2",
        "    print('é ✓ 🙂 dL/dw')\n    with torch.no_grad():\n        delta = 3", 1)
    write_notebook(tmp_path / "backpropagation.ipynb", ["# Réseau de neurones: ∂L/∂w", *cells_of(source)])
    (tmp_path / "gradient_descent.py").write_text((REFERENCE / "gradient_descent.py").read_text(), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"}
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(tmp_path), "--skip-accuracy", "--verbose",
                           "--only", "backpropagation_one_sample", "--sandbox", "portable"], capture_output=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    assert b"0 / 25" in done.stdout and b"\\U0001f642" in done.stdout, "the emoji escaped, not a crash"
    assert "é".encode("cp1252") in done.stdout

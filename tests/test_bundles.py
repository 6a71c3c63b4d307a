"""The student kit and the Gradescope autograder: built, installed the way they are used, and exercised.

The virtual environments reuse this environment's packages (``--system-site-packages``: torch is several GB)
but get the grader only from the bundle's wheel, so what runs is what ships."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.bundle import shared_in, solution_bodies, solution_in, solution_in_wheel, solution_sources
from grader.bundle.secrecy import shared_with
from grader.commands.bundle import bundle_main
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.catalogue.hostile import SPY_ON_THE_CLASS, hostile_backprop, steals_the_solution
from tests.support.grading import REFERENCE, ROOT, SHARED_DATA, write_submission

pytestmark = pytest.mark.slow

BODIES = solution_bodies()


def venv_with(wheel_folder: Path, where: Path) -> Path:
    """A fresh virtual environment with the bundle's grader wheel installed; its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    *map(str, wheel_folder.glob("*.whl"))], check=True)
    origin = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], capture_output=True,
                            text=True, check=True, cwd=where).stdout
    assert origin.startswith(str(where)), f"the venv must use the bundle's grader, not {origin}"
    return where / "bin"


def installed_files(venv: Path) -> list[Path]:
    """Every file the grader wheel installed in ``venv`` (its RECORD), not the pip and setuptools a venv starts with."""
    records = list(venv.glob("lib/python*/site-packages/*.dist-info/RECORD"))
    ours = [record for record in records if "pip" not in record.parent.name and "setuptools" not in record.parent.name]
    assert len(ours) == 1, records
    site = ours[0].parents[1]
    listed = [Path(os.path.normpath(site / line.split(",")[0])) for line in ours[0].read_text().splitlines() if line]
    assert any(path.name == "autograde" for path in listed), "the console script is in the RECORD"
    return [path for path in listed if path.is_file()]


def assert_no_solution(root: Path, files: list[Path] | None = None) -> None:
    """No file under ``root`` (or of ``files`` under it; wheels opened) is the reference package or holds a reference
    function."""
    assert len(BODIES) >= 8, "the check knows the reference's functions"
    files = files if files is not None else [path for path in root.rglob("*") if path.is_file()]
    for wheel in (path for path in files if path.suffix == ".whl"):
        assert not solution_in_wheel(wheel, BODIES), wheel
    texts = {str(path.relative_to(root)): path.read_text(errors="replace") for path in files if path.suffix != ".whl"}
    assert not solution_in(texts, BODIES)
    assert not list(root.rglob("reference")), "no reference package anywhere"
    shared = shared_in(root, only=files)
    assert not shared, [f"{s.file}: {s.what} {s.text}" for s in shared]


def test_the_leak_check_finds_the_reference():
    texts = {"gradient_descent.py": (REFERENCE / "gradient_descent.py").read_text(), "reference/x.py": ""}
    assert solution_in(texts, BODIES) == ["gradient_descent.py", "reference/x.py"]


def test_the_similarity_check_finds_the_reference_renamed_and_one_line_of_it():
    source = (REFERENCE / "backpropagation.py").read_text()
    renamed = source.replace("delta", "err").replace("model", "net").replace("y_pred", "out").replace("eps", "h")
    found = shared_with(solution_sources(), {"copy.py": renamed})
    assert {s.what for s in found} == {"statements", "line"} and len(found) >= 10
    line = next(text for text in source.splitlines() if "model.dL_dw[l] =" in text)
    assert [s.what for s in shared_with(solution_sources(), {"one.py": f"def f(model, delta, l):\n{line}\n"})] \
        == ["line"]


def run_check(bin_folder: Path, folder: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{bin_folder}:{os.environ['PATH']}"}
    return subprocess.run([str(bin_folder / "autograde"), "check", str(folder), "--skip-accuracy", *flags], env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_student_kit_installs_holds_no_solution_and_checks_work(tmp_path):
    kit = tmp_path / "kit"
    assert bundle_main(kind="student", out=str(kit)) == 0
    expected = {"backpropagation.py", "gradient_descent.py", "given_code.py", "README.md"}
    assert expected <= {p.name for p in kit.iterdir()}
    assert (kit / ".github" / "workflows" / "classroom.yml").is_file()
    assert_no_solution(kit)
    bin_folder = venv_with(kit / "wheels", tmp_path / "venv")
    assert_no_solution(tmp_path / "venv", installed_files(tmp_path / "venv"))
    solution = tmp_path / "solution"
    solution.mkdir()
    for module in ("backpropagation.py", "gradient_descent.py"):
        shutil.copy(REFERENCE / module, solution / module)
    folders = {"template": kit, "solution": solution,
               **{bug: BUGGY[bug].write(tmp_path / bug.replace(" ", "_")) for bug in KIT_DIAGNOSES}}
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent `autograde check` processes, two at a time
        done = dict(zip(folders, pool.map(lambda name: run_check(bin_folder, folders[name],
                                                                *(("--verbose",) if name in KIT_DIAGNOSES else ())),
                                          folders)))
    template, solved = done["template"], done["solution"]
    assert template.returncode == 0 and "Total: 0 / 100" in template.stdout
    assert "not implemented yet: backpropagation" in template.stdout
    assert solved.returncode == 0 and "Total: 85 / 100" in solved.stdout and "[ FAIL]" not in solved.stdout
    for bug, sentence in KIT_DIAGNOSES.items():
        assert f"Diagnosis: {sentence}" in done[bug].stdout, (bug, done[bug].stdout[-3000:])


KIT_DIAGNOSES = {"derivative taken at a instead of z": "your model.dL_dw and model.dL_db equal what f' evaluated",
                 "momentum ignored": "your parameters equal what ignoring the momentum",
                 "grad_check with one-sided differences": "your grad_check's answers equal what one-sided"}
"""A misconception of each simulated function, named by the kit as by the official grader (the simulators are
autograd and torch.optim with knobs: nothing in them computes a correct answer by hand)."""


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> tuple[Path, Path]:
    """The Gradescope zip (with the decoded data when the real data is here), unpacked as /autograder/source,
    and a venv where its wheel is installed as setup.sh would install it."""
    root = tmp_path_factory.mktemp("bundle")
    data = SHARED_DATA if (SHARED_DATA / "train").is_dir() else None
    archive = root / "autograder.zip"
    assert bundle_main(kind="gradescope", out=str(archive), data_root=str(data) if data else None) == 0
    source = root / "autograder" / "source"
    with zipfile.ZipFile(archive) as unpacked:
        names = unpacked.namelist()
        assert {"setup.sh", "run_autograder", "rubric.toml"} <= set(names)
        assert all(unpacked.getinfo(n).external_attr >> 16 & 0o100 for n in ("setup.sh", "run_autograder"))
        unpacked.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(0o755)
    assert_no_solution(source)
    if data:
        assert (source / "data" / "cifar2.npz").is_file()
        subprocess.run(["sha256sum", "--check", "--quiet", "cifar2.npz.sha256"], cwd=source / "data", check=True)
    return root / "autograder", venv_with(source / "wheels", root / "venv")


def run_autograder(autograder, submission_files: dict[str, str] | Path) -> dict:
    root, bin_folder = autograder
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    if isinstance(submission_files, Path):
        shutil.copytree(submission_files, submission / "nested")  # uploads are often one folder down
    else:
        submission.mkdir()
        for name, text in submission_files.items():
            (submission / name).write_text(text)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PATH": f"{bin_folder}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.data
def test_gradescope_gives_the_reference_full_marks(autograder):
    results = run_autograder(autograder, REFERENCE)
    assert results["score"] == 100, [(t["name"], t["score"], t["output"][:300]) for t in results["tests"]]


def test_gradescope_gives_the_template_zero(autograder):
    template = {m: (ROOT / "student_template" / m).read_text() for m in ("backpropagation.py", "gradient_descent.py")}
    results = run_autograder(autograder, template)
    assert results["score"] == 0 and "not implemented yet" in results["tests"][1]["output"]


def test_gradescope_contains_a_hostile_submission(autograder, tmp_path):
    root = autograder[0]
    known = [str(root / "source" / "rubric.toml"), str(root / "source" / "data" / "cifar2.npz"),
             str(root / "results" / "results.json"), str(root / "source" / "run_autograder")]
    stubbed_training = {"gradient_descent.py": (ROOT / "student_template" / "gradient_descent.py").read_text()}
    spy = write_submission(tmp_path / "spy", hostile_backprop(SPY_ON_THE_CLASS % {"known": known}),
                           files=stubbed_training)  # no minute of training: the spying happens in backpropagation
    results = run_autograder(autograder, spy)
    printed = results["tests"][1]["output"]
    assert all(f"blocked read {path}" in printed for path in known[:2] + known[3:]), printed
    assert "KILLED" not in printed and "WROTE" not in printed
    assert results["tests"][1]["score"] == results["tests"][1]["max_score"], "its own (correct) code still counts"
    thief = steals_the_solution(str(ROOT)).write(tmp_path / "thief")
    assert run_autograder(autograder, thief)["score"] == 0


def test_both_bundles_carry_another_assignment(autograder, tmp_path):
    """--assignment inf265-2023: the kit and the zip hold its declaration and pass it on; a 2023-style upload
    (notebooks, one misnamed) gets the CPU stage's full marks from run_autograder."""
    from tests.catalogue.inf265_2023 import ASSIGNMENT, REFERENCE_2023
    from tests.support.templates import stubbed

    GRADED_2023 = ("backpropagation", "load_cifar", "train", "train_manual_update", "compute_accuracy", "MyNet")

    kit = tmp_path / "kit"
    assert bundle_main(kind="student", out=str(kit), assignment=ASSIGNMENT) == 2, "no template declared or given"
    template = stubbed(REFERENCE_2023, tmp_path / "template", GRADED_2023)
    assert bundle_main(kind="student", out=str(kit), assignment=ASSIGNMENT, template=str(template)) == 0
    assert (kit / "assignment" / "assignment.toml").is_file() and not (kit / "backpropagation.py").exists()
    assert {"backpropagation.ipynb", "gradient_descent.ipynb"} <= {p.name for p in kit.iterdir()}
    assert (kit / "gradient_descent.ipynb").read_text() == (template / "gradient_descent.ipynb").read_text()
    assert "autograde check --assignment assignment" in (kit / "README.md").read_text()
    assert "autograde grade . --assignment assignment " in (kit / ".github" / "workflows" / "classroom.yml").read_text()
    rubric = tmp_path / "cpu-rubric.toml"
    text = (ROOT / "grader" / "assignment" / "packaged" / ASSIGNMENT / "rubric.toml").read_text()
    rubric.write_text(text[:text.index("[checks.accuracy]")])
    archive = tmp_path / "autograder.zip"
    assert bundle_main(kind="gradescope", out=str(archive), rubric_path=str(rubric), assignment=ASSIGNMENT) == 0
    with zipfile.ZipFile(archive) as unpacked:
        assert "assignment/assignment.toml" in unpacked.namelist()
        unpacked.extractall(tmp_path / "autograder" / "source")
    (tmp_path / "autograder" / "source" / "data").mkdir()  # where setup.sh puts the data it downloads
    upload = {"gradientDescent.ipynb": (REFERENCE_2023 / "gradient_descent.ipynb").read_text(),
              "backpropagation.ipynb": (REFERENCE_2023 / "backpropagation.ipynb").read_text()}
    results = run_autograder((tmp_path / "autograder", autograder[1]), upload)
    assert results["score"] == 85, [(t["name"], t["score"], t["output"][:300]) for t in results["tests"]]
    assert "(assignment 'inf265-2023')" in results["output"] and "gradientDescent.ipynb was graded" in results["output"]


def test_a_declared_year_s_kit_carries_the_template_new_copied(tmp_path):
    """`assignment new --template T` copies T beside the declaration; `bundle student --assignment DIR` ships it."""
    from grader.cli import run

    declared = tmp_path / "year"
    assert run(["assignment", "new", "year", "--solution", str(REFERENCE), "--template", str(ROOT / "student_template"),
                "--out", str(declared)]) == 0
    assert 'template = "template"' in (declared / "assignment.toml").read_text()
    kit = tmp_path / "kit"
    assert bundle_main(kind="student", out=str(kit), assignment=str(declared)) == 0
    for module in ("backpropagation.py", "gradient_descent.py"):
        assert (kit / module).read_text() == (ROOT / "student_template" / module).read_text()
    assert "`backpropagation.py`, `gradient_descent.py`" in (kit / "README.md").read_text()
    assert_no_solution(kit)

"""autograde assignment new / verify: a year's declaration read from its solution, and the proof of it."""
from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.assignment.declaration import load_assignment
from grader.authoring.mutants import MUTATIONS, mutants
from grader.authoring.verify import mutant_rows, solution_step, todo_step
from grader.cli import run
from grader.report.results import CheckResult, Part, Report
from grader.sandbox.graded import is_stub
from tests.catalogue.inf265_2023 import REFERENCE_2023
from tests.support.templates import MNIST_CELL, stubbed

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.usefixtures("shared_fork_server")

YEAR_2027 = Path(__file__).parents[1] / "catalogue" / "year_2027"
GRADED_2023 = ("backpropagation", "load_cifar", "train", "train_manual_update", "compute_accuracy", "MyNet")
GRADED_2027 = ("compute_gradients", "make_datasets", "fit_with_optimizer", "sgd_by_hand", "accuracy_of",
               "Classifier")


@pytest.fixture(scope="module")
def template_2023(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2023 template as its notebooks hand it out: the graded functions stubbed, the MNIST-sized test cell."""
    return stubbed(REFERENCE_2023, tmp_path_factory.mktemp("t") / "template", GRADED_2023,
                   {"backpropagation": [MNIST_CELL]})


@pytest.fixture(scope="module")
def declared_2023(template_2023: Path, tmp_path_factory: pytest.TempPathFactory, shared_fork_server: None) -> Path:
    out = tmp_path_factory.mktemp("declared") / "inf265-2023-new"
    assert run(["assignment", "new", "inf265-2023-new", "--solution", str(REFERENCE_2023), "--template",
                str(template_2023), "--out", str(out)]) == 0
    return out


def _callables(raw: dict) -> dict:
    return {key: (table["module"], table["name"], table.get("kind", "function"), table.get("returns", "nothing"),
                  [(p.get("role", ""), p["name"], p.get("default"), p.get("in_template", True))
                   for p in table.get("parameters", [])])
            for key, table in raw["callables"].items()}


@pytest.mark.slow
def test_new_declares_2023_as_the_shipped_declaration(declared_2023: Path) -> None:
    new = tomllib.loads((declared_2023 / "assignment.toml").read_text())
    shipped = tomllib.loads((load_assignment("inf265-2023").folder / "assignment.toml").read_text())
    assert _callables(new) == _callables(shipped)
    assert new["modules"] == shipped["modules"] and new["globals"] == shipped["globals"]
    assert new["mlp"] == shipped["mlp"]
    assert {k: v for k, v in new["data"].items()} == shipped["data"]
    assert new["network"]["activations"] == shipped["network"]["activations"]
    assert new["network"]["template_widths"] == shipped["network"]["template_widths"]
    assert "# TODO" not in (declared_2023 / "assignment.toml").read_text()


@pytest.mark.slow
def test_new_shows_differences_instead_of_overwriting(declared_2023: Path, template_2023: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    declaration = declared_2023 / "assignment.toml"
    edited = declaration.read_text().replace('split_seed = 123', 'split_seed = 124')
    declaration.write_text(edited)
    try:
        assert run(["assignment", "new", "inf265-2023-new", "--solution", str(REFERENCE_2023), "--template",
                    str(template_2023), "--out", str(declared_2023)]) == 0
        assert declaration.read_text() == edited
        shown = capsys.readouterr().out
        assert "-split_seed = 124" in shown and "+split_seed = 123" in shown
    finally:
        declaration.write_text(edited.replace('split_seed = 124', 'split_seed = 123'))


@pytest.mark.slow
def test_verify_proves_the_2023_declaration(declared_2023: Path, template_2023: Path, tmp_path: Path) -> None:
    summary = tmp_path / "verify.json"
    assert run(["assignment", "verify", str(declared_2023), "--solution", str(REFERENCE_2023), "--template",
                str(template_2023), "--seeds", "265", "1", "--json", str(summary)]) == 0
    result = json.loads(summary.read_text())
    assert [step["passed"] for step in result["steps"]] == [True, True, True, True]
    assert len(result["mutants"]) >= 20 and all(row["caught"] for row in result["mutants"])
    named = [row for row in result["mutants"] if row["expected"]]
    assert len(named) >= 15 and all(row["expected"] in row["diagnosed"] for row in named)


@pytest.mark.slow
def test_a_made_up_year_needs_only_its_todo_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    solution = YEAR_2027
    template = stubbed(solution, tmp_path / "template", GRADED_2027)
    out = tmp_path / "year-2027"
    assert run(["assignment", "new", "year-2027", "--solution", str(solution), "--template", str(template),
                "--out", str(out)]) == 0
    text = (out / "assignment.toml").read_text()
    todos = re.findall(r'# TODO .*write role = "(\w+)" on this line\n\s*\{ name = "(\w+)" \}', text)
    assert sorted(todos) == [("loader", "batches"), ("train_loader", "batches"), ("train_loader", "batches")]
    unanswered = todo_step(out / "assignment.toml")
    assert not unanswered.passed and len(unanswered.lines) == 4, "verify names each unanswered TODO line"
    assert all(re.match(r"  line \d+: .*write role", line) for line in unanswered.lines[1:])
    answered = re.sub(r'(# TODO .*write role = "(\w+)" on this line\n\s*)\{ name =',
                      lambda m: f'{m.group(1)}{{ role = "{m.group(2)}", name =', text)
    (out / "assignment.toml").write_text(answered)
    declared = tomllib.loads(answered)
    assert declared["mlp"]["sizes"] == [3072, 256, 64, 2]
    assert declared["callables"]["train"]["returns"] == "history"
    assert declared["callables"]["backpropagation"]["name"] == "compute_gradients"
    summary = tmp_path / "verify.json"
    assert run(["assignment", "verify", str(out), "--solution", str(solution), "--template", str(template),
                "--seeds", "265", "--json", str(summary)]) == 0, capsys.readouterr().out
    result = json.loads(summary.read_text())
    assert len(result["mutants"]) >= 20 and all(row["caught"] for row in result["mutants"])
    assert result["steps"][0] == {**result["steps"][0], "name": "every TODO line of the declaration is answered",
                                  "passed": True}


@pytest.mark.slow
def test_verify_fails_on_todo_lines_never_answered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every other step passes, yet a TODO line left as `new` wrote it fails verify, named with its line."""
    out = tmp_path / "declared"
    shutil.copytree(load_assignment("default").folder, out)
    text = (out / "assignment.toml").read_text()
    (out / "assignment.toml").write_text(text.replace('[callables.train]\n', '[callables.train]\n# TODO check the '
                                                      'optimizer role\n', 1))
    assert run(["assignment", "verify", str(out), "--solution", "reference", "--seeds", "265"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL  every TODO line of the declaration is answered" in printed
    assert re.search(r"line \d+: check the optimizer role", printed)
    assert "PASS  the solution earns full marks" in printed


@pytest.mark.slow
def test_new_resolves_defaults_that_given_code_computes(tmp_path: Path) -> None:
    """The default template's load_cifar defaults are VAL_FRACTION and SEED, computed in grader/given.py: `new`
    writes their values (what the imported solution holds), and no TODO."""
    out = tmp_path / "default-new"
    assert run(["assignment", "new", "default-new", "--solution", "reference", "--template", "student_template",
                "--out", str(out)]) == 0
    text = (out / "assignment.toml").read_text()
    declared = tomllib.loads(text)
    defaults = {p["name"]: p.get("default") for p in declared["callables"]["load_cifar"]["parameters"]}
    assert defaults["val_fraction"] == "0.1" and defaults["seed"] == "265" and "# TODO" not in text
    assert declared["data"]["split_fraction"] == 0.1 and declared["data"]["split_seed"] == 265
    assert "never calls torch.set_default_dtype" in text


@pytest.mark.slow
def test_verify_fails_a_declaration_that_misses_a_mutant(declared_2023: Path, template_2023: Path,
                                                         tmp_path: Path) -> None:
    """A rubric that gives train nothing cannot catch train's mutants: verify says so and exits 1."""
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(re.sub(r"(\[checks\.train\]\npoints = )\d+", r"\g<1>0",
                             (declared_2023 / "rubric.toml").read_text()))
    summary = tmp_path / "verify.json"
    assert run(["assignment", "verify", str(declared_2023), "--solution", str(REFERENCE_2023), "--rubric",
                str(rubric), "--seeds", "265", "--json", str(summary)]) == 1
    rows = json.loads(summary.read_text())["mutants"]
    assert {r["id"] for r in rows if not r["caught"]} >= {"double_step", "no_step"}


@pytest.mark.parametrize("argv", [
    ["assignment", "new", "x", "--solution", "no/such/folder"],
    ["assignment", "new", "bad name!", "--solution", "."],
    ["assignment", "verify", "no-such-assignment", "--solution", "."],
    ["assignment", "verify", "inf265", "--solution", "no/such/folder"],
    ["assignment", "verify", "inf265", "--solution", ".", "--data-root", ".", "--runs", "2"],
    ["assignment", "verify", "inf265", "--solution", ".", "--rubric", "no/such/rubric.toml"],
    ["assignment", "verify", "inf265", "--solution", ".", "--min-points", "0"],
])
def test_bad_input_exits_2_before_any_work(argv: list[str]) -> None:
    assert run(argv) == 2


def test_every_mutation_changes_the_solution_it_applies_to(tmp_path: Path) -> None:
    made = mutants(REFERENCE_2023, load_assignment("inf265-2023"), tmp_path)
    assert len(made) >= 20
    original = {p.name: p.read_text() for p in REFERENCE_2023.iterdir()}
    for mutant in made:
        changed = [p.name for p in mutant.folder.iterdir() if p.read_text() != original.get(p.name)]
        assert len(changed) == 1, mutant.mutation.id
    assert {m.mutation.id for m in made} <= {m.id for m in MUTATIONS}


def test_inf265_is_the_2023_declaration_under_the_current_name() -> None:
    current, previous = load_assignment("inf265"), load_assignment("inf265-2023")
    assert current.name == "inf265" and current.callables == previous.callables and current.data == previous.data
    assert current.rubric_path == previous.rubric_path


def test_a_template_stub_is_recognised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stubs_module.py").write_text("def stub(model):\n    #TODO\n    return None\n\n"
                                              "def documented(model):\n    \"\"\"Fill model.dL_dw.\"\"\"\n    pass\n\n"
                                              "def real(model):\n    return None if model else 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import stubs_module

    assert is_stub(stubs_module.stub) and is_stub(stubs_module.documented) and not is_stub(stubs_module.real)


@pytest.mark.slow
def test_verify_calibrates_on_the_solutions_own_trainings(tmp_path: Path) -> None:
    """With data, verify trains the solution --runs times per function, as the accuracy stage does (small data
    here, 3 epochs: the spread is too wide for a threshold, and verify says so rather than writing one)."""
    from grader.data.fixtures import write_fixture

    data = write_fixture(tmp_path / "data", "imagefolder", per_class=(30, 15)).root
    declaration = tmp_path / "declaration"
    shutil.copytree(load_assignment("inf265-2023").folder, declaration)
    rubric = declaration / "rubric.toml"
    rubric.write_text(rubric.read_text().replace("epochs = 30", "epochs = 2"))
    summary = tmp_path / "verify.json"
    assert run(["assignment", "verify", str(declaration), "--solution", str(REFERENCE_2023), "--seeds", "265",
                "--data-root", str(data), "--runs", "3", "--json", str(summary)]) == 0
    calibration = json.loads(summary.read_text())["calibration"]
    assert {name: len(values) for name, values in calibration["accuracies"].items()} == \
        {"train": 3, "train_manual_update": 3}
    assert all(0 <= a <= 1 for values in calibration["accuracies"].values() for a in values)


def test_a_calibrated_threshold_is_written_into_the_rubric(tmp_path: Path) -> None:
    from grader.authoring.calibration import Calibration, write_full_credit

    rubric = tmp_path / "rubric.toml"
    rubric.write_text((load_assignment("inf265-2023").rubric_path).read_text())
    found = Calibration("cuda", 30, {"train": [0.84] * 20, "train_manual_update": [0.84] * 20}, full_credit=0.69,
                        bound=4e-5)
    assert write_full_credit(rubric, found)
    settings = tomllib.loads(rubric.read_text())["checks"]["accuracy"]
    assert settings["full_credit"] == 0.69 and settings["partial_credit"] == 0.64
    assert "40 trainings on cuda, false-fail bound 4.0e-05" in rubric.read_text()


def test_a_mutation_reaches_into_the_helpers_a_function_calls(tmp_path: Path) -> None:
    """The default solution trains in a helper (``_fit``) and updates with ``p.add_(g, alpha=-lr)``: the losses'
    mutation is made there, the update's in the functional form."""
    made = {m.mutation.id: m for m in mutants(Path(__file__).parents[2] / "reference", load_assignment("default"),
                                               tmp_path)}
    assert len(made) >= 20
    assert made["train_loss_summed"].name == "train (in _fit)"
    assert {"ascent", "decay_sign", "double_update"} <= set(made)


SAMPLE_2023 = ("reference", "renamed parameters", "momentum buffer reset every epoch", "a missing ReLU",
               "a .py upload importing the course's helper", "backpropagation written as a method of MyNet",
               "a stubbed manual update beside a right backpropagation", "the momentum's sign flipped",
               "bias gradient squeezed at width 1", "train returns the last batch loss")


@pytest.mark.slow
def test_a_one_sample_solution_is_declared_from_what_it_passes_and_grades_a_class_as_the_packaged_one(tmp_path):
    """The course's style of solution: a backward pass written for one sample, the course's test helper beside the
    notebooks. `new` then `verify` with no edit: max_batch = 1, no mini-batch check, the helper stood in for; graded
    with that declaration, a sample of the 2023 class gets the same share of every check as with inf265-2023."""
    from grader.commands.batch import batch_main
    from grader.options import GradingOptions
    from tests.catalogue.inf265_2023 import BY_NAME, CPU_CHECKS

    solution = BY_NAME["backpropagation for one sample, by rows"].write(tmp_path / "solution")
    (solution / "tests_backpropagation.py").write_text("def main_test(backpropagation, model, **kwargs):\n    pass\n")
    out = tmp_path / "declared"
    assert run(["assignment", "new", "y2023", "--solution", str(solution), "--out", str(out)]) == 0
    declared = tomllib.loads((out / "assignment.toml").read_text())
    assert declared["network"]["max_batch"] == 1 and declared["helpers"] == ["tests_backpropagation"]
    assert "[checks.backpropagation_mini_batch]" not in (out / "rubric.toml").read_text()
    assert run(["assignment", "verify", str(out), "--solution", str(solution), "--seeds", "265"]) == 0
    uploads = tmp_path / "uploads"
    for name in SAMPLE_2023:
        BY_NAME[name].write(uploads / name.replace(" ", "_"))
    shares = {}
    for assignment in ("inf265-2023", str(out)):
        gradebook = tmp_path / f"gradebook-{len(shares)}"
        checks = tuple(c for c in CPU_CHECKS if c != "signatures")
        assert batch_main(submissions=str(uploads), out=str(gradebook), workers=2,
                          options=GradingOptions(assignment=assignment, checks=checks)) == 0
        shares[assignment] = {entry.name: {r["name"]: round(r["score"] / r["max_score"], 6) for r in
                                           json.loads((entry / "state.json").read_text())["report"]["results"]
                                           if r["max_score"]} for entry in gradebook.iterdir() if entry.is_dir()}
    assert shares["inf265-2023"] == shares[str(out)]


class _Run:
    """A stand-in for verify's Grader: a rubric of ``checks`` (name -> the callable it grades), each folder graded
    as ``scores`` says (check name -> score out of 10)."""

    def __init__(self, checks: dict[str, str], scores: dict[str, dict[str, float]]):
        self.rubric = SimpleNamespace(checks=[SimpleNamespace(name=n, check=SimpleNamespace(grades=(key,)),
                                                              settings=SimpleNamespace(points=10))
                                              for n, key in checks.items()])
        self.scores, self.calls = scores, []

    def __call__(self, folder: Path, *, seed: int | None = None, checks: tuple[str, ...] = ()) -> Report:
        self.calls.append((folder.name, seed, checks))
        marks = self.scores[folder.name]
        return Report(str(folder), [CheckResult(n, n, 10, (Part.ok("a", weight=s), Part.fail("b", "x", weight=10 - s)))
                                    for n, s in marks.items() if not checks or n in checks])


def test_a_mutant_counts_only_on_checks_the_solution_passes() -> None:
    """A check the solution fails too cannot tell a mutant apart: it is not run, and the mutant is not caught."""
    run = _Run({"backprop": "backpropagation", "train": "train"},
               {"solution": {"backprop": 10, "train": 4}, "m1": {"backprop": 3, "train": 0},
                "m2": {"backprop": 10, "train": 0}})
    baseline = run(Path("solution"), seed=7)
    made = [SimpleNamespace(name=key, folder=Path(name), mutation=SimpleNamespace(key=key, id=name, description="",
                                                                                diagnosis=None))
            for name, key in (("m1", "backpropagation"), ("m2", "train"))]
    first, second = mutant_rows(run, made, baseline, seed=7)  # type: ignore[arg-type]
    assert (first.caught, first.lost, first.checks) == (True, 7, "backprop")
    assert (second.caught, second.checks) == (False, "none the solution passes")
    assert run.calls[1:] == [("m1", 7, ("backprop",))]


def test_verify_fails_a_solution_graded_on_too_few_points() -> None:
    """Full marks on nothing (0/0: no check could run) is not a proof."""
    step, _ = solution_step(_Run({}, {"solution": {}}), Path("solution"), (1, 2))  # type: ignore[arg-type]
    assert not step.passed and "only 0 point(s) graded, fewer than --min-points 1" in step.lines[-1]
    run = _Run({"backprop": "backpropagation"}, {"solution": {"backprop": 10}})
    assert solution_step(run, Path("solution"), (1,), min_points=10)[0].passed  # type: ignore[arg-type]
    assert not solution_step(run, Path("solution"), (1,), min_points=50)[0].passed  # type: ignore[arg-type]


def test_a_notebook_that_imports_the_py_of_its_name_leaves_the_py_as_the_module(tmp_path: Path) -> None:
    from grader.authoring.sources import read_folder

    def notebook(*cells: str) -> str:
        return json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells], "nbformat": 4})

    (tmp_path / "layers.py").write_text("def affine_backward(dout, cache):\n    return dout\n")
    (tmp_path / "layers.ipynb").write_text(notebook("from layers import affine_backward", "affine_backward(1, 2)"))
    assert read_folder(tmp_path)["layers"].path.name == "layers.py"
    (tmp_path / "layers.ipynb").write_text(notebook("def affine_backward(dout, cache):\n    return 2 * dout"))
    assert read_folder(tmp_path)["layers"].path.name == "layers.ipynb"

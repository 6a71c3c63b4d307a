"""autograde similarity: disguised copies are found as the top match of their source, in the class and against
earlier years (folders and zips), notebooks and .py files compare alike, and independent correct solutions of the
same function stay below the threshold."""
from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.assignment.declaration import load_assignment
from grader.commands import EXIT_BAD_INPUT
from grader.commands.batch import batch_main
from grader.commands.similarity import similarity_main
from grader.options import GradingOptions
from grader.similarity import extract
from grader.similarity.scores import THRESHOLD, compare, fingerprints
from tests.catalogue import REFERENCE, TEMPLATE, write_submission
from tests.catalogue import correct as catalogue
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.catalogue.correct import BY_NAME as CORRECT
from tests.support.disguise import disguise

SOURCES = ("einsum and per-sample loops", "momentum buffer initialised with zeros", "lots of printing",
           "torchvision transforms with published constants", "layers created last to first, functional update",
           "update subtracted as p.sub_(lr * d_p)")
BUGS = ("momentum ignored", "derivative taken at a instead of z", "grad_check reports the absolute error")
REWRITE = ("gradient_descent", "def compute_accuracy(model, loader, device=None):\n    hits = total = 0\n"
           "    for x, y in loader:\n        hits += int((model(x).argmax(1) == y).sum())\n        total += len(y)\n"
           "    return hits / total\n")
DISGUISES = ("renamed", "notebook", "rewritten")
"""renamed: every local name changed, definitions reversed, comments changed, re-indented; notebook: the same, as
notebooks split into cells; rewritten: one function written anew, the rest verbatim."""


def scores(out: Path) -> dict[str, list[tuple[float, str]]]:
    """Each submission's overall scores with every other, highest first."""
    found: dict[str, list[tuple[float, str]]] = {}
    with open(out / "similarity.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["unit"] == "(all)":
                found.setdefault(row["first"], []).append((float(row["score"]), row["second"]))
                found.setdefault(row["second"], []).append((float(row["score"]), row["first"]))
    return {name: sorted(pairs, reverse=True) for name, pairs in found.items()}


@pytest.fixture(scope="module")
def disguised(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A class of catalogue submissions and a disguised copy of each; copy name -> source name."""
    root = tmp_path_factory.mktemp("similarity")
    copies = {}
    entries = [CORRECT[name] for name in SOURCES] + [BUGGY[name] for name in BUGS]
    for index, entry in enumerate(entries):
        source = entry.name.replace(" ", "_")
        entry.write(root / "class" / source)
        how = DISGUISES[index % len(DISGUISES)]
        copy = f"copy_{how}_of_{source}"
        disguise(root / "class" / source, root / "class" / copy, how, REWRITE if how == "rewritten" else None)
        copies[copy] = source
    assert similarity_main(submissions=str(root / "class"), out=str(root / "out")) == 0
    return root, copies


def test_every_disguised_copy_has_its_source_as_top_match(disguised):
    root, copies = disguised
    found = scores(root / "out")
    for copy, source in copies.items():
        best_score, best = found[copy][0]
        assert best == source and best_score >= THRESHOLD, (copy, found[copy][:3])
    html = (root / "out" / "similarity.html").read_text()
    assert "<mark>" in html and "data:image/png;base64," in html


def test_independent_solutions_of_a_function_stay_below_the_threshold(tmp_path):
    assignment = load_assignment(None)
    boilerplate = extract.template_code(TEMPLATE, assignment)
    reference = extract.submission("reference", REFERENCE, assignment, boilerplate)
    independent = {"backpropagation": catalogue.EINSUM_LOOPS, "train_manual_update": catalogue.ZERO_BUFFER,
                   "load_cifar": catalogue.TRANSFORMS_LOADER, "mlp": catalogue.REVERSED_LAYERS_FUNCTIONAL_UPDATE}
    module = {"backpropagation": "backpropagation"}
    for key, code in independent.items():
        folder = write_submission(tmp_path / key, append={module.get(key, "gradient_descent"): code})
        other = extract.submission(key, folder, assignment, boilerplate)
        pair = compare("reference", key, {key: fingerprints(reference)[key]}, {key: fingerprints(other)[key]})
        assert pair.score < THRESHOLD / 2, (key, pair.units)


def test_a_notebook_and_its_py_twin_compare_as_the_same_code(tmp_path):
    assignment = load_assignment(None)
    notebook = disguise(REFERENCE, tmp_path / "notebook", "notebook")
    as_py = extract.submission("py", REFERENCE, assignment, {})
    as_notebook = extract.submission("ipynb", notebook, assignment, {})
    assert set(as_py.units) == set(as_notebook.units)
    assert compare("py", "ipynb", fingerprints(as_py), fingerprints(as_notebook)).score == pytest.approx(1.0)


def test_a_copy_of_an_earlier_year_is_found_in_its_zip(tmp_path, disguised):
    root, copies = disguised
    earlier = tmp_path / "2025"
    earlier.mkdir()
    source = next(iter(copies.values()))
    with zipfile.ZipFile(earlier / "alumnus.zip", "w") as archive:
        for path in (root / "class" / source).iterdir():
            archive.write(path, f"nested/{path.name}")
    shutil.copytree(root / "class" / source, tmp_path / "class" / "student")
    write_submission(tmp_path / "class" / "honest")
    assert similarity_main(submissions=str(tmp_path / "class"), against=(str(earlier),), out=str(tmp_path / "out")) == 0
    assert scores(tmp_path / "out")["student"][0] == (pytest.approx(1.0), "2025/alumnus")


@pytest.mark.slow
def test_the_batch_gradebook_gets_each_students_closest_match(tmp_path, disguised):
    root, copies = disguised
    copy, source = next(iter(copies.items()))
    for name in (copy, source):
        shutil.copytree(root / "class" / name, tmp_path / "class" / name)
    out = tmp_path / "out"
    assert batch_main(submissions=str(tmp_path / "class"), out=str(out), workers=1,
                      options=GradingOptions(checks=("interface",), skip_accuracy=True)) == 0
    assert similarity_main(submissions=str(tmp_path / "class"), out=str(out)) == 0
    with open(out / "grades.csv", encoding="utf-8") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert rows[copy]["similar_to"] == source and float(rows[copy]["similarity"]) >= THRESHOLD
    assert "## Code similarity" in (out / "summary.md").read_text()


def test_bad_input_is_refused_before_any_work(tmp_path, capsys):
    assert similarity_main(submissions=str(tmp_path / "missing"), out=str(tmp_path / "out")) == EXIT_BAD_INPUT
    assert "no such folder" in capsys.readouterr().err
    assert similarity_main(submissions=str(tmp_path), out=str(tmp_path / "out"), threshold=1.5) == EXIT_BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_the_score_matrix_is_every_pair_score(disguised):
    from grader.similarity.scores import pair_score, score_matrix

    root, _ = disguised
    assignment = load_assignment(None)
    prints = [fingerprints(extract.submission(p.name, p, assignment, {})) for p in sorted((root / "class").iterdir())]
    matrix = score_matrix(prints[:5], prints)
    for i in range(5):
        for j, other in enumerate(prints):
            assert matrix[i, j].item() == pytest.approx(pair_score(prints[i], other), abs=1e-9)

"""The rubric file: defaults, validation with messages that say what to fix."""
from __future__ import annotations

import pytest

from grader.assignment.declaration import load_assignment, packaged_names
from grader.checks import builtin_checks
from grader.checks.rubric import DEFAULT_SEED, Limits, RubricError, load_rubric, read_rubric


def points(rubric) -> float:
    return sum(spec.points for spec in rubric.checks)


@pytest.mark.parametrize("assignment", packaged_names())
def test_each_packaged_rubric_loads_and_gives_100_points(assignment):
    rubric = load_rubric(load_assignment(assignment).rubric_path)
    assert points(rubric) == 100 and {spec.name for spec in rubric.checks} <= set(builtin_checks())


def test_default_rubric_has_every_check_but_the_optional_signatures():
    rubric = load_rubric()
    assert {spec.name for spec in rubric.checks} == set(builtin_checks()) - {"signatures"}
    assert points(rubric) == 100
    examples = [rubric.spec(name).settings.examples
                for name in ("backpropagation_one_sample", "backpropagation_mini_batch")]
    assert sum(examples) >= 200
    assert rubric.limits.memory_mb <= 4096


@pytest.mark.parametrize("text, fragment", [
    ("[checks.nonsense]\npoints = 1",
     "unknown check in [checks.nonsense]: the grader declares no check named 'nonsense'"),
    ("[checks.train]\nexamples = 3", "unknown key(s) ['examples'] in [checks.train]"),
    ("[checks.toy]\nmodule = 'no.such.module'", "[checks.toy] module = 'no.such.module' cannot be imported"),
    ("[limits]\nmemory = 1", "unknown key(s) ['memory'] in [limits]"),
    ("[limits]\nmemory_mb = 'lots'", "[limits] memory_mb must be a number (int), got 'lots'"),
    ("[checks.accuracy]\nfull_credit = 'high'", "full_credit must be a number (float)"),
    ("this is = not toml =", "not valid TOML"),
    ("[limits]\nmemory_mb = 2.5", "[limits] memory_mb must be a whole number, got 2.5"),
    ("[checks.train_manual_update]\nexamples = 1.5", "[checks.train_manual_update] examples must be a whole number"),
    ("[limits]\ncheck_seconds = true", "[limits] check_seconds must be a number"),
    ("seed = 'x'", "seed must be a number"),
])
def test_bad_rubrics_are_explained_naming_the_key(tmp_path, text, fragment):
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(RubricError) as error:
        load_rubric(path)
    assert fragment in str(error.value)


def test_missing_rubric_file(tmp_path):
    with pytest.raises(RubricError, match="does not exist"):
        load_rubric(tmp_path / "nope.toml")


def test_partial_rubric_keeps_only_named_checks(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text("seed = 1\n[checks.train]\npoints = 7\n[checks.accuracy]\npoints = 3\nepochs = 2\n")
    rubric = load_rubric(path)
    assert [s.name for s in rubric.checks] == ["train", "accuracy"] and points(rubric) == 10
    assert rubric.spec("accuracy").settings.epochs == 2 and rubric.seed == 1


def test_numbers_keep_their_declared_type(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text("[limits]\ncheck_seconds = 2.5\nmemory_mb = 2048.0\n"
                    "[checks.train]\npoints = 2.5\n[checks.accuracy]\npoints = 7.5\nseconds = 0.5\n")
    rubric = load_rubric(path)
    assert rubric.limits.check_seconds == 2.5 and rubric.limits.memory_mb == 2048
    assert isinstance(rubric.limits.memory_mb, int)
    assert rubric.spec("train").points == 2.5 and rubric.spec("accuracy").points == 7.5
    assert rubric.spec("accuracy").settings.seconds == 0.5



@pytest.mark.parametrize("assignment", packaged_names())
def test_a_packaged_rubric_says_nothing_its_settings_classes_do_not(assignment):
    """Each default is written once, in a check's settings dataclass: a packaged rubric may change a value only
    for its own assignment (then it says so here), never restate a default differently."""
    overrides = {"inf265-2023": {("backpropagation_one_sample", "points"): 35.0, ("train", "points"): 15.0,
                                 ("train_manual_update", "points"): 20.0}}
    path = load_assignment(assignment).rubric_path
    overrides = overrides.get(path.parent.name, {})  # inf265 extends inf265-2023: its rubric is that one
    raw, rubric = read_rubric(path), load_rubric(path)
    for spec in rubric.checks:
        default = spec.check.settings()
        for key, value in raw["checks"][spec.name].items():
            assert value == overrides.get((spec.name, key), getattr(default, key)), (spec.name, key)
    for key, value in raw.get("limits", {}).items():
        assert value == getattr(Limits(), key), key
    assert raw.get("seed", DEFAULT_SEED) == DEFAULT_SEED

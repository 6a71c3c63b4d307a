"""The reference experiment command and the GPU measurement script (dry-run on CPU, one epoch)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grader.data.fixtures import write_fixture
from reference import experiment
from tests.support.grading import ROOT


def test_experiment_writes_table_json_and_curves(tmp_path):
    fixture = write_fixture(tmp_path / "data", "imagefolder", seed=1, per_class=(40, 10), others=(0, 0))
    lines = []
    result = experiment.main(data_root=fixture.root, out=tmp_path / "out", epochs=2, batch_size=16,
                             sweep=experiment.SWEEP[:2], log=lines.append)
    assert len(result["rows"]) == 2 and 0 <= result["test_acc"] <= 1
    assert all(row["max_loss_difference"] <= 1e-6 for row in result["rows"])
    assert (tmp_path / "out" / "curves_sgd.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "experiment.json").read_text())["best"] == result["best"]
    assert any("best by validation accuracy" in line for line in lines)


def test_experiment_without_data_says_how_to_point_at_it(tmp_path):
    command = [sys.executable, "-m", "reference.experiment", "--data-root", str(tmp_path / "missing")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "--data-root" in result.stderr and "cifar-10-batches-py" in result.stderr


@pytest.mark.slow
def test_gpu_measurement_script_dry_run_on_cpu(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import gpu_measurements

    data = write_fixture(tmp_path / "data", "imagefolder", per_class=(40, 10)).root
    results = gpu_measurements.main(data_root=str(data), device="cpu", epochs=1, out=str(tmp_path),
                                    parts=("concurrency", "calibration", "stage", "verify2023"), seeds=1, levels=(2,),
                                    concurrency_size=2, configurations=1)
    assert results["stage"]["accuracy_stage"]["max_score"] == 15
    assert results["stage"]["speedup_device_resident_vs_plain"] > 0
    assert results["calibration"]["rows"][0]["submission"] == "reference"
    assert results["calibration"]["summary"]["too_few_runs"]
    assert results["concurrency"][2]["submissions_per_minute"] > 0
    assert {name: len(values) for name, values in results["verify2023"]["accuracies"].items()} == \
        {"train": 1, "train_manual_update": 1}
    assert (tmp_path / "gpu_measurements.json").is_file()


def test_the_benchmark_class_holds_every_kind_of_submission_and_one_endless_loop(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_batch

    kinds = bench_batch.make_class(tmp_path / "class", size=100)
    assert len(kinds) == 100 and len(list((tmp_path / "class").iterdir())) == 100
    assert set(kinds.values()) == {"correct", "buggy", "hostile", "reference", "template"}
    assert sum("endless" in name for name in kinds) == 1

"""Every GPU measurement the project reports, in one run (also runs on CPU, small, as a dry run).

    python benchmarks/gpu_measurements.py --data-root DIR [--device cuda] [--out DIR] [--parts ...]

Parts (all by default, in this order; about 8 minutes on one H100/H200):
1. ``class``: the batch of 100 catalogue submissions (benchmarks/bench_batch.py) with the accuracy stage on the
   device, ``--workers`` grader processes at once; every correct-catalogue submission's score is in it.
2. ``concurrency``: a batch of correct submissions (accuracy stage only) at 1, 2, 4, 8 grader processes:
   submissions per minute, to see where the GPU saturates.
3. ``calibration``: the reference's accuracy stage at 20 seeds on the device (benchmarks/calibrate_accuracy.py).
4. ``stage``: one accuracy stage of the reference (training seconds inside the worker), the reference
   experiment with device-resident data, and the same with a plain DataLoader moving each batch (the ratio).
5. ``verify2023``: ``autograde assignment verify``'s calibration of the course's 2023 solution
   (tests/catalogue/reference_inf265_2023, float64) on the device: its trainings and the full_credit they allow.
Prints each part's JSON as it finishes and writes everything to OUT/gpu_measurements.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_batch
import calibrate_accuracy
import torch
from torch import nn

from grader.assignment.declaration import load_assignment
from grader.authoring.calibration import calibrate
from grader.batch.gradebook import load_states
from grader.checks.accuracy import reached
from grader.checks.rubric import load_rubric
from grader.checks.run import grade
from grader.commands.batch import batch_main
from grader.options import GradingOptions, GradingSetup
from reference import experiment
from reference.gradient_descent import MyMLP, load_cifar, train, train_manual_update
from tests.catalogue.correct import CORRECT
from tests.catalogue.inf265_2023 import REFERENCE_2023

PARTS = ("class", "concurrency", "calibration", "stage", "verify2023")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rubric_with_epochs(epochs: int, out: Path) -> str | None:
    """A rubric file whose accuracy stage trains ``epochs`` epochs (None: the packaged rubric, 30 epochs)."""
    if epochs == load_rubric().spec("accuracy").settings.epochs:
        return None
    path = out / f"rubric-{epochs}-epochs.toml"
    text = (ROOT / "grader" / "assignment" / "packaged" / "default" / "rubric.toml").read_text()
    text = text.replace("epochs = 30", f"epochs = {epochs}")
    path.write_text(text)
    return str(path)


def whole_class(data_root: Path, device: str, workers: int, size: int, out: Path, rubric: str | None) -> dict:
    result = bench_batch.main(workers=workers, size=size, out=str(out / "class"), device=device,
                              data_root=str(data_root), rubric_path=rubric)
    states = load_states(out / "class")
    result["correct_catalogue_scores"] = {name: state["report"]["score"] for name, state in states.items()
                                          if "-correct-" in name or "-reference-" in name}
    return result


def concurrency(data_root: Path, device: str, levels=(1, 2, 4, 8), size: int = 8, rubric: str | None = None) -> dict:
    """Submissions per minute for the accuracy stage alone at several numbers of grader processes."""
    workdir = Path(tempfile.mkdtemp(prefix="gpu-concurrency-"))
    for index in range(size):
        CORRECT[index % len(CORRECT)].write(workdir / "class" / f"s{index:02d}")
    rates = {}
    for workers in levels:
        out = workdir / f"out{workers}"
        started = time.perf_counter()
        options = GradingOptions(device=device, data_root=str(data_root), checks=("accuracy",), rubric=rubric)
        assert batch_main(submissions=str(workdir / "class"), out=str(out), options=options, workers=workers) == 0
        seconds = time.perf_counter() - started
        rates[workers] = {"seconds": seconds, "submissions_per_minute": 60 * size / seconds}
        print(json.dumps({"workers": workers, **rates[workers]}), flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    return rates


def calibration(data_root: Path, device: str, seeds: int, epochs: int) -> dict:
    chosen = list(calibrate_accuracy.DEFAULT_SEEDS)[:seeds]
    result = calibrate_accuracy.main(data_root=str(data_root), device=device, seeds=chosen, submissions=[],
                                     log=lambda text: None, epochs=epochs)
    return {"rows": result["rows"], "summary": result["summary"]}


def accuracy_stage(data_root: Path, device: str, epochs: int) -> dict:
    rubric = load_rubric().only("accuracy").configure("accuracy", epochs=epochs)
    started = time.perf_counter()
    result = grade(ROOT / "reference", rubric, options=GradingSetup(device=device, data_root=data_root)).results[0]
    return {"score": result.score, "max_score": result.max_score, "wall_seconds_with_process_start":
            time.perf_counter() - started, **{f"{function}_{key}": value for function, run in reached(result).items()
                                              for key, value in run.items()}}


def reference_experiment(data_root: Path, device: str, epochs: int, out: Path, sweep) -> dict:
    started = time.perf_counter()
    result = experiment.main(data_root=data_root, out=out / "experiment", epochs=epochs, device=device,
                             sweep=sweep, log=lambda text: None)
    training = sum(row["seconds"] for row in result["rows"])
    return {"wall_seconds": time.perf_counter() - started, "training_seconds": training,
            "test_acc": result["test_acc"], "best": result["best"]}


def plain_experiment(data_root: Path, device: str, epochs: int, sweep) -> dict:
    """The sweep with a CPU DataLoader and per-batch .to(device): what a straightforward solution does."""
    device = torch.device(device)
    train_set, val_set, _ = load_cifar(data_root)
    loader = torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=False)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=256, shuffle=False)
    training = 0.0
    for momentum, weight_decay in sweep:
        torch.manual_seed(265)
        for manual in (False, True):
            model = MyMLP().to(device)
            _sync(device)
            started = time.perf_counter()
            if manual:
                train_manual_update(epochs, model, nn.CrossEntropyLoss(), loader, 0.01, momentum, weight_decay,
                                    val_loader, device)
            else:
                optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=momentum, weight_decay=weight_decay)
                train(epochs, optimizer, model, nn.CrossEntropyLoss(), loader, val_loader, device)
            _sync(device)
            training += time.perf_counter() - started
    return {"training_seconds": training}


def verify_2023(data_root: Path, device: str, runs: int, epochs: int) -> dict:
    """The 2023 solution's trainings as ``assignment verify --data-root --device`` runs them, and the threshold."""
    declared = load_assignment("inf265-2023")
    rubric = load_rubric(declared.rubric_path)
    rubric = rubric.configure("accuracy", epochs=epochs) if epochs != rubric.spec("accuracy").settings.epochs \
        else rubric
    found = calibrate(REFERENCE_2023, declared, rubric, data_root, device=device, runs=runs)
    return {**dataclasses.asdict(found), "lines": found.lines()}


def stage(data_root: Path, device: str, epochs: int, out: Path, sweep=experiment.SWEEP) -> dict:
    results = {"accuracy_stage": accuracy_stage(data_root, device, epochs),
               "reference_experiment": reference_experiment(data_root, device, epochs, out, sweep),
               "plain_experiment": plain_experiment(data_root, device, epochs, sweep)}
    results["speedup_device_resident_vs_plain"] = (results["plain_experiment"]["training_seconds"] /
                                                   results["reference_experiment"]["training_seconds"])
    return results


def main(*, data_root: str, device: str = "cuda", epochs: int = 30, out: str = "gpu-out", parts=PARTS,
         workers: int = 8, size: int = 100, seeds: int = 20, levels=(1, 2, 4, 8), concurrency_size: int = 8,
         configurations: int | None = None) -> dict:
    root, out_dir = Path(data_root).resolve(), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rubric = rubric_with_epochs(epochs, out_dir)
    info = {"device": device, "epochs": epochs, "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None}
    results = {"info": info}
    runners = {"class": lambda: whole_class(root, device, workers, size, out_dir, rubric),
               "concurrency": lambda: concurrency(root, device, levels, concurrency_size, rubric),
               "calibration": lambda: calibration(root, device, seeds, epochs),
               "stage": lambda: stage(root, device, epochs, out_dir, experiment.SWEEP[:configurations]),
               "verify2023": lambda: verify_2023(root, device, seeds, epochs)}
    for part in parts:
        started = time.perf_counter()
        results[part] = runners[part]()
        results[part + "_wall_seconds"] = time.perf_counter() - started
        print(json.dumps({part: results[part]}, default=str)[:4000], flush=True)
        (out_dir / "gpu_measurements.json").write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("CIFAR_ROOT", ".gpu-data/cifar10-airplane-bird"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu-out"))
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--workers", type=int, default=8, help="grader processes for the class of 100")
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    main(data_root=args.data_root, device=args.device, epochs=args.epochs, out=args.out, parts=args.parts,
         workers=args.workers, size=args.size, seeds=args.seeds)

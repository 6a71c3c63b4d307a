"""Every GPU measurement the project reports, in one run (also runs on CPU for a dry run).

    python benchmarks/gpu_measurements.py --data-root DIR [--device cuda] [--epochs 30] [--out DIR]

1. The accuracy stage for one submission (the reference), through the real pipeline and sandbox:
   training + evaluation seconds inside the worker (process start excluded), for train and train_manual_update.
2. The reference experiment (6 configurations x train and train_manual_update) with device-resident data.
3. The same experiment as a plain implementation would run it: a CPU torch DataLoader over the normalised
   tensors, each batch moved with .to(device). The ratio 3 / 2 is the speed-up of device-resident data.
Prints one JSON object (and writes it to OUT/gpu_measurements.json).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from grader.pipeline import grade  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from reference import experiment  # noqa: E402
from reference.gradient_descent import MyMLP, load_cifar, train, train_manual_update  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def accuracy_stage(data_root: Path, device: str, epochs: int) -> dict:
    rubric = load_rubric()
    only = dataclasses.replace(rubric, accuracy=dataclasses.replace(rubric.accuracy, epochs=epochs),
                               checks=tuple(s for s in rubric.checks if s.name == "accuracy"))
    started = time.perf_counter()
    result = grade(ROOT / "reference", only, device=device, data_root=data_root).results[0]
    details = {name: result.details[name] for name in ("train", "manual")}
    return {"score": result.score, "max_score": result.max_score, "wall_seconds_with_process_start":
            time.perf_counter() - started, **{f"{k}_{m}": v[m] for k, v in details.items()
                                              for m in ("accuracy", "train_seconds", "seconds")}}


def reference_experiment(data_root: Path, device: str, epochs: int, out: Path) -> dict:
    started = time.perf_counter()
    result = experiment.main(data_root=data_root, out=out / "experiment", epochs=epochs, device=device,
                             log=lambda text: None)
    training = sum(row["seconds"] for row in result["rows"])
    return {"wall_seconds": time.perf_counter() - started, "training_seconds": training,
            "test_acc": result["test_acc"], "best": result["best"]}


def plain_experiment(data_root: Path, device: str, epochs: int) -> dict:
    """The sweep with a CPU DataLoader and per-batch .to(device): what a straightforward solution does."""
    device = torch.device(device)
    train_set, val_set, _ = load_cifar(data_root)
    loader = torch.utils.data.DataLoader(train_set, batch_size=256, shuffle=False)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=256, shuffle=False)
    training = 0.0
    for momentum, weight_decay in experiment.SWEEP:
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


def main(*, data_root: str, device: str = "cuda", epochs: int = 30, out: str = "gpu-out") -> dict:
    root, out_dir = Path(data_root).resolve(), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {"device": device, "epochs": epochs, "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None}
    results = {"info": info, "accuracy_stage": accuracy_stage(root, device, epochs)}
    print(json.dumps(results["accuracy_stage"]), flush=True)
    results["reference_experiment"] = reference_experiment(root, device, epochs, out_dir)
    print(json.dumps(results["reference_experiment"]), flush=True)
    results["plain_experiment"] = plain_experiment(root, device, epochs)
    results["speedup_device_resident_vs_plain"] = (results["plain_experiment"]["training_seconds"] /
                                                   results["reference_experiment"]["training_seconds"])
    text = json.dumps(results, indent=2)
    (out_dir / "gpu_measurements.json").write_text(text)
    print(text)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("CIFAR_ROOT", ".gpu-data/cifar10-airplane-bird"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu-out"))
    args = parser.parse_args()
    main(data_root=args.data_root, device=args.device, epochs=args.epochs, out=args.out)

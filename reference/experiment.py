"""The assignment's experiment with the reference solution: sweep, select by validation accuracy, test.

    python -m reference.experiment --data-root ../shared/data/cifar10-airplane-bird [--out results]

Every configuration is trained twice from the same initial weights: with ``train`` and ``torch.optim.SGD``,
and with ``train_manual_update``; the table shows how far apart the two loss curves are.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from grader.data.cifar import TensorLoader
from grader.data.locations import resolve_data_root
from grader.given import SEED, plot_history
from reference.gradient_descent import MyMLP, compute_accuracy, load_cifar, train, train_manual_update

SWEEP = ((0.0, 0.0), (0.0, 0.01), (0.9, 0.0), (0.9, 0.01), (0.9, 0.001), (0.8, 0.01))
"""(momentum, weight decay) pairs of the assignment, all at lr 0.01."""


def main(*, data_root=None, out="results", epochs=30, batch_size=256, lr=0.01, sweep=SWEEP,
         device="auto", seed=SEED, log=print) -> dict:
    """Run the sweep; return (and write to ``out``/experiment.json) the table, the selection and the test accuracy."""
    device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                          "cpu" if device == "auto" else device)
    root = resolve_data_root(data_root)
    if root is None:
        raise FileNotFoundError("No data folder given: pass --data-root DIR or set CIFAR_ROOT.")
    started = time.perf_counter()
    train_set, val_set, test_set = load_cifar(root, seed=seed)
    loaders = {name: TensorLoader(*(t.to(device) for t in data.tensors), batch_size)
               for name, data in (("train", train_set), ("val", val_set), ("test", test_set))}
    log(f"data: {len(train_set)} train / {len(val_set)} val / {len(test_set)} test images from {root} "
        f"({time.perf_counter() - started:.1f} s); device {device}")
    rows, histories, models = [], {}, {}
    for momentum, weight_decay in sweep:
        name = f"lr={lr} m={momentum} wd={weight_decay}"
        row, sgd_model, pair = _train_pair(name, loaders, lr, momentum, weight_decay, epochs, device, seed)
        rows.append(row)
        histories.update(pair)
        models[name] = sgd_model
        log(f"[{len(rows)}/{len(sweep)}] {name}: train {row['train_acc']:.4f} val {row['val_acc']:.4f} "
            f"max|loss SGD - manual| {row['max_loss_difference']:.2e} ({row['seconds']:.1f} s)")
    best = max(rows, key=lambda r: r["val_acc"])
    test_acc = compute_accuracy(models[best["name"]], loaders["test"], device)
    result = {"rows": rows, "best": best["name"], "test_acc": test_acc, "epochs": epochs, "batch_size": batch_size,
              "seed": seed, "device": str(device), "torch": torch.__version__,
              "seconds": time.perf_counter() - started}
    _write(Path(out), result, histories)
    log(format_table(rows))
    log(f"best by validation accuracy: {best['name']}; test accuracy {test_acc:.4f}; "
        f"total {result['seconds']:.1f} s; written to {out}/")
    return result


def _train_pair(name, loaders, lr, momentum, weight_decay, epochs, device, seed):
    started = time.perf_counter()
    torch.manual_seed(seed)
    sgd_model = MyMLP().to(device)
    manual_model = MyMLP().to(device)
    manual_model.load_state_dict(sgd_model.state_dict())
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(sgd_model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    sgd = train(epochs, optimizer, sgd_model, loss_fn, loaders["train"], loaders["val"], device)
    manual = train_manual_update(epochs, manual_model, loss_fn, loaders["train"], lr, momentum, weight_decay,
                                 loaders["val"], device)
    difference = max(abs(a - b) for a, b in zip(sgd["train_loss"], manual["train_loss"]))
    row = {"name": name, "momentum": momentum, "weight_decay": weight_decay,
           "train_acc": sgd["train_acc"][-1], "val_acc": sgd["val_acc"][-1],
           "manual_train_acc": manual["train_acc"][-1], "manual_val_acc": manual["val_acc"][-1],
           "max_loss_difference": difference, "seconds": time.perf_counter() - started}
    return row, sgd_model, {f"{name} SGD": sgd, f"{name} manual": manual}


def format_table(rows) -> str:
    """The sweep as a fixed-width text table."""
    lines = [f"{'configuration':<28} {'train':>7} {'val':>7} {'manual train':>13} {'manual val':>11} "
             f"{'max|dloss|':>11}"]
    lines += [f"{r['name']:<28} {r['train_acc']:>7.4f} {r['val_acc']:>7.4f} {r['manual_train_acc']:>13.4f} "
              f"{r['manual_val_acc']:>11.4f} {r['max_loss_difference']:>11.2e}" for r in rows]
    return "\n".join(lines)


def _write(out: Path, result: dict, histories: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "experiment.json").write_text(json.dumps({**result, "histories": histories}, indent=2))
    plot_history({k: v for k, v in histories.items() if k.endswith("SGD")}, str(out / "curves_sgd.png"),
                 "torch.optim.SGD")
    plot_history({k: v for k, v in histories.items() if k.endswith("manual")}, str(out / "curves_manual.png"),
                 "manual update")


def run(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="data folder (default: $CIFAR_ROOT)")
    parser.add_argument("--out", default="results", help="folder for experiment.json and the PNG curves")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    try:
        main(data_root=args.data_root, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
             device=args.device, seed=args.seed)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(run())

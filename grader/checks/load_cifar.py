"""load_cifar on datasets the grader writes itself, in both layouts.

Returned images are identified by standardising each image per channel (invariant to any per-channel
normalisation) and matching against the pixels the grader wrote; labels, splits and the normalisation
are then judged from that correspondence.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..fixtures import Fixture, write_fixture
from ..report.results import Part
from .base import CheckTimeUp, Context, failed_call, out_of_time
from .registry import Check

VAL_FRACTION, SEED = 0.25, 7
"""Deliberately not the assignment's defaults: a load_cifar that ignores its arguments is caught."""
DETAILS = {"function": "load_cifar"}
PLAUSIBLE_MEAN, PLAUSIBLE_STD = (0.2, 0.8), (0.1, 0.6)
"""Per-channel statistics (pixels in [0, 1]) an honest normalisation can use: data-derived or published."""
MATCH_LIMIT, AFFINE_LIMIT = 1e-3, 1e-3


def run(ctx: Context) -> list[Part]:
    workdir = Path(tempfile.mkdtemp(prefix="load-cifar-", dir=ctx.host.scratch_dir()))
    workdir.chmod(0o755)  # the worker runs as another user
    try:
        return [part for layout in ("imagefolder", "official")
                for part in _judge_layout(ctx, write_fixture(workdir / layout, layout, seed=ctx.seed))]
    except CheckTimeUp:
        return [out_of_time("finished in time")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _judge_layout(ctx: Context, fixture: Fixture) -> list[Part]:
    where = {"imagefolder": "an ImageFolder tree (train/{airplane,bird,cat}, test/...)",
             "official": "the official layout (cifar-10-batches-py)"}[fixture.layout]
    call = f"load_cifar(data_root, val_fraction={VAL_FRACTION}, seed={SEED}) with data_root {where}"
    labels = [f"{fixture.layout}: three datasets of the right sizes", f"{fixture.layout}: labels airplane 0, bird 1",
              f"{fixture.layout}: validation split from train, disjoint; test from test",
              f"{fixture.layout}: images normalised per channel"]
    reply = ctx.call("load_cifar", {"root": str(fixture.root), "val_fraction": VAL_FRACTION, "seed": SEED,
                                    "max_items": 10_000})
    if not reply.ok:
        first = failed_call(labels[0], call, reply.failure)
        return [first] + [Part.fail(label, "not judged: see above", first.kind, details=first.details)
                          for label in labels[1:]]
    if "error" in reply.value:
        return [Part.fail(labels[0], f"{call} {reply.value['error']}", details=DETAILS)] + \
            [Part.fail(label, "not judged: see above") for label in labels[1:]]
    splits = reply.value
    problems = [_sizes(call, fixture, splits)]
    if problems[0] is None:
        identity = _identify(fixture, splits)
        problems += [_labels(call, fixture, splits, identity), _split(call, fixture, identity),
                     _normalisation(call, fixture, splits, identity)]
    else:
        problems += ["not judged: the sizes or item types are wrong"] * 3
    return [Part.fail(label, problem, details=DETAILS) if problem else Part.ok(label)
            for label, problem in zip(labels, problems)]


def _sizes(call, fixture, splits) -> str | None:
    n_train_total = int((fixture.train_labels >= 0).sum())
    n_val = round(VAL_FRACTION * n_train_total)
    expected = {"train": n_train_total - n_val, "val": n_val, "test": int((fixture.test_labels >= 0).sum())}
    got = {name: splits[name]["len"] for name in expected}
    if got != expected:
        return (f"{call} returned datasets of sizes {got}; expected {expected} (the dataset holds "
                f"{n_train_total} airplane/bird training images and an extra class to leave out).")
    for name in expected:
        for image, label in zip(splits[name]["images"], splits[name]["labels"]):
            if not isinstance(image, torch.Tensor) or tuple(image.shape) != (3, 32, 32) or \
                    not image.is_floating_point():
                return f"{call}: items of the {name} set should be (float tensor (3, 32, 32), label); got {image!r:.80}"
            if not isinstance(label, int) and not (isinstance(label, torch.Tensor) and label.numel() == 1):
                return f"{call}: labels of the {name} set should be ints; got {label!r:.80}"
    return None


def _standardise(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), 3, -1).astype(np.float64)
    return (flat - flat.mean(axis=2, keepdims=True)) / (flat.std(axis=2, keepdims=True) + 1e-12)


def _identify(fixture: Fixture, splits) -> dict[str, list[tuple[str, int] | None]]:
    """For every returned image: ("train"|"test", index in the fixture), or None when it matches none."""
    sources = {"train": _standardise(fixture.train_images), "test": _standardise(fixture.test_images)}
    identity = {}
    for name in ("train", "val", "test"):
        found = []
        for image in splits[name]["images"]:
            z = _standardise(image.double().numpy()[None])[0]
            match = None
            for source, table in sources.items():
                distance = np.abs(table - z).max(axis=(1, 2))
                if distance.min() < MATCH_LIMIT:
                    match = (source, int(distance.argmin()))
            found.append(match)
        identity[name] = found
    return identity


def _labels(call, fixture, splits, identity) -> str | None:
    truth = {"train": fixture.train_labels, "test": fixture.test_labels}
    for name in ("train", "val", "test"):
        for position, (match, label) in enumerate(zip(identity[name], splits[name]["labels"])):
            if match is None:
                continue
            label = int(label.item() if isinstance(label, torch.Tensor) else label)
            wanted = int(truth[match[0]][match[1]])
            if wanted < 0:
                return f"{call}: the {name} set holds an image of another class (a cat); keep airplanes and birds only."
            if label != wanted:
                return (f"{call}: item {position} of the {name} set is {'an airplane' if wanted == 0 else 'a bird'} "
                        f"labelled {label}; expected {wanted} (airplane 0, bird 1).")
    return None


def _split(call, fixture, identity) -> str | None:
    unknown = [name for name in identity if any(match is None for match in identity[name])]
    if unknown:
        return f"{call}: some images of the {unknown[0]} set are not images of the dataset (changed beyond normalisation?)."
    for name, source in (("train", "train"), ("val", "train"), ("test", "test")):
        wrong = [m for m in identity[name] if m[0] != source]
        if wrong:
            return (f"{call}: the {name} set holds {len(wrong)} image(s) from the {wrong[0][0]} images; "
                    f"it must come from the {source} images only.")
    overlap = set(identity["train"]) & set(identity["val"])
    if overlap:
        return f"{call}: {len(overlap)} image(s) are in both the train and the validation set."
    return None


def _normalisation(call, fixture, splits, identity) -> str | None:
    raw = {"train": fixture.train_images, "test": fixture.test_images}
    pairs = [(raw[m[0]][m[1]], image) for name in ("train", "val") for m, image in
             zip(identity[name], splits[name]["images"]) if m is not None]
    if not pairs:
        return "not judged: no image could be identified"
    pixels = np.stack([p for p, _ in pairs]).astype(np.float64).transpose(1, 0, 2, 3).reshape(3, -1) / 255
    values = np.stack([v.double().numpy() for _, v in pairs]).transpose(1, 0, 2, 3).reshape(3, -1)
    stats = []
    for c in range(3):
        a, b = np.polyfit(pixels[c], values[c], 1)
        if np.abs(a * pixels[c] + b - values[c]).max() > AFFINE_LIMIT * max(1.0, np.abs(values[c]).max()):
            return f"{call}: channel {c} is not an affine function of the pixels (normalise with one mean/std per channel)."
        stats.append((-b / a, 1 / a))
    if all(abs(mean) < 1e-3 and abs(std - 1) < 1e-3 for mean, std in stats):
        return f"{call}: the images are not normalised (values are the raw pixels in [0, 1])."
    shown = ", ".join(f"mean {m:.3f} std {s:.3f}" for m, s in stats)
    if not all(PLAUSIBLE_MEAN[0] <= m <= PLAUSIBLE_MEAN[1] and PLAUSIBLE_STD[0] <= s <= PLAUSIBLE_STD[1]
               for m, s in stats):
        return (f"{call}: the per-channel normalisation uses implausible statistics ({shown}, pixels in [0, 1]); "
                "use the training images' per-channel mean and std.")
    return None


CHECKS = (Check("load_cifar", "load_cifar: both layouts, labels, splits and normalisation", run,
                defaults={"points": 5}),)

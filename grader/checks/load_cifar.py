"""load_cifar on datasets the grader writes itself, in the layouts the assignment's template reads.

Returned images are identified by standardising each image per channel (invariant to any per-channel
normalisation) and matching against the pixels the grader wrote; labels, splits and the normalisation
are then judged from that correspondence. The split is judged as the assignment means it: a validation or a
train fraction, of the two classes' images or of all ten classes' before keeping two (``random_split``, seeded).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..assignment.binding import literal
from ..assignment.declaration import DataSpec
from ..data.cifar import Arrays, decode
from ..data.fixtures import Fixture, official_checksums_skipped, write_fixture
from ..given import CLASSES
from ..outcomes import FailureKind
from ..report.results import Part
from .base import CheckTimeUp, Context, failed_call, out_of_time, timed
from .diagnosis import Diagnosis, diagnosed, misconception
from .registry import Check, Settings

CHECK_VAL_FRACTION, CHECK_SEED = 0.25, 7
"""The validation share and seed this check passes, deliberately not the assignment's defaults: a load_cifar that
ignores its arguments is caught (each is passed only when the student's function has a parameter for it; else the
template's default is expected)."""
PLAUSIBLE_MEAN, PLAUSIBLE_STD = (0.2, 0.8), (0.1, 0.6)
"""Per-channel statistics (pixels in [0, 1]) an honest normalisation can use: data-derived or published."""
MATCH_LIMIT, AFFINE_LIMIT = 1e-3, 1e-3
Splits = dict[str, Any]
"""What the worker returned: per split ("train", "val", "test"): its length, images and labels."""
Identity = dict[str, list[tuple[str, int] | None]]
"""Per split, each returned image as ("train" | "test", its index among the images the grader wrote), or None."""
LAYOUT_TEXT = {"imagefolder": "an ImageFolder tree (train/{airplane,bird,cat}, test/...)",
               "official": "the official layout (cifar-10-batches-py, with a third class)"}


def run(ctx: Context) -> list[Part]:
    workdir = Path(tempfile.mkdtemp(prefix="load-cifar-", dir=ctx.host.scratch_dir()))
    workdir.chmod(0o755)  # the worker runs as another user
    try:
        return [part for layout in ctx.assignment.data.layouts
                for part in _judge_layout(ctx, write_fixture(workdir / layout, layout, seed=ctx.seed))]
    except CheckTimeUp:
        return [out_of_time("finished in time")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _arguments(ctx: Context) -> tuple[float, int, str]:
    """(validation share asked for, seed, how the call reads): the check's own values where the student's function
    takes them, else the template's defaults."""
    spec, data = ctx.assignment.callable("load_cifar"), ctx.assignment.data
    val_fraction, seed, shown = data.val_fraction, data.split_seed, {}
    if spec.parameter("split_fraction") is not None and ctx.has_role("load_cifar", "split_fraction"):
        val_fraction = CHECK_VAL_FRACTION
        shown["split_fraction"] = data.fraction_for(CHECK_VAL_FRACTION)
    if spec.parameter("seed") is not None and ctx.has_role("load_cifar", "seed"):
        seed = CHECK_SEED
        shown["seed"] = CHECK_SEED
    elif (declared := spec.parameter("seed")) is not None and isinstance(literal(declared.default), int):
        seed = literal(declared.default)
    return val_fraction, seed, spec.call(**shown)


def _judge_layout(ctx: Context, fixture: Fixture) -> list[Part]:
    val_fraction, seed, call = _arguments(ctx)
    call = f"{call} with the data in {LAYOUT_TEXT[fixture.layout]}"
    details = {"function": ctx.assignment.callable("load_cifar").name}
    labels = [f"{fixture.layout}: three datasets of the right sizes", f"{fixture.layout}: labels " +
              ", ".join(f"{name} {index}" for index, name in enumerate(ctx.assignment.data.classes)),
              f"{fixture.layout}: validation split from train, disjoint; test from test",
              f"{fixture.layout}: images normalised per channel"]
    data = ctx.assignment.data
    pending = ctx.begin("load_cifar", {"root": str(fixture.root), "split_fraction": data.fraction_for(val_fraction),
                                       "seed": seed, "max_items": 10_000})
    reply = ctx.finish(pending, timed(_decode, fixture)[1])
    if not reply.ok:
        first = failed_call(labels[0], call, reply.failure)
        return [first] + [Part.fail(label, "not judged: see above", first.kind or FailureKind.WRONG,
                                    details=first.details)
                          for label in labels[1:]]
    if "error" in reply.value:
        return [Part.fail(labels[0], f"{call} {reply.value['error']}", details=details)] + \
            [Part.fail(label, "not judged: see above") for label in labels[1:]]
    splits = reply.value
    items = _items(call, splits, data)
    problems = [_counts(call, fixture, splits, data, val_fraction, seed) or items]
    if problems[0] is None and tuple(data.image_shape) != fixture.train_images.shape[1:]:
        return [Part.ok(labels[0])] + [Part(label, True, "not checked: the images are resized from the grader's "
                                            f"{fixture.train_images.shape[1:]}", 0.0, None, {"not_checked": True})
                                       for label in labels[1:]]
    diagnoses = {}
    if problems[0] is None:
        identity = _identify(fixture, splits)
        problems += [_labels(call, fixture, splits, identity, data), _split(call, fixture, identity),
                     _normalisation(call, fixture, splits, identity)]
        diagnoses = _diagnoses(fixture, splits, identity, data)
    else:
        problems += ["not judged: the sizes or item types are wrong"] * 3
        if items is None and tuple(data.image_shape) == fixture.train_images.shape[1:]:
            kept = _diagnoses(fixture, splits, _identify(fixture, splits), data).get(1)
            diagnoses = {0: kept} if kept and kept.id == "wrong_class" else {}  # the sizes fail because of it
    return [diagnosed(Part.fail(label, problem, details=details), diagnoses.get(index), "your datasets")
            if problem else Part.ok(label) for index, (label, problem) in enumerate(zip(labels, problems))]


def _diagnoses(fixture: Fixture, splits: Splits, identity: Identity, data: DataSpec) -> dict[int, Diagnosis]:
    """Which part each load_cifar misconception explains (its index among the layout's parts)."""
    truth = {"train": fixture.train_labels, "test": fixture.test_labels}
    found = [(int(truth[m[0]][m[1]]), int(label.item() if isinstance(label, torch.Tensor) else label))
             for name in ("train", "val", "test") for m, label in zip(identity[name], splits[name]["labels"])
             if m is not None]
    diagnoses = {}
    known = [(data.label(CLASSES[written]), label) for written, label in found if written >= 0]
    if known and all(label == 1 - wanted for wanted, label in known):
        diagnoses[1] = Diagnosis(misconception("load_cifar", "labels_swapped"), 1)
    if any(written < 0 for written, _ in found) and len({written for written, _ in found if written >= 0}) < 2:
        diagnoses[1] = Diagnosis(misconception("load_cifar", "wrong_class"), 1, detail="cats kept, a class missing")
    if identity["val"] and all(m is not None and m[0] == "test" for m in identity["val"]):
        diagnoses[2] = Diagnosis(misconception("load_cifar", "val_from_test"), 1)
    if _raw_pixels(fixture, splits, identity):
        diagnoses[3] = Diagnosis(misconception("load_cifar", "not_normalized"), 1)
    return diagnoses


def _raw_pixels(fixture: Fixture, splits: Splits, identity: Identity) -> bool:
    raw = {"train": fixture.train_images, "test": fixture.test_images}
    pairs = [(raw[m[0]][m[1]], image) for name in ("train", "val") for m, image in
             zip(identity[name], splits[name]["images"]) if m is not None]
    return bool(pairs) and all(np.allclose(image.double().numpy(), pixels / 255, atol=1e-6) for pixels, image in pairs)


def _decode(fixture: Fixture) -> Arrays:
    """What the call costs the reference: decoding the fixture's images (the call's budget)."""
    with official_checksums_skipped():
        return decode(fixture.root, fixture.layout)


def expected_sizes(fixture: Fixture, data: DataSpec, val_fraction: float, seed: int) -> list[dict[str, int]]:
    """The (train, val, test) sizes a correct load_cifar may return, the template's reading first: the split's
    share rounded or truncated (``int(n * fraction)``, as the course's template computes it), taken of the two
    classes' images or, where the template splits first, of all the training images with ``random_split`` (seeded).
    """
    two = fixture.train_labels >= 0
    n_two, n_all, n_test = int(two.sum()), len(fixture.train_labels), int((fixture.test_labels >= 0).sum())
    train_share = 1 - val_fraction
    candidates = []
    if data.split_before_filtering:
        for n_train in (int(n_all * train_share), round(n_all * train_share)):
            order = torch.randperm(n_all, generator=torch.Generator().manual_seed(int(seed))).tolist()
            kept = int(two[order[:n_train]].sum())
            candidates.append({"train": kept, "val": n_two - kept, "test": n_test})
    for n_val in (round(val_fraction * n_two), n_two - int(n_two * train_share), int(n_two * val_fraction)):
        candidates.append({"train": n_two - n_val, "val": n_val, "test": n_test})
    return [c for i, c in enumerate(candidates) if c not in candidates[:i]]


def _counts(call: str, fixture: Fixture, splits: Splits, data: DataSpec, val_fraction: float,
            seed: int) -> str | None:
    accepted = expected_sizes(fixture, data, val_fraction, seed)
    got = {name: splits[name]["len"] for name in ("train", "val", "test")}
    if got not in accepted:
        n_two = int((fixture.train_labels >= 0).sum())
        split = (f"{1 - val_fraction:g} of all training images for train (random_split seeded {seed}), then "
                 f"keeping {' and '.join(data.classes)}" if data.split_before_filtering else
                 f"{val_fraction:g} of them for validation")
        return (f"{call} returned datasets of sizes {got}; expected {accepted[0]} (the dataset holds {n_two} "
                f"{'/'.join(data.classes)} training images and an extra class to leave out; the split takes {split}).")
    return None


def _items(call: str, splits: Splits, data: DataSpec) -> str | None:
    shape = tuple(data.image_shape)
    for name in ("train", "val", "test"):
        for image, label in zip(splits[name]["images"], splits[name]["labels"]):
            if not isinstance(image, torch.Tensor) or tuple(image.shape) != shape or not image.is_floating_point():
                return f"{call}: items of the {name} set should be (float tensor {shape}, label); got {image!r:.80}"
            if not isinstance(label, int) and not (isinstance(label, torch.Tensor) and label.numel() == 1):
                return f"{call}: labels of the {name} set should be ints; got {label!r:.80}"
    return None


def _standardise(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), 3, -1).astype(np.float64)
    standardised: np.ndarray = (flat - flat.mean(axis=2, keepdims=True)) / (flat.std(axis=2, keepdims=True) + 1e-12)
    return standardised


def _identify(fixture: Fixture, splits: Splits) -> Identity:
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


def _labels(call: str, fixture: Fixture, splits: Splits, identity: Identity, data: DataSpec) -> str | None:
    truth = {"train": fixture.train_labels, "test": fixture.test_labels}
    names = dict(enumerate(CLASSES))
    for name in ("train", "val", "test"):
        for position, (match, label) in enumerate(zip(identity[name], splits[name]["labels"])):
            if match is None:
                continue
            label = int(label.item() if isinstance(label, torch.Tensor) else label)
            written = int(truth[match[0]][match[1]])
            if written < 0:
                return (f"{call}: the {name} set holds an image of another class (a cat); keep "
                        f"{' and '.join(data.classes)} only.")
            wanted = data.label(names[written])
            if label != wanted:
                return (f"{call}: item {position} of the {name} set is a(n) {names[written]} labelled {label}; "
                        "expected "
                        f"{wanted} ({', '.join(f'{c} {i}' for i, c in enumerate(data.classes))}).")
    return None


def _split(call: str, fixture: Fixture, identity: Identity) -> str | None:
    unknown = [name for name in identity if any(match is None for match in identity[name])]
    if unknown:
        return (f"{call}: some images of the {unknown[0]} set are not images of the dataset (changed beyond "
                "normalisation?).")
    for name, source in (("train", "train"), ("val", "train"), ("test", "test")):
        wrong = [m for m in identity[name] if m is not None and m[0] != source]
        if wrong:
            origin = wrong[0][0] if wrong[0] else "?"
            return (f"{call}: the {name} set holds {len(wrong)} image(s) from the {origin} images; "
                    f"it must come from the {source} images only.")
    overlap = set(identity["train"]) & set(identity["val"])
    if overlap:
        return f"{call}: {len(overlap)} image(s) are in both the train and the validation set."
    return None


def _normalisation(call: str, fixture: Fixture, splits: Splits, identity: Identity) -> str | None:
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
            return (f"{call}: channel {c} is not an affine function of the pixels (normalise with one mean/std per "
                    "channel).")
        stats.append((-b / a, 1 / a))
    if all(abs(mean) < 1e-3 and abs(std - 1) < 1e-3 for mean, std in stats):
        return f"{call}: the images are not normalised (values are the raw pixels in [0, 1])."
    shown = ", ".join(f"mean {m:.3f} std {s:.3f}" for m, s in stats)
    if not all(PLAUSIBLE_MEAN[0] <= m <= PLAUSIBLE_MEAN[1] and PLAUSIBLE_STD[0] <= s <= PLAUSIBLE_STD[1]
               for m, s in stats):
        return (f"{call}: the per-channel normalisation uses implausible statistics ({shown}, pixels in [0, 1]); "
                "use the training images' per-channel mean and std.")
    return None


@dataclass(frozen=True)
class LoadCifarSettings(Settings):
    points: float = 5


CHECKS = (Check("load_cifar", "{load_cifar}: the template's data layouts, labels, splits and normalisation", run,
                LoadCifarSettings, grades=("load_cifar",)),)

"""Small CIFAR-like datasets the grader (and the tests) write themselves, in both supported layouts."""
from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ..given import CIFAR10_INDEX, CLASSES

OTHER_CLASS = ("cat", 3)
"""An extra class present in the fixture, which load_cifar must leave out."""
CHANNEL_MEANS, CHANNEL_STD = (125.0, 123.0, 114.0), 62.0
"""Roughly CIFAR-10's pixel statistics, so that any usual per-channel normalisation is plausible on it."""


Splits = dict[str, tuple[np.ndarray, np.ndarray]]
"""(images, labels) of each split ("train", "test")."""


@dataclass(frozen=True)
class Fixture:
    """What was written: uint8 images (N, 3, 32, 32) and labels (0 airplane, 1 bird, -1 other class)."""

    root: Path
    layout: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def write_fixture(root: Path, layout: str, seed: int = 0, per_class: tuple[int, int] = (12, 5),
                  others: tuple[int, int] = (4, 3)) -> Fixture:
    """Write a dataset of ``per_class`` (train, test) images per class plus ``others`` of an extra class.

    ``layout`` is ``"imagefolder"`` (PNG files under train/ and test/) or ``"official"``
    (cifar-10-batches-py with five training batches, a test batch and batches.meta). Files are world-readable.
    """
    rng = np.random.default_rng(seed)
    splits: Splits = {}
    for split, (n_class, n_other) in (("train", (per_class[0], others[0])), ("test", (per_class[1], others[1]))):
        labels = np.array([0] * n_class + [1] * n_class + [-1] * n_other)
        noise = rng.normal(0.0, CHANNEL_STD, size=(len(labels), 3, 32, 32))
        images = np.clip(noise + np.array(CHANNEL_MEANS)[None, :, None, None], 0, 255).astype(np.uint8)
        splits[split] = (images, labels)
    root.mkdir(parents=True, exist_ok=True)
    (_write_image_folder if layout == "imagefolder" else _write_official)(root, splits)
    _make_readable(root)
    return Fixture(root, layout, *splits["train"], *splits["test"])


def _write_image_folder(root: Path, splits: Splits) -> None:
    from PIL import Image

    names = {0: CLASSES[0], 1: CLASSES[1], -1: OTHER_CLASS[0]}
    for split, (images, labels) in splits.items():
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / names[int(label)]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.transpose(1, 2, 0)).save(folder / f"{index:04d}.png")


def _write_official(root: Path, splits: Splits) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    cifar_label = {0: CIFAR10_INDEX["airplane"], 1: CIFAR10_INDEX["bird"], -1: OTHER_CLASS[1]}

    def batch(images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
        return {"data": images.reshape(len(images), -1), "labels": [cifar_label[int(l)] for l in labels]}

    train_images, train_labels = splits["train"]
    for k, chunk in enumerate(np.array_split(np.arange(len(train_labels)), 5), start=1):
        _dump(folder / f"data_batch_{k}", batch(train_images[chunk], train_labels[chunk]))
    _dump(folder / "test_batch", batch(*splits["test"]))
    _dump(folder / "batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                    "frog", "horse", "ship", "truck"]})


def _dump(path: Path, obj: dict[str, Any]) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)  # the official CIFAR-10 format is pickled; we write it, a student reads it


def _make_readable(root: Path) -> None:
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


@contextlib.contextmanager
def official_checksums_skipped() -> Iterator[None]:
    """Within this block torchvision's CIFAR10 accepts batch files whose md5 is not the official one (the grader's
    fixture has none), so ``CIFAR10(root, download=True)`` finds its files "already downloaded and verified"; any
    download torchvision would still start fails at once, saying that grading has no network."""
    from torchvision.datasets import CIFAR10, cifar, utils

    def no_network(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("the grader has no network: the data a check gives load_cifar is already on disk at the "
                           "path it passes (call torchvision's dataset with that path)")

    saved = (CIFAR10._check_integrity, cifar.check_integrity, cifar.download_and_extract_archive,
             utils.download_and_extract_archive, utils.download_url)
    CIFAR10._check_integrity = lambda self: True
    cifar.check_integrity = lambda *args, **kwargs: True
    cifar.download_and_extract_archive = utils.download_and_extract_archive = utils.download_url = no_network
    try:
        yield
    finally:
        (CIFAR10._check_integrity, cifar.check_integrity, cifar.download_and_extract_archive,
         utils.download_and_extract_archive, utils.download_url) = saved

"""CIFAR-10 airplane/bird data for the grader: locate, decode once, cache, split, and serve from the device."""
from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..given import CIFAR10_INDEX, CLASSES
from .locations import user_cache

DECODED_FILE = "cifar2.npz"
"""The decoded layout: the airplane and bird images in one NumPy file, with its SHA-256 next to it."""
DATA_HELP = (
    "To grade it: pass --download (CIFAR-10 is fetched once, about 170 MB, into your cache; later runs find it), or\n"
    "--data-root DIR (or set CIFAR_ROOT=DIR) with DIR holding one of\n"
    "  - an ImageFolder tree: DIR/train/airplane/, DIR/train/bird/, DIR/test/airplane/, DIR/test/bird/ (image files)\n"
    "  - the official CIFAR-10 python layout: DIR/cifar-10-batches-py/ "
    "(torchvision.datasets.CIFAR10(DIR, download=True) creates it)\n"
    f"  - the decoded layout: DIR/{DECODED_FILE} with DIR/{DECODED_FILE}.sha256 (autograde bundle gradescope "
    "writes it)."
)
"""What to do when the data is missing or unreadable (printed under the check that needed it)."""


class DataError(Exception):
    """The data could not be found or read; the message says what to do."""


@dataclass(frozen=True)
class Arrays:
    """Decoded images (uint8, N x 3 x 32 x 32) and labels (int64; airplane 0, bird 1)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor


def detect_layout(root: Path) -> str:
    """``"decoded"``, ``"official"`` or ``"imagefolder"``; raises DataError naming the layouts when it is none."""
    if not root.is_dir():
        raise DataError(f"Data folder {str(root)!r} does not exist.\n{DATA_HELP}")
    if (root / DECODED_FILE).is_file():
        return "decoded"
    if (root / "cifar-10-batches-py").is_dir():
        return "official"
    if all(folder.is_dir() for folder in _class_folders(root)):
        return "imagefolder"
    raise DataError(f"{str(root)!r} holds neither supported layout.\n{DATA_HELP}")


def _class_folders(root: Path) -> list[Path]:
    """DIR/train/airplane, DIR/train/bird, DIR/test/airplane, DIR/test/bird."""
    return [root / split / name for split in ("train", "test") for name in CLASSES]


def load_arrays(root: Path, cache_dir: Path | None = None) -> Arrays:
    """Decode the airplane and bird images under ``root``, reusing a cache keyed by a checksum of the source.

    The cache is a NumPy ``.npz`` (no pickle) in ``cache_dir`` ($AUTOGRADE_CACHE, default ~/.cache/autograde).
    """
    layout = detect_layout(root)
    if layout == "decoded":
        return _read_decoded(root)
    cache_dir = Path(cache_dir) if cache_dir else user_cache()
    cache_file = cache_dir / f"cifar2-{layout}-{source_checksum(root, layout)[:20]}.npz"
    if cache_file.is_file():
        return _read_npz(cache_file)
    arrays = decode(root, layout)
    _write_cache(cache_file, arrays)
    return arrays


def export_decoded(root: Path, target: Path) -> Path:
    """Write the images under ``root`` in the decoded layout into ``target``; the .npz's path."""
    path = target / DECODED_FILE
    _write_npz(path, load_arrays(root))
    (target / f"{DECODED_FILE}.sha256").write_text(f"{_sha256(path)}  {DECODED_FILE}\n", encoding="utf-8")
    return path


def _read_decoded(root: Path) -> Arrays:
    path, sums = root / DECODED_FILE, root / f"{DECODED_FILE}.sha256"
    if not sums.is_file() or sums.read_text(encoding="utf-8").split()[:1] != [_sha256(path)]:
        raise DataError(f"{str(path)!r} does not match its checksum {sums.name} (damaged or altered data).")
    return _read_npz(path)


def _read_npz(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as stored:
        return Arrays(*(torch.from_numpy(stored[key]) for key in Arrays.__dataclass_fields__))


def _write_npz(path: Path, arrays: Arrays) -> None:
    np.savez(path, **{key: getattr(arrays, key).numpy() for key in Arrays.__dataclass_fields__})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_checksum(root: Path, layout: str) -> str:
    """SHA-256 of SHA256SUMS when present, else of every source file's relative path, size and mtime."""
    sums = root / "SHA256SUMS"
    if sums.is_file():
        return hashlib.sha256(sums.read_bytes()).hexdigest()
    base = root / "cifar-10-batches-py" if layout == "official" else root
    digest = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(base)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _write_cache(cache_file: Path, arrays: Arrays) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.partial.npz")
        _write_npz(partial, arrays)
        os.replace(partial, cache_file)
    except OSError:
        pass  # a read-only cache only costs the decode next time


def decode(root: Path, layout: str) -> Arrays:
    """The airplane and bird images of an ``"imagefolder"`` or ``"official"`` tree, decoded now (no cache)."""
    return _decode_official(root) if layout == "official" else _decode_image_folder(root)


def _decode_image_folder(root: Path) -> Arrays:
    def split(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        paths = [sorted((root / name / cls).iterdir()) for cls in CLASSES]
        if not any(paths):
            raise DataError(f"No images under {str(root / name)!r}.\n{DATA_HELP}")
        pixels = [_rgb(path) for group in paths for path in group]
        labels = torch.cat([torch.full((len(group),), label) for label, group in enumerate(paths)])
        return torch.stack(pixels), labels

    return Arrays(*split("train"), *split("test"))


def _rgb(path: Path) -> torch.Tensor:
    """One image file as a uint8 tensor (3, H, W)."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        return torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(rgb.height, rgb.width, 3) \
            .permute(2, 0, 1).contiguous()


def _decode_official(root: Path) -> Arrays:
    from torchvision.datasets import CIFAR10

    airplane, bird = CIFAR10_INDEX["airplane"], CIFAR10_INDEX["bird"]
    parts = []
    for train in (True, False):
        try:
            data = CIFAR10(str(root), train=train, download=False)
        except RuntimeError as error:
            raise DataError(f"{error} ({str(root)!r}).\n{DATA_HELP}") from None
        classes = torch.as_tensor(data.targets)
        wanted = (classes == airplane) | (classes == bird)
        parts.append(torch.from_numpy(data.data).permute(0, 3, 1, 2)[wanted].contiguous())
        parts.append((classes[wanted] == bird).to(torch.int64))
    return Arrays(*parts)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val) indices of a seeded random split of ``n`` training images; val has round(fraction * n)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * n))
    return order[n_val:], order[:n_val]


def resized(images: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """uint8 images (N, C, H, W) at ``size`` (H, W) by area averaging; the same tensor when already that size."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    averaged = torch.nn.functional.interpolate(images.to(torch.float32), size=tuple(size), mode="area")
    return averaged.round().clamp(0, 255).to(torch.uint8)


def channel_statistics(images: torch.Tensor, chunk: int = 256) -> tuple[list[float], list[float]]:
    """Each channel's mean and (unbiased) standard deviation of uint8 images (N, C, H, W) scaled to [0, 1], from
    exact integer sums taken a chunk at a time (no float64 copy of the images is ever made)."""
    channels = images.shape[1]
    sums, squares = [0] * channels, [0] * channels
    for start in range(0, len(images), chunk):
        block = images[start:start + chunk].to(torch.int64)
        sums = [a + int(b) for a, b in zip(sums, block.sum(dim=(0, 2, 3)).tolist())]
        squares = [a + int(b) for a, b in zip(squares, (block * block).sum(dim=(0, 2, 3)).tolist())]
    count = images.numel() // channels
    means = [Fraction(total, count * 255) for total in sums]
    variances = [Fraction(square * count - total * total, count * (count - 1) * 255 * 255)
                 for total, square in zip(sums, squares)]
    return [float(m) for m in means], [math.sqrt(v) for v in variances]


def normalise(images: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    """float32 images normalised per channel with ``mean`` and ``std`` (see :func:`channel_statistics`): one fused
    ``x * scale + shift`` in float32 (``scale = 1 / (255 std)``, ``shift = -mean / std``, both rounded from float64),
    within one float32 ulp of ``(x / 255 - mean) / std``. Fast enough to run on every batch of every epoch."""
    shape = (1, len(mean), 1, 1)
    centre = torch.tensor(mean, dtype=torch.float64, device=images.device).view(shape)
    spread = torch.tensor(std, dtype=torch.float64, device=images.device).view(shape)
    return torch.addcmul((-centre / spread).float(), images.float(), (1 / (255 * spread)).float())


class TensorLoader:
    """A DataLoader stand-in over tensors already on their device: batches are slices, in order, no copies.

    ``iter`` yields ``(transform(x[i:i+b]), y[i:i+b])``; ``len`` is the number of batches; ``dataset`` has a
    length. With a ``transform`` (the accuracy stage's per-batch normalisation of uint8 images), only the batch in
    hand is ever a float copy.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        self.x, self.y, self.batch_size, self.transform = x, y, int(batch_size), transform
        self.dataset = torch.utils.data.TensorDataset(x, y)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.x), self.batch_size):
            batch = self.x[start:start + self.batch_size]
            yield (self.transform(batch) if self.transform else batch), self.y[start:start + self.batch_size]

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

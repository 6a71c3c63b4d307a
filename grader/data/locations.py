"""Where the data and the grader's cache are (torch-free: the command line resolves them before importing torch)."""
from __future__ import annotations

import os
from pathlib import Path

ENV_DATA_ROOT = "CIFAR_ROOT"
ENV_CACHE = "AUTOGRADE_CACHE"


def user_cache() -> Path:
    """The grader's cache folder: $AUTOGRADE_CACHE, else the platform's (~/.cache/autograde on Linux,
    ~/Library/Caches/autograde on macOS, %LOCALAPPDATA%\\autograde\\Cache on Windows)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("autograde", appauthor=False))


def downloaded_root() -> Path:
    """Where ``--download`` puts CIFAR-10 (the official layout, in the user's cache)."""
    return user_cache() / "cifar-10"


def resolve_data_root(data_root: str | os.PathLike[str] | None) -> Path | None:
    """The data folder from the argument, else from $CIFAR_ROOT, else CIFAR-10 downloaded earlier with
    ``--download``, else None."""
    chosen = data_root if data_root else os.environ.get(ENV_DATA_ROOT)
    if chosen:
        return Path(chosen).expanduser().resolve()
    return downloaded_root() if (downloaded_root() / "cifar-10-batches-py").is_dir() else None


def download(target: Path | None = None) -> Path:
    """Fetch CIFAR-10 once with torchvision (its progress bar and its checksums) into ``target`` (default: the
    user's cache); the folder, which later gradings use without being told (see :func:`resolve_data_root`)."""
    from torchvision.datasets import CIFAR10

    target = Path(target or downloaded_root())
    target.mkdir(parents=True, exist_ok=True)
    for train in (True, False):
        CIFAR10(str(target), train=train, download=True)
    return target

"""The entries of a class's submissions folder: one submission each (a folder or a .zip), named by the entry.

Also: which shard an entry belongs to, unpacking a .zip safely, and the fingerprint that decides whether an
entry must be graded again (its content, the grading settings and the grader itself). Imports no torch.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..version import __version__

ZIP_LIMIT_BYTES = 200 * 2**20
"""Uncompressed size beyond which a .zip is refused (a zip bomb is a malformed upload)."""


@dataclass(frozen=True)
class Entry:
    name: str
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.suffix.lower() == ".zip"


class EntryError(Exception):
    """An entry that cannot be graded as it is (the gradebook row says why)."""


def list_entries(folder: Path) -> list[Entry]:
    """Every submission in ``folder``, sorted by name: each folder, and each .zip (named without .zip).
    Hidden entries are ignored; any other file is listed too, so that its row says why it was not graded."""
    entries = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "__")):
            continue
        name = path.stem if path.is_file() and path.suffix.lower() == ".zip" else path.name
        entries.append(Entry(name, path))
    return entries


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as (I, N) with 1 <= I <= N; ValueError with what to write otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes I/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= index <= count:
        raise ValueError(f"--shard {text}: I must be between 1 and N")
    return index, count


def in_shard(name: str, index: int, count: int) -> bool:
    """Whether entry ``name`` belongs to shard ``index`` of ``count``: a stable hash of the name, so an entry
    stays in its shard when others are added."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % count == index - 1


def unpack(entry: Entry, target: Path) -> Path:
    """The folder to grade for ``entry``: the folder itself, or its .zip unpacked into ``target``."""
    if entry.path.is_dir():
        return entry.path
    if not entry.is_zip:
        raise EntryError(f"{entry.path.name} is neither a folder nor a .zip")
    try:
        with zipfile.ZipFile(entry.path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > ZIP_LIMIT_BYTES:
                raise EntryError(f"{entry.path.name} unpacks to more than {ZIP_LIMIT_BYTES >> 20} MiB")
            for member in members:
                _extract(archive, member, target)
    except (zipfile.BadZipFile, OSError) as error:
        raise EntryError(f"{entry.path.name} is not a readable .zip ({error})") from None
    return target


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    """Extract one member, refusing absolute paths, '..' and links (a malicious archive is a malformed upload)."""
    parts = Path(member.filename).parts
    is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
    if member.filename.startswith("/") or ".." in parts or is_link:
        raise EntryError(f"{member.filename!r} in the .zip points outside it")
    archive.extract(member, target)


def content_digest(path: Path) -> str:
    """SHA-256 of a file, or of every file in a folder (relative path and bytes; links by their target)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink())
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\0")
        digest.update(f"link:{file.readlink()}".encode() if file.is_symlink() else file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def grader_digest() -> str:
    """The grader's version and a digest of its own source files: a changed grader regrades everything."""
    root = Path(__file__).resolve().parents[1]
    sources = sorted(root.rglob("*.py")) + sorted(root.rglob("*.toml"))
    digest = hashlib.sha256(__version__.encode())
    for source in sources:
        digest.update(str(source.relative_to(root)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def fingerprint(content: str, settings: dict[str, Any], grader_version: str) -> str:
    """What a graded row depends on; the row is graded again when this changes."""
    return hashlib.sha256(json.dumps([content, settings, grader_version], sort_keys=True).encode()).hexdigest()

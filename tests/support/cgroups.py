"""A command run inside a memory- and CPU-limited cgroup (v2 or v1), as Gradescope's containers limit the grader:
its peak memory (page cache included, as the limit counts it) and the processes the kernel killed for memory.

Needs root and a writable cgroup hierarchy; :func:`unavailable` says why not where they are missing."""
from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limited:
    returncode: int
    stdout: str
    stderr: str
    peak_mib: float
    oom_kills: int


def unavailable() -> str | None:
    """Why a command cannot be limited here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root to make a cgroup"
    if (ROOT / "cgroup.controllers").is_file():
        return None if "memory" in (ROOT / "cgroup.controllers").read_text() else "cgroup v2 without memory"
    if (ROOT / "memory").is_dir() and (ROOT / "cpu").is_dir() and os.access(ROOT / "memory", os.W_OK):
        return None
    return "no writable cgroup hierarchy with memory and cpu controllers"


def run_limited(command: list[str], memory: str, cpu_percent: int, *, env: dict[str, str] | None = None,
                cwd: Path | None = None, timeout: float = 900) -> Limited:
    """Run ``command`` in a fresh cgroup of ``memory`` (e.g. "768M", no swap) and ``cpu_percent`` of one CPU."""
    name = f"autograde-test-{uuid.uuid4().hex[:8]}"
    v2 = (ROOT / "cgroup.controllers").is_file()
    folders = [ROOT / name] if v2 else [ROOT / "memory" / name, ROOT / "cpu" / name]
    for folder in folders:
        folder.mkdir()
    try:
        if v2:
            (ROOT / "cgroup.subtree_control").write_text("+memory +cpu")
            (folders[0] / "memory.max").write_text(memory)
            (folders[0] / "memory.swap.max").write_text("0")
            (folders[0] / "cpu.max").write_text(f"{cpu_percent * 1000} 100000")
        else:
            (folders[0] / "memory.limit_in_bytes").write_text(memory)
            (folders[0] / "memory.swappiness").write_text("0")
            (folders[1] / "cpu.cfs_period_us").write_text("100000")
            (folders[1] / "cpu.cfs_quota_us").write_text(str(cpu_percent * 1000))
        enter = "; ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in folders)
        done = subprocess.run(["sh", "-c", f'{enter}; exec "$@"', "sh", *command], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
        return Limited(done.returncode, done.stdout, done.stderr, _peak(folders[0], v2) / 2**20,
                       _oom_kills(folders[0], v2))
    finally:
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:
                pass


def _peak(folder: Path, v2: bool) -> int:
    path = folder / ("memory.peak" if v2 else "memory.max_usage_in_bytes")
    return int(path.read_text()) if path.is_file() else 0


def _oom_kills(folder: Path, v2: bool) -> int:
    path = folder / ("memory.events" if v2 else "memory.oom_control")
    for line in path.read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0

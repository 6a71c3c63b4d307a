"""The limits a rubric sets (its ``[limits]`` table), and the operating-system containment that enforces them on the
worker: privileges, network, memory, and cleaning up after it."""
from __future__ import annotations

import ctypes
import glob
import itertools
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from . import filesystem
from .filesystem import LINUX

try:
    import resource
except ImportError:  # Windows: the portable sandbox never calls the functions that use it
    resource = None  # type: ignore[assignment]  # (the module is absent on this platform)

CLONE_NEWNET = 0x40000000
PR_SET_CHILD_SUBREAPER = 36
MAX_FILE_BYTES = 2**30
"""Largest file the worker may write (a submission filling the disk gets SIGXFSZ)."""
# Linux system calls, loaded where they exist
_libc: Any = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None


@dataclass(frozen=True)
class Limits:
    check_seconds: float = 120
    """The outer wall-time bound of one check."""
    import_seconds: float = 60
    total_seconds: float = 1800
    memory_mb: int = 4096
    output_kb: int = 64
    """Student output kept per check."""
    flood_mb: int = 8
    """Output of one call beyond which the call is stopped as a flood (what is kept is still output_kb)."""
    call_multiple: float = 20
    call_floor_seconds: float = 2
    """One call may use call_multiple times the CPU time of the grader's own computation of the same case, plus
    call_floor_seconds, counted in the CPU time of the worker's process tree: waiting for a core on a busy machine
    costs nothing (the check's limit stays the outer bound): an endless loop costs seconds, not the check."""
    call_wall_multiple: float = 5
    """The wall-time ceiling of one call, as a multiple of its CPU budget: ends code that sleeps or blocks. A call
    over its budget runs once more on a fresh worker with twice the budget before it counts as a timeout."""



@dataclass(frozen=True)
class Containment:
    """What the worker applies to itself after its trusted imports and before importing the submission."""

    uid: int | None
    """Unprivileged uid/gid to switch to (only when started as root), else None: then the protections that
    need root (own uid, own network namespace, hidden paths) are not applied."""
    memory_bytes: int | None
    """Address space the worker may add beyond what it holds after its imports; None for no limit."""
    private_dir: str
    """The worker's own folder (its copy of the submission, its working folder): read and write."""
    readable: tuple[str, ...] = ()
    """Further folders it may read (e.g. datasets the grader wrote for it)."""
    hidden: tuple[str, ...] = ()
    """Paths to cover when the file system cannot be restricted to an allow-list (root, no Landlock)."""

    @classmethod
    def from_config(cls, config: dict[str, Any], *, cpu_only: bool) -> Containment:
        return cls(config.get("uid"), config.get("memory_bytes") if cpu_only else None,
                   config["private_dir"], tuple(config.get("readable", ())), tuple(config.get("hidden", ())))


MAX_PROCESSES = 256
DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def is_root() -> bool:
    return os.geteuid() == 0


_uids_handed_out = itertools.count()


def next_worker_uid() -> int:
    """A uid used by no account and by no other grader on this machine: one per Host (per submission)."""
    return 2_000_000 + (os.getpid() % 1_000_000) * 1000 + next(_uids_handed_out) % 1000


def apply(containment: Containment) -> dict[str, bool]:
    """Contain the calling process; return which protections are active (missing ones are False)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    active = {"separate_process": True, "own_session": os.getsid(0) == os.getpid(), "memory_limit": False,
              "network_namespace": False, "unprivileged_user": False, "filesystem_allowlist": False,
              "landlock_no_tcp": False, "landlock_signal_scope": False}
    if containment.memory_bytes and _vm_size_bytes():
        limit = _vm_size_bytes() + containment.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        active["memory_limit"] = True
    root = containment.uid is not None and is_root()
    if root and LINUX:
        active["network_namespace"] = _libc.unshare(CLONE_NEWNET) == 0
    active.update(_restrict_filesystem(containment, root))
    if root and containment.uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        os.setgroups([])
        os.setgid(containment.uid)
        os.setuid(containment.uid)
        active["unprivileged_user"] = os.getuid() == containment.uid
    return active


def _restrict_filesystem(containment: Containment, root: bool) -> dict[str, bool]:
    devices = [path for path in (*DEVICE_FILES, *glob.glob("/dev/nvidia*")) if os.path.exists(path)]
    active = filesystem.restrict_with_landlock(filesystem.library_folders() + list(containment.readable),
                                               [containment.private_dir, *devices])
    if not active["filesystem_allowlist"] and root:
        hidden = [*containment.hidden, *filesystem.paths_to_hide()]
        active["hidden_paths"] = filesystem.hide_with_mount_namespace(hidden)
    return active


def close_fds_except(keep: set[int]) -> None:
    """Close every file descriptor of this process but ``keep`` (a forked worker holds nothing else)."""
    highest = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    start = 0
    for fd in sorted(keep) + [highest]:
        if fd > start:  # os.closerange(n, n) closes every descriptor on some Pythons (close_range underflow)
            os.closerange(start, fd)
        start = fd + 1


def _vm_size_bytes() -> int:
    """This process's address-space size (0 where /proc does not tell it)."""
    return _status_kib("self", "VmSize:") * 1024


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` (0 when it is gone, or where /proc does not tell it)."""
    return _status_kib(pid, "VmRSS:") * 1024


def _status_kib(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            return next((int(line.split()[1]) for line in status if line.startswith(field)), 0)
    except OSError:
        return 0


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
"""glibc's mallopt parameters."""


def lean_allocator() -> None:
    """Make glibc's malloc give memory back (Linux; elsewhere nothing): blocks of 1 MiB and more are mapped on their
    own and returned when freed (a fixed threshold: glibc's grows after each such free, and a training's tensors
    would then pile up in the heap), the heap trimmed beyond 4 MiB, and two arenas for all threads."""
    if not LINUX:
        return
    for parameter, value in ((M_MMAP_THRESHOLD, 1 << 20), (M_TRIM_THRESHOLD, 4 << 20), (M_ARENA_MAX, 2)):
        _libc.mallopt(parameter, value)


def oom_kills(root: str = "/sys/fs/cgroup") -> tuple[int, int | None]:
    """(processes the kernel killed for memory in this process's memory cgroup so far, the cgroup's memory limit in
    bytes or None), read from cgroup v2 ``memory.events``/``memory.max`` or v1 ``memory.oom_control``/
    ``memory.limit_in_bytes``; (0, None) where there is no such cgroup."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            lines = [line.split(":", 2) for line in handle.read().splitlines()]
    except OSError:
        return 0, None
    for _, controllers, path in lines:
        v2 = controllers == ""
        if not v2 and "memory" not in controllers.split(","):
            continue
        folder = os.path.join(root, path.strip("/")) if v2 else os.path.join(root, "memory", path.strip("/"))
        events = _fields(os.path.join(folder, "memory.events" if v2 else "memory.oom_control"))
        if "oom_kill" in events:
            limit = _fields(os.path.join(folder, "memory.max" if v2 else "memory.limit_in_bytes"), single=True)
            return int(events["oom_kill"]), int(limit["value"]) if limit.get("value", "").isdigit() else None
    return 0, None


def _fields(path: str, single: bool = False) -> dict[str, str]:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return {}
    if single:
        return {"value": text}
    return dict(line.split(None, 1) for line in text.splitlines() if " " in line)


def first_to_go_when_memory_runs_out() -> None:
    """Ask the kernel to kill this process first when the machine or the container runs out of memory: a worker
    (a student's code) goes, and the grader lives to report it (Linux; elsewhere nothing)."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adjust:
            adjust.write("1000")
    except OSError:
        pass


def become_subreaper() -> bool:
    """Make orphaned descendants of this process re-parent to it (so they can be found and killed)."""
    return LINUX and bool(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def kill_uid(uid: int) -> None:
    """SIGKILL every process running as ``uid`` (a forked helper switches to it and signals -1)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(3):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, uid) of every live process; zombies (already dead, not yet reaped) are left out."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if fields["State"].split()[0] not in ("Z", "X"):
                found.append((int(entry), int(fields["PPid"]), int(fields["Uid"].split()[0])))
        except (OSError, KeyError, ValueError, IndexError):
            pass
    return found


def kill_strays(uid: int | None, worker_pid: int, reaper_pid: int) -> int:
    """SIGKILL every process the worker started, keeping the worker itself; returns how many were killed.

    With an unprivileged ``uid``: every process of that uid. Otherwise: the worker's descendants and the
    children of ``reaper_pid`` (the subreaper that orphans re-parent to) other than the worker.
    """
    killed = 0
    for _ in range(20):
        processes = _processes()
        if uid is not None:
            strays = {pid for pid, _, owner in processes if owner == uid}
        else:
            strays = _descendants(worker_pid, processes) | {pid for pid, ppid, _ in processes if ppid == reaper_pid}
        strays -= {worker_pid, reaper_pid, os.getpid()}
        if not strays:
            return killed
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return killed


def _descendants(root: int, processes: list[tuple[int, int, int]]) -> set[int]:
    children: dict[int, set[int]] = {}
    for pid, ppid, _ in processes:
        children.setdefault(ppid, set()).add(pid)
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = set().union(*(children.get(pid, set()) for pid in frontier)) - found
        found |= frontier
    return found

"""Operating-system containment of the worker: privileges, network, memory, and cleaning up after it."""
from __future__ import annotations

import ctypes
import os
import resource
import signal
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
PR_SET_CHILD_SUBREAPER = 36
MAX_FILE_BYTES = 2**30
"""Largest file the worker may write (a submission filling the disk gets SIGXFSZ)."""
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Containment:
    """What the worker applies to itself after importing trusted code and before importing the submission."""

    uid: int | None
    """Unprivileged uid/gid to switch to (only when started as root), else None."""
    memory_bytes: int | None
    """Address space the worker may add beyond what it holds after its imports; None for no limit."""
    max_processes: int = 256


def is_root() -> bool:
    return os.geteuid() == 0


def worker_uid(grader_pid: int) -> int:
    """A uid used by no account and by no other concurrent grader: derived from the grader's pid."""
    return 2_000_000 + grader_pid % 1_000_000


def apply(containment: Containment) -> dict[str, bool]:
    """Contain the calling process; return which protections are active (missing ones are False)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    active = {"separate_process": True, "own_session": os.getsid(0) == os.getpid(), "memory_limit": False,
              "network_namespace": False, "unprivileged_user": False}
    if containment.memory_bytes:
        current = _vm_size_bytes()
        limit = current + containment.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        active["memory_limit"] = True
    if containment.uid is not None and is_root():
        active["network_namespace"] = _libc.unshare(CLONE_NEWNET) == 0
        resource.setrlimit(resource.RLIMIT_NPROC, (containment.max_processes, containment.max_processes))
        os.setgroups([])
        os.setgid(containment.uid)
        os.setuid(containment.uid)
        active["unprivileged_user"] = os.getuid() == containment.uid
    return active


def _vm_size_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def become_subreaper() -> bool:
    """Make orphaned descendants of this process re-parent to it (so they can be found and killed)."""
    return _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


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


def children_of(parent: int) -> set[int]:
    """The pids whose parent is ``parent``."""
    children = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == parent:
                    children.add(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return children


def kill_strays(uid: int | None, worker_pid: int, exclude: set[int] = frozenset()) -> int:
    """SIGKILL every process the worker started, keeping the worker itself; returns how many were killed.

    With an unprivileged ``uid``: every process of that uid. Otherwise: the worker's descendants and this
    process's children other than the worker and ``exclude`` (orphans re-parented to a subreaper).
    """
    killed = 0
    for _ in range(20):
        strays = _processes_of(uid) if uid is not None else _descendants(worker_pid) | children_of(os.getpid())
        strays -= {worker_pid, os.getpid(), *exclude}
        if not strays:
            return killed
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        _reap(strays)
    return killed


def _reap(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _status_fields(pid: str) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as status:
            return dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return {}


def _processes_of(uid: int) -> set[int]:
    return {int(pid) for pid in os.listdir("/proc") if pid.isdigit()
            and _status_fields(pid).get("Uid", "").split()[:1] == [str(uid)]}


def _descendants(root: int) -> set[int]:
    parents = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            ppid = _status_fields(pid).get("PPid", "").strip()
            if ppid.isdigit():
                parents.setdefault(int(ppid), set()).add(int(pid))
    found, frontier = set(), {root}
    while frontier:
        children = set().union(*(parents.get(pid, set()) for pid in frontier)) - found
        found |= children
        frontier = children
    return found

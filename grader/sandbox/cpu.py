"""A call's time budget, charged in the CPU time its worker (and what the worker started) used: waiting for a core
on a busy machine costs the student nothing; a wall-time ceiling still ends code that sleeps or blocks."""
from __future__ import annotations

import os
from dataclasses import dataclass

import psutil

RETRY_FACTOR = 2.0
"""A call over its budget runs once more, on a fresh worker, with this many times the budget."""


@dataclass(frozen=True)
class CallBudget:
    """What one call may use: ``cpu_seconds`` of CPU time (the worker's process tree), and ``wall_seconds`` of
    wall time from when the worker was sent the request."""

    cpu_seconds: float
    wall_seconds: float

    def larger(self) -> CallBudget:
        """The budget of the one retry."""
        return CallBudget(self.cpu_seconds * RETRY_FACTOR, self.wall_seconds * RETRY_FACTOR)


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") and "SC_CLK_TCK" in os.sysconf_names else 100


class CPUClock:
    """Reads the CPU seconds (user + system) used by one worker: its own and its reaped children's at once, and,
    while a call runs long enough to be checked, its live descendants' too. On Linux the first reading is one
    ``pread`` of /proc/PID/stat kept open (a few microseconds: every call reads it twice), elsewhere psutil's."""

    def __init__(self, pid: int):
        try:
            self.process: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self.process = None
        try:
            self._stat: int | None = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        except OSError:
            self._stat = None

    def own(self) -> float | None:
        """The worker's CPU seconds with its reaped children's (cheap: one read)."""
        if self._stat is not None:
            try:
                fields = os.pread(self._stat, 1024, 0).rsplit(b")", 1)[1].split()
                return sum(int(field) for field in fields[11:15]) / TICK  # utime stime cutime cstime
            except (OSError, IndexError, ValueError):
                pass
        if self.process is None:
            return None
        try:
            times = self.process.cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system + times.children_user + times.children_system

    def close(self) -> None:
        if self._stat is not None:
            os.close(self._stat)
            self._stat = None

    def tree(self) -> float | None:
        """:meth:`own` plus the CPU seconds of every live descendant (a scan of the process table)."""
        own = self.own()
        if own is None or self.process is None:
            return own
        try:
            children = self.process.children(recursive=True)
        except psutil.Error:
            return own
        for child in children:
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            own += times.user + times.system
        return own


def available_cpus(root: str = "/sys/fs/cgroup") -> float:
    """How many CPUs this process may use: the cores it may run on, capped by the CPU quota of its cgroup and of
    every cgroup above it (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``; a Gradescope container's half a vCPU is 0.5)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quotas = [quota for quota in _cgroup_quotas(root) if quota > 0]
    return min([float(cores), *quotas])


def _cgroup_quotas(root: str) -> list[float]:
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    quotas = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: cpu.max in the process's cgroup and each one above it
            folders = [os.path.join(root, path.strip("/"))] if path.strip("/") else [root]
            while folders[-1] != root:
                folders.append(os.path.dirname(folders[-1]))
            quotas += [_ratio(os.path.join(folder, "cpu.max"), None) for folder in folders]
        elif "cpu" in controllers.split(","):
            folder = os.path.join(root, "cpu", path.strip("/")) if os.path.isdir(os.path.join(root, "cpu")) else \
                os.path.join(root, controllers, path.strip("/"))
            quotas.append(_ratio(os.path.join(folder, "cpu.cfs_quota_us"), os.path.join(folder, "cpu.cfs_period_us")))
    return [quota for quota in quotas if quota is not None]


def _ratio(quota_file: str, period_file: str | None) -> float | None:
    """A CPU quota in CPUs (None when unlimited or unreadable)."""
    try:
        with open(quota_file, encoding="ascii") as handle:
            fields = handle.read().split()
        if period_file is not None:
            with open(period_file, encoding="ascii") as handle:
                fields.append(handle.read().strip())
    except OSError:
        return None
    if len(fields) < 2 or fields[0] in ("max", "-1"):
        return None
    try:
        return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        return None

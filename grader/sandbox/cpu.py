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

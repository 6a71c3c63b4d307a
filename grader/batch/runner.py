"""Grading a class: a pool of batch grader processes (each with its own fork server), a deadline per
submission, and one answer per entry whatever happens (a crash, a timeout or a malformed upload is a row of
zeros with the reason). Imports no torch: the grader processes do."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..sandbox.zygote import SERVER_STARTUP_SECONDS
from .entries import Entry
from .gradebook import Answer

PROCESS_STARTUP_SECONDS = SERVER_STARTUP_SECONDS + 60
"""How long a grader process may take to start before its first answer: its fork server's start (importing torch)
and a minute for its own imports."""


@dataclass
class _Slot:
    """One grader process and the entry it is grading."""

    process: subprocess.Popen[bytes]
    requests: IO[bytes]
    answers: IO[bytes]
    entry: Entry | None = None
    deadline: float = 0.0
    started: float = 0.0
    fresh: bool = True
    buffer: bytearray = field(default_factory=bytearray)


GRADER_PROCESS = (sys.executable, "-m", "grader.batch.grader_process")


def thread_environment(processes: int) -> dict[str, str]:
    """This environment with torch's thread count set so that ``processes`` grader processes share the usable
    cores (an explicit OMP_NUM_THREADS is kept). Several processes each running all-core OpenMP on small
    tensors oversubscribe the cores and slow every check down (measured: 5.3 s a submission instead of 2.2 s
    with 2 processes on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = str(max(1, cores // max(1, processes)))
    environment = {**os.environ, "PYTHONHASHSEED": "0"}  # each process forks its fork server (see grader.cli)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment.setdefault(name, environment.get("OMP_NUM_THREADS", threads))
    return environment


class GraderPool:
    """Up to ``workers`` grader processes (``command``, see :mod:`grader.batch.grader_process`), started on demand and
    replaced when one dies or is killed."""

    def __init__(self, settings: dict[str, Any], workers: int, log: Path, command: tuple[str, ...] = GRADER_PROCESS,
                 startup_seconds: float = PROCESS_STARTUP_SECONDS):
        self.settings = json.dumps(settings)
        self.startup_seconds = startup_seconds
        self.workers = max(1, workers)
        self.log = open(log, "ab")
        self.command = command
        self.slots: list[_Slot] = []
        self.environment = thread_environment(self.workers)

    def _start(self) -> _Slot:
        process = subprocess.Popen(list(self.command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=self.log, start_new_session=True, env=self.environment)
        assert process.stdin is not None and process.stdout is not None  # started with both pipes
        process.stdin.write(self.settings.encode() + b"\n")
        process.stdin.flush()
        os.set_blocking(process.stdout.fileno(), False)
        return _Slot(process, process.stdin, process.stdout)

    def grade(self, entries: list[Entry], limit_seconds: float,
              on_answer: Callable[[Entry, Answer], None]) -> None:
        """Grade every entry, calling ``on_answer(entry, answer)`` once per entry, in completion order."""
        queue = deque(entries)
        while queue or any(slot.entry for slot in self.slots):
            self._assign(queue, limit_seconds)
            for slot, entry, answer in self._collect():
                slot.entry = None
                answer.setdefault("seconds", time.monotonic() - slot.started)
                on_answer(entry, answer)

    def _assign(self, queue: deque[Any], limit_seconds: float) -> None:
        while queue:
            idle = next((slot for slot in self.slots if slot.entry is None), None)
            if idle is None and len(self.slots) < self.workers:
                idle = self._start()
                self.slots.append(idle)
            if idle is None:
                return
            entry = queue.popleft()
            idle.entry, idle.started = entry, time.monotonic()
            idle.deadline = idle.started + limit_seconds + (self.startup_seconds if idle.fresh else 0)
            try:
                idle.requests.write(json.dumps({"name": entry.name, "path": str(entry.path)}).encode() + b"\n")
                idle.requests.flush()
            except BrokenPipeError:
                pass  # noticed as a dead process when collecting

    def _collect(self) -> list[tuple[_Slot, Entry, Answer]]:
        """(slot, its entry, the answer) of each slot whose grading ended (answered, died or ran out of time)."""
        busy = [(slot, slot.entry) for slot in self.slots if slot.entry is not None]
        if not busy:
            return []
        readable, _, _ = select.select([slot.answers for slot, _ in busy], [], [], 1.0)
        answers = []
        for slot, entry in busy:
            if slot.answers in readable:
                answers += [(slot, entry, answer) for answer in self._read(slot, entry)]
            elif time.monotonic() > slot.deadline:
                answers.append((slot, entry, _zero(entry, "timeout: grading took longer than the limit of "
                                                          f"{slot.deadline - slot.started:.0f} s")))
                self._replace(slot)
        return answers

    def _read(self, slot: _Slot, entry: Entry) -> list[Answer]:
        try:
            chunk = os.read(slot.answers.fileno(), 1 << 20)
        except BlockingIOError:
            return []
        if not chunk:
            self._replace(slot)
            return [_zero(entry, "grader error: the grader process died (see the log)")]
        slot.buffer += chunk
        if b"\n" not in slot.buffer:
            return []
        line, _, rest = bytes(slot.buffer).partition(b"\n")
        slot.buffer = bytearray(rest)
        slot.fresh = False
        return [json.loads(line)]

    def _replace(self, slot: _Slot) -> None:
        """Kill a slot's grader process (and everything in its session); a new one starts on demand."""
        _kill_session(slot.process)
        self.slots.remove(slot)

    def close(self) -> None:
        for slot in self.slots:
            try:
                slot.requests.close()
                slot.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                _kill_session(slot.process)
        self.slots.clear()
        self.log.close()

    def __enter__(self) -> GraderPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _kill_session(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.kill()
    process.wait()


def _zero(entry: Entry, reason: str) -> Answer:
    return {"name": entry.name, "status": reason, "report": None}

"""One running worker seen from the grader: its pipes, the exchange of frames, and its captured output."""
from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..outcomes import FailureKind
from ..report.printed import cut_marker
from . import protocol
from .cpu import CPUClock
from .reply import Failure

CPU_CHECK_SECONDS = 0.1
"""How often a running call's CPU time is compared with its budget."""

SIGNAL_NAMES = {getattr(signal, name): text for name, text in (
    ("SIGSEGV", "a segmentation fault (SIGSEGV)"), ("SIGKILL", "SIGKILL"), ("SIGABRT", "an abort (SIGABRT)"),
    ("SIGBUS", "a bus error (SIGBUS)"), ("SIGFPE", "a floating-point exception (SIGFPE)"), ("SIGTERM", "SIGTERM"),
    ("SIGXFSZ", "SIGXFSZ (a file larger than 1 GiB)")) if hasattr(signal, name)}
"""(Windows has only some of these signals: the names are looked up, not assumed.)"""


def timed_out(timeout: float) -> Failure:
    return Failure(FailureKind.TIMEOUT, f"did not finish within the time limit of {_seconds(timeout)}")


def over_memory(limit: int) -> Failure:
    return Failure(FailureKind.MEMORY, f"used more than the memory limit of {limit >> 20} MiB")


def output_flood(output: CappedOutput) -> Failure:
    return Failure(FailureKind.FLOOD, f"printed more than {(output.flood or 0) >> 20} MiB (an output flood: stopped "
                                      "there)")


@dataclass
class CPUWatch:
    """A call's CPU budget, watched while the grader waits: the worker's process tree may use ``limit`` CPU seconds
    beyond ``start`` (its reading when the request was sent)."""

    clock: CPUClock
    start: float
    limit: float
    next_check: float = 0.0
    """When the process table is next read (the first time CPU_CHECK_SECONDS after the wait began: most calls are
    answered sooner and never pay for a scan)."""

    def exceeded(self, now: float) -> Failure | None:
        if not self.next_check:
            self.next_check = now + CPU_CHECK_SECONDS
        if now < self.next_check:
            return None
        self.next_check = now + CPU_CHECK_SECONDS
        used = self.clock.tree()
        if used is not None and used - self.start > self.limit:
            return Failure(FailureKind.TIMEOUT, f"used more than {_seconds(self.limit)} of CPU time", limit="cpu")
        return None


@dataclass
class CallWatch:
    """The limits of one call while the grader waits for its reply: the wall-clock ``timeout``, the CPU budget
    (``cpu``), and the worker's resident memory against ``rss_limit``, read every ``memory_every`` seconds. Both
    channels' receive loops ask :meth:`breach` before each wait and wait at most :meth:`wait`."""

    timeout: float
    cpu: CPUWatch | None
    rss_limit: int | None
    rss_bytes: Callable[[], int]
    memory_every: float
    deadline: float = field(init=False, default=0.0)
    next_memory_check: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + max(self.timeout, 0.01)

    def breach(self) -> Failure | None:
        """The first limit the call has passed (time, CPU, memory), or None while it may go on."""
        now = time.monotonic()
        if now >= self.deadline:
            return timed_out(self.timeout)
        over = self.cpu.exceeded(now) if self.cpu is not None else None
        if over is not None:
            return over
        if self.rss_limit and now >= self.next_memory_check:
            if self.rss_bytes() > self.rss_limit:
                return over_memory(self.rss_limit)
            self.next_memory_check = now + self.memory_every
        return None

    def wait(self, most: float) -> float:
        """How long the next wait may block: ``most`` seconds, never past the deadline."""
        return min(most, max(self.deadline - time.monotonic(), 0.001))


class WorkerChannel(Protocol):
    """What the host needs of a running worker: :class:`Channel` (Linux, forked) or
    :class:`grader.sandbox.portable.PortableChannel` (its own interpreter)."""

    pid: int
    rss_limit: int | None

    def send(self, name: str, payload: dict[str, Any]) -> tuple[int, memoryview]: ...

    def receive(self, expected_id: int | str, timeout: float, output: CappedOutput,
                unsent: memoryview | None = None, cpu: CPUWatch | None = None) -> dict[str, Any] | Failure: ...

    def rss_bytes(self) -> int: ...

    def close(self) -> None: ...


TAIL_BYTES = 4096
"""How much of the end of an output beyond the cap is kept (the last lines a student printed)."""


class CappedOutput:
    """The student's output of one call: at most ``cap`` bytes kept, its head and its last TAIL_BYTES, the rest read
    and counted, up to ``flood`` bytes in all (beyond, the call is stopped: see :attr:`flooded`)."""

    def __init__(self, cap: int, flood: int | None = None):
        self.cap, self.flood, self.data, self.dropped = cap, flood, bytearray(), 0
        self.tail = bytearray()

    @property
    def flooded(self) -> bool:
        return self.flood is not None and len(self.data) + self.dropped > self.flood

    def drain(self, fd: int) -> None:
        """Read everything waiting on the non-blocking ``fd``."""
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError:
                return
            if not chunk:
                return
            self.add(chunk)
            if self.flooded:
                return

    def add(self, chunk: bytes) -> None:
        """Keep what fits under the cap and the latest tail, count the rest."""
        room = max(self.cap - TAIL_BYTES - len(self.data), 0)
        self.data += chunk[:room]
        beyond = chunk[room:]
        self.dropped += len(beyond)
        self.tail = (self.tail + beyond)[-TAIL_BYTES:]

    def text(self) -> str:
        """What was kept: the head, and where more was printed a line saying how much, then the tail."""
        text = self.data.decode("utf-8", errors="replace")
        if not self.dropped:
            return text
        hidden = self.dropped - len(self.tail)
        total = len(self.data) + self.dropped
        middle = f"\n{cut_marker(hidden, total)}\n" if hidden else ""
        return text + middle + self.tail.decode("utf-8", errors="replace")


@dataclass
class Channel:
    """A worker process and the grader's ends of its three pipes (requests, replies, the student's output).

    ``exit_status(timeout)`` learns how the process ended (from the process that forked it).
    """

    pid: int
    request_fd: int
    reply_fd: int
    output_fd: int
    exit_status: Callable[[float], int | None]
    rss_limit: int | None = None
    oom_kills_at_start: int = field(default_factory=lambda: _oom_kills_now())
    reader: protocol.FrameReader = field(default_factory=protocol.FrameReader)
    sequence: int = 0

    def send(self, name: str, payload: dict[str, Any]) -> tuple[int, memoryview]:
        """Number and send a request; write what the pipe takes now, return (number, bytes still to write: a view,
        not a copy)."""
        self.sequence += 1
        request = memoryview(protocol.encode({"id": self.sequence, "call": name, "payload": payload}))
        try:
            written = os.write(self.request_fd, request)
        except (BlockingIOError, BrokenPipeError):
            written = 0
        return self.sequence, request[written:]

    def receive(self, expected_id: int | str, timeout: float, output: CappedOutput,
                unsent: memoryview | None = None, cpu: CPUWatch | None = None) -> dict[str, Any] | Failure:
        """Pump bytes until the reply ``expected_id`` arrives; a Failure for anything else (``timeout`` seconds
        of wall time or ``cpu``'s budget of CPU time passed, memory, a flood, the worker's death)."""
        pending = unsent if unsent is not None else memoryview(b"")
        watch = CallWatch(timeout, cpu, self.rss_limit, self.rss_bytes, memory_every=0.2)
        while (breach := watch.breach()) is None:
            readable, writable, _ = select.select([self.reply_fd, self.output_fd], [self.request_fd] if pending else [],
                                                  [], watch.wait(CPU_CHECK_SECONDS))
            if writable:
                try:
                    pending = pending[os.write(self.request_fd, pending[:1 << 20]):]
                except BrokenPipeError:
                    return self.death()
            if self.output_fd in readable:
                output.drain(self.output_fd)
                if output.flooded:
                    return output_flood(output)
            if self.reply_fd in readable:
                answer = self._read_reply(expected_id, output)
                if answer is not None:
                    return answer
        return breach

    def _read_reply(self, expected_id: int | str, output: CappedOutput) -> dict[str, Any] | Failure | None:
        try:
            chunk = os.read(self.reply_fd, 1 << 20)
        except BlockingIOError:
            return None
        if not chunk:
            output.drain(self.output_fd)
            return self.death()
        try:
            messages = self.reader.feed(chunk)
        except protocol.ProtocolError as error:
            return Failure(FailureKind.PROTOCOL, f"wrote something that is not a grader message ({error})")
        for message in messages:
            if not isinstance(message, dict) or message.get("id") != expected_id:
                return Failure(FailureKind.PROTOCOL, "wrote a message the grader did not ask for")
            output.drain(self.output_fd)
            return message
        return None

    def rss_bytes(self) -> int:
        """Resident memory of the worker (Linux: read from /proc)."""
        from . import limits

        return limits.rss_bytes(self.pid)

    def death(self) -> Failure:
        """Why the worker is gone, from its exit status (and, for SIGKILL, the kernel's count of processes it killed
        for memory)."""
        code = self.exit_status(5.0)
        if code is None:
            return Failure(FailureKind.CRASH, "closed its connection to the grader")
        if code < 0 and -code == signal.SIGKILL and self._killed_for_memory():
            return Failure(FailureKind.MEMORY, self._memory_death())
        if code < 0:
            name = SIGNAL_NAMES.get(-code, f"signal {-code}")
            hint = " (possibly out of memory)" if -code == signal.SIGKILL else ""
            return Failure(FailureKind.CRASH, f"the process was killed by {name}{hint}")
        return Failure(FailureKind.CRASH, f"the process exited with status {code} (e.g. sys.exit or os._exit)")

    def _killed_for_memory(self) -> bool:
        from . import limits

        return limits.oom_kills()[0] > self.oom_kills_at_start

    @staticmethod
    def _memory_death() -> str:
        from . import limits

        limit = limits.oom_kills()[1]
        where = f" (its container has {limit >> 20} MiB for the grader and your code together)" \
            if limit and limit < 2**50 else ""
        return f"the kernel killed it when this machine's memory ran out{where}"

    def close(self) -> None:
        for fd in (self.request_fd, self.reply_fd, self.output_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def _oom_kills_now() -> int:
    from . import limits

    return limits.oom_kills()[0]


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"

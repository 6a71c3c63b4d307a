"""How a Host's workers start and end: forked by the fork server and contained (:class:`LinuxWorkers`), or each its
own interpreter (:class:`PortableWorkers`, see :mod:`grader.sandbox.portable`); and which of the two a machine can
run (:func:`choose_sandbox`)."""
from __future__ import annotations

import math
import os
import signal
import socket
import sys
from typing import Any, Protocol

from .channel import Channel, WorkerChannel
from .zygote import Zygote


def choose_sandbox(requested: str = "auto") -> str:
    """``requested`` when forced; for "auto", "linux" where the Linux sandbox can run, else "portable"."""
    if requested != "auto":
        return requested
    return "linux" if linux_sandbox_available() else "portable"


def linux_sandbox_available() -> bool:
    """Linux with fork, SEQPACKET Unix sockets and resource limits (macOS and Windows lack some of them)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return False
    try:
        import resource  # noqa: F401 - only whether it exists matters

        first, second = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    except (ImportError, OSError, AttributeError):
        return False
    first.close()
    second.close()
    return True


class Workers(Protocol):
    """How a Host starts, cleans up after and ends its workers (Linux or portable)."""

    uid: int | None

    def launch(self, config: dict[str, Any]) -> WorkerChannel: ...

    def end_check(self, channel: WorkerChannel) -> int: ...

    def terminate(self, channel: WorkerChannel) -> None: ...

    def close(self) -> None: ...


class LinuxWorkers:
    """Workers forked by the fork server, each switched to its own uid (as root) and contained (Landlock, network
    namespace, resource limits)."""

    def __init__(self, zygote: Zygote | None, contain: bool):
        from . import limits

        self.limits = limits
        self.zygote, self.owns_zygote = zygote or Zygote(), zygote is None
        self.uid = limits.next_worker_uid() if contain and limits.is_root() else None

    def launch(self, config: dict[str, Any]) -> Channel:
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            pid = self.zygote.spawn(config, (request_r, reply_w, output_w))
        finally:
            for fd in (request_r, reply_w, output_w):
                os.close(fd)
        for fd in (request_w, reply_r, output_r):
            os.set_blocking(fd, False)
        return Channel(pid, request_w, reply_r, output_r, lambda timeout: self.zygote.exit_status(pid, timeout))

    def end_check(self, channel: WorkerChannel) -> int:
        return self.limits.kill_strays(self.uid, channel.pid, self.zygote.pid)

    def terminate(self, channel: WorkerChannel) -> None:
        if self.uid is not None:
            self.limits.kill_uid(self.uid)
        for kill in (os.killpg, os.kill):
            try:
                kill(channel.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.zygote.exit_status(channel.pid, 5.0)
        self.limits.kill_strays(self.uid, channel.pid, self.zygote.pid)
        channel.close()

    def close(self) -> None:
        if self.owns_zygote:
            self.zygote.close()


class PortableWorkers:
    """Workers started as their own interpreters (see :mod:`grader.sandbox.portable`), as the current user."""

    def __init__(self) -> None:
        from .portable import PortableLauncher

        self.uid: int | None = None
        self.launcher = PortableLauncher()

    def launch(self, config: dict[str, Any]) -> WorkerChannel:
        from .cpu import available_cpus

        threads = int(os.environ.get("OMP_NUM_THREADS") or max(1, math.ceil(available_cpus())))
        return self.launcher.launch(config, threads)

    def end_check(self, channel: WorkerChannel) -> int:
        from .portable import PortableChannel

        return channel.kill_children() if isinstance(channel, PortableChannel) else 0

    def terminate(self, channel: WorkerChannel) -> None:
        channel.close()

    def close(self) -> None:
        pass

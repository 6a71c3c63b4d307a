"""The fork server: one clean process that has imported torch and the worker's trusted code, and forks a fresh
worker per request, so a worker costs milliseconds instead of an interpreter start and a torch import.

The server knows nothing of the grading job (its argv, environment and working folder say nothing about the
submission, the rubric or the results), so a forked worker inherits nothing secret. It runs torch's warm-up
with one thread, because a process forked after OpenMP started its thread pool deadlocks in its first parallel
region; each worker restores the thread count. It never touches CUDA: each worker initialises CUDA itself.

Protocol over a SOCK_SEQPACKET Unix socket, one JSON message per packet:
    server -> grader   {"ready": true, "pid": ..., "threads": ...}            once, when the imports are done
    grader -> server   {"op": "spawn", "config": {...}} + 3 fds              (requests, replies, output)
    server -> grader   {"pid": worker pid}
    grader -> server   {"op": "status", "pid": ..., "timeout": seconds}
    server -> grader   {"status": exit status (negative: killed by that signal), or null if still running}
The server exits, killing its workers, when the grader's end of the socket closes.
"""
from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVER_STARTUP_SECONDS = 120
"""How long the fork server may take to import torch, warm up and say ready."""
PR_SET_PDEATHSIG = 1
PACKET_BYTES = 1 << 16


class GraderError(Exception):
    """The grader itself could not do its job (not the submission's fault)."""


# ---------------------------------------------------------------- the server (its own process)

def serve(control: socket.socket) -> None:
    """Import and warm up, say ready, then fork workers on request until the grader goes away."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # gone with the grader
    os.chdir("/")
    import torch

    from . import limits, worker

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    worker.prepare()
    limits.become_subreaper()
    _send(control, {"ready": True, "pid": os.getpid(), "threads": threads})
    exits: dict[int, int | None] = {}
    try:
        while _handle_one(control, exits, threads):
            pass
    finally:
        _kill_all(exits)


def _handle_one(control: socket.socket, exits: dict[int, int | None], threads: int) -> bool:
    readable, _, _ = select.select([control], [], [], 0.2)
    _reap(exits)
    if not readable:
        return True
    try:
        data, fds, _, _ = socket.recv_fds(control, PACKET_BYTES, 3)
    except OSError:
        return False
    if not data:
        return False
    request = json.loads(data)
    if request["op"] == "spawn":
        pid = _fork_worker(control, request["config"], fds, threads)
        exits[pid] = None
        _send(control, {"pid": pid})
    elif request["op"] == "status":
        _send(control, {"status": _wait(exits, request["pid"], request["timeout"])})
    return True


def _fork_worker(control: socket.socket, config: dict[str, Any], fds: list[int], threads: int) -> int:
    from . import worker

    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            control.close()
            worker.run(config, *fds, threads=threads)
        finally:
            os._exit(3)
    for fd in fds:
        os.close(fd)
    return pid


def _reap(exits: dict[int, int | None]) -> None:
    """Collect every ended child (workers, and orphans that re-parented here); keep the workers' statuses."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in exits:
            exits[pid] = os.waitstatus_to_exitcode(status)


def _wait(exits: dict[int, int | None], pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while exits.get(pid) is None and time.monotonic() < deadline:
        _reap(exits)
        time.sleep(0.01)
    return exits.get(pid)


def _kill_all(exits: dict[int, int | None]) -> None:
    for pid, status in exits.items():
        if status is None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.send(json.dumps(message).encode())


# ---------------------------------------------------------------- the grader's handle

class Zygote:
    """The grader's handle on a fork server: launched at once (it imports torch while the grader works),
    relaunched if it dies. Not thread-safe: one per grading process."""

    def __init__(self) -> None:
        self._log = tempfile.TemporaryFile()
        self.info: dict[str, Any] | None = None
        self._control, self.process = self._launch()

    def _launch(self) -> tuple[socket.socket, subprocess.Popen[bytes]]:
        control, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.zygote", str(child.fileno())], pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=environment(), cwd="/",
            start_new_session=True)
        child.close()
        self.info = None
        return control, process

    @property
    def pid(self) -> int:
        return self.process.pid

    def ready(self) -> dict[str, Any]:
        """Wait for the server's imports; raises GraderError (with its output) when it cannot start."""
        if self.process.poll() is not None and self.info is not None:
            self._control.close()
            self._control, self.process = self._launch()
        if self.info is None:
            message = self._receive(SERVER_STARTUP_SECONDS)
            if not message or not message.get("ready"):
                raise GraderError(f"the sandbox's fork server did not start:\n{self._log_tail()}")
            self.info = message
        return self.info

    def spawn(self, config: dict[str, Any], fds: tuple[int, int, int]) -> int:
        """Fork a worker that serves requests on ``fds`` (requests, replies, output) with ``config``."""
        self.ready()
        socket.send_fds(self._control, [json.dumps({"op": "spawn", "config": config}).encode()], list(fds))
        reply = self._receive(30)
        if not reply or "pid" not in reply:
            raise GraderError(f"the sandbox's fork server did not fork a worker:\n{self._log_tail()}")
        return int(reply["pid"])

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """How worker ``pid`` ended (negative: the signal that killed it); None when unknown or still running."""
        if self.process.poll() is not None:
            return None
        try:
            _send(self._control, {"op": "status", "pid": pid, "timeout": timeout})
        except OSError:
            return None
        reply = self._receive(timeout + 10)
        status = reply.get("status") if reply else None
        return int(status) if status is not None else None

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        readable, _, _ = select.select([self._control], [], [], timeout)
        if not readable:
            return None
        data = self._control.recv(PACKET_BYTES)
        return json.loads(data) if data else None

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def close(self) -> None:
        """Stop the server; it kills every worker it forked."""
        self._control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def environment() -> dict[str, str]:
    """A clean environment: enough to import the grader and run torch, nothing about the grading job."""
    keep = ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[2]), PYTHONDONTWRITEBYTECODE="1",
               PYTHONHASHSEED="0", MPLBACKEND="Agg")
    return env


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))

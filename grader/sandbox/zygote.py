"""The fork server: one clean process that has imported torch and the worker's trusted code, and forks a fresh
worker per request, so a worker costs milliseconds instead of an interpreter start and a torch import.

It is made one of two ways. Forked from the grading process itself (:func:`can_fork_here`: Linux, torch not yet
imported there, str hashing fixed): that process imports torch and the worker's trusted code once, single-threaded,
then forks, so the grader, the server and every worker share one copy of torch's pages (copy-on-write: one torch
per container, which Gradescope's 768 MB need), and the grader goes on. Otherwise (a process that has already used
torch, a relaunch after the server died) it is its own interpreter started with a clean environment.

Either way the server knows nothing of the grading job: it is made before the rubric or the data are read, a forked
one clears its environment and scrubs the memory of its inherited argv and environment (so /proc/self/cmdline and
/proc/self/environ say nothing about the submission, the rubric or the results), and a worker inherits nothing
secret. Torch's warm-up runs with one thread, because a process forked after OpenMP started its thread pool
deadlocks in its first parallel region; each worker (and a grader that forked the server) restores the thread
count. It never touches CUDA: each worker initialises CUDA itself.

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
import gc
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SERVER_NAME = "autograde-fork-server"
FORKED_MARK = "AUTOGRADE_FORKED_SERVER"
"""Set in a forked server's environment (its ready message says how it was made)."""
FORGOTTEN = frozenset({"Namespace", "GradingOptions", "GradingSetup", "Located"})
"""The grader's objects a forked server empties: nothing a worker inherits names the grading job's paths."""
NO_FORK = "AUTOGRADE_NO_FORK"
"""Set (to anything) to always launch the fork server as its own interpreter."""
SERVER_STARTUP_SECONDS = 120
"""How long the fork server may take to import torch, warm up and say ready."""
PR_SET_PDEATHSIG = 1
PACKET_BYTES = 1 << 16


class GraderError(Exception):
    """The grader itself could not do its job (not the submission's fault)."""


# ---------------------------------------------------------------- the server (its own process)

def serve(control: socket.socket, threads: int | None = None) -> None:
    """Import and warm up (unless ``threads`` says a forking grader did it already, with that many threads of its
    own), say ready, then fork workers on request until the grader goes away."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # gone with the grader
    os.chdir("/")
    from . import limits, worker

    if threads is None:
        threads = prepare_single_threaded()
    worker.install_recorders()
    limits.become_subreaper()
    limits.lean_allocator()
    gc.freeze()  # what every worker inherits: never scanned by its collector, so its pages stay shared
    _send(control, {"ready": True, "pid": os.getpid(), "threads": threads,
                    "forked": os.environ.get(FORKED_MARK) == "1"})
    exits: dict[int, int | None] = {}
    try:
        while _handle_one(control, exits, threads):
            pass
    finally:
        _kill_all(exits)


def prepare_single_threaded() -> int:
    """Import torch and what every worker needs, and warm up, with one torch thread; the threads a worker should use:
    torch's own count, at most the CPUs this process may use (a container's quota: half a vCPU gets one thread, not
    one per core of the host)."""
    import torch

    from . import worker
    from .cpu import available_cpus

    threads = max(1, min(torch.get_num_threads(), math.ceil(available_cpus())))
    torch.set_num_threads(1)
    worker.prepare()
    return threads


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

class ForkedProcess:
    """The part of subprocess.Popen's interface the handle uses, for a server this process forked."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"fork server {self.pid}", timeout or 0.0)
            time.sleep(0.01)
        return code

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def can_fork_here() -> bool:
    """Whether this process may fork the fork server itself: Linux, torch not imported yet (so no OpenMP thread pool
    and no CUDA state to inherit), one thread, and str hashing fixed (PYTHONHASHSEED=0: workers hash as an
    interpreter launched by :func:`environment` would)."""
    return sys.platform.startswith("linux") and "torch" not in sys.modules and threading.active_count() == 1 \
        and os.environ.get("PYTHONHASHSEED") == "0" and not os.environ.get(NO_FORK)


class Zygote:
    """The grader's handle on a fork server: forked from this process where :func:`can_fork_here` (one torch for
    the grader, the server and the workers), else launched as its own interpreter (it imports torch while the grader
    works); relaunched, as its own interpreter, if it dies. Not thread-safe: one per grading process."""

    def __init__(self, *, fork: bool | None = None) -> None:
        from . import limits

        limits.lean_allocator()  # the grading process too gives back what the accuracy stage's data took
        self._log = tempfile.TemporaryFile()
        self.info: dict[str, Any] | None = None
        self.forked = can_fork_here() if fork is None else fork
        self.process: ForkedProcess | subprocess.Popen[bytes]
        self._control, self.process = self._fork() if self.forked else self._launch()

    def _fork(self) -> tuple[socket.socket, ForkedProcess]:
        """Prepare torch and the worker's code here, single-threaded, fork the server, restore the threads."""
        import torch

        threads = prepare_single_threaded()
        control, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()  # torch's objects stay out of both collectors' scans: their pages stay shared with the server
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                _forget_the_grader(child.fileno(), self._log.fileno())
                serve(child, threads=threads)
            finally:
                os._exit(0)
        child.close()
        torch.set_num_threads(threads)
        return control, ForkedProcess(pid)

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
            self.forked = False  # this process has used torch since: a fresh interpreter now
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

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _forget_the_grader(control_fd: int, log_fd: int) -> None:
    """In a forked server: its own session, only its control socket and its log open, the environment a launched
    server would have, and the memory of the grader's argv and environment blocks overwritten."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    from . import limits

    limits.close_fds_except({0, 1, 2, control_fd})
    os.environ.clear()
    os.environ.update(environment(), **{FORKED_MARK: "1"})
    sys.argv = [SERVER_NAME]
    _scrub_process_blocks()
    for obj in gc.get_objects():  # the grader's parsed command line and options: what to grade, where results go
        if type(obj).__name__ in FORGOTTEN and hasattr(obj, "__dict__"):
            obj.__dict__.clear()


def _scrub_process_blocks() -> None:
    """Overwrite the inherited argv and environment blocks (what /proc/self/cmdline and /proc/self/environ show):
    the server's name in the one, zeros in the other. Python holds copies of both; libc's environ was reset above."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        arg_start, arg_end, env_start, env_end = (int(value) for value in fields[45:49])
    except (OSError, ValueError, IndexError):
        return
    name = SERVER_NAME.encode()[:max(arg_end - arg_start - 1, 0)]
    ctypes.memset(arg_start, 0, arg_end - arg_start)
    ctypes.memmove(arg_start, name, len(name))
    ctypes.memset(env_start, 0, env_end - env_start)


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

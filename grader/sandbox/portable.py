"""The portable sandbox: where the Linux one cannot run (Windows, macOS, a container without its kernel features).

Each worker is a fresh ``python -m grader.sandbox.portable`` process (no fork, no fork server): requests on its stdin,
replies on its stdout, everything the student's code prints on its stderr, read by threads on the grader's side.
The protocol is the same (no pickle), as are the wall-time limits and call budgets, the output caps and the flood
limit, and "a function that timed out, crashed or ran out of memory is not called again". Memory is capped by
watching the worker's resident memory (psutil), and the whole process tree is killed at the end of each check and
when the worker is replaced. What it cannot give: another user id, a file-system allow-list, no network. The
report lists the protections that were active, and the terminal says once that this is a self-check.
"""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..outcomes import FailureKind
from . import protocol
from .channel import CallWatch, CPUWatch, output_flood
from .reply import Failure

if TYPE_CHECKING:
    import psutil

    from .channel import CappedOutput

WINDOWS_CRASHES = {0xC0000005: "an access violation (0xC0000005)", 0xC00000FD: "a stack overflow (0xC00000FD)",
                   0xC0000409: "a stack buffer overrun (0xC0000409)", 0xC000001D: "an illegal instruction (0xC000001D)",
                   0xC0000094: "an integer division by zero (0xC0000094)", 0xC0000017: "no memory left (0xC0000017)"}
"""How a Windows process that crashed ends (its exit code is the NTSTATUS of the fault)."""
POLL_SECONDS = 0.05


def exit_reason(code: int | None) -> str:
    """How a worker process ended, in words (POSIX signals and Windows crash codes named)."""
    import signal

    if code is None:
        return "closed its connection to the grader"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the process was killed by {name}"
    if code & 0xFFFFFFFF in WINDOWS_CRASHES:
        return f"the process crashed with {WINDOWS_CRASHES[code & 0xFFFFFFFF]}"
    return f"the process exited with status {code} (e.g. sys.exit or os._exit)"


class PortableChannel:
    """One portable worker seen from the grader: its process, and threads that read its replies and output."""

    def __init__(self, process: subprocess.Popen[bytes], rss_limit: int | None = None):
        import psutil

        assert process.stdin and process.stdout and process.stderr  # started with three pipes
        self.process, self.pid, self.rss_limit = process, process.pid, rss_limit
        self._stdin, self._stdout, self._stderr = process.stdin, process.stdout, process.stderr
        self._psutil = psutil.Process(process.pid)
        self._replies: queue.Queue[Any] = queue.Queue()
        self._output, self._output_lock = bytearray(), threading.Lock()
        self._writes: queue.Queue[Any] = queue.Queue()
        self.sequence = 0
        for target in (self._read_replies, self._read_output, self._write_requests):
            threading.Thread(target=target, daemon=True).start()

    # ------------------------------------------------------------ threads

    def _read_replies(self) -> None:
        reader = protocol.FrameReader()
        while True:
            chunk = _read_some(self._stdout)
            if not chunk:
                self._replies.put(EOFError())
                return
            try:
                for message in reader.feed(chunk):
                    self._replies.put(message)
            except protocol.ProtocolError as error:
                self._replies.put(error)
                return

    def _read_output(self) -> None:
        while True:
            chunk = _read_some(self._stderr)
            if not chunk:
                return
            with self._output_lock:
                self._output += chunk

    def _write_requests(self) -> None:
        while True:
            frame = self._writes.get()
            if frame is None:
                return
            try:
                self._stdin.write(frame)
                self._stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return

    # ------------------------------------------------------------ the Channel interface

    def send_start(self, start: dict[str, Any]) -> None:
        """The worker's first frame: its configuration (before any request)."""
        self._writes.put(protocol.encode(start))

    def send(self, name: str, payload: dict[str, Any]) -> tuple[int, memoryview]:
        """Number and queue a request (a thread writes it: a busy worker never blocks the grader)."""
        self.sequence += 1
        self._writes.put(protocol.encode({"id": self.sequence, "call": name, "payload": payload}))
        return self.sequence, memoryview(b"")

    def receive(self, expected_id: int | str, timeout: float, output: CappedOutput,
                unsent: memoryview | None = None, cpu: CPUWatch | None = None) -> dict[str, Any] | Failure:
        """The reply ``expected_id``, or a Failure (wall or CPU time, memory, flood, death, or a message not asked
        for)."""
        watch = CallWatch(timeout, cpu, self.rss_limit, self.rss_bytes, memory_every=0.1)
        while True:
            self._drain(output)
            if output.flooded:
                return output_flood(output)
            if (breach := watch.breach()) is not None:
                return breach
            try:
                message = self._replies.get(timeout=watch.wait(POLL_SECONDS))
            except queue.Empty:
                continue
            answer = self._answer(message, expected_id)
            self._drain(output)
            return answer

    def _answer(self, message: Any, expected_id: int | str) -> dict[str, Any] | Failure:
        if isinstance(message, EOFError):
            return self.death()
        if isinstance(message, protocol.ProtocolError):
            return Failure(FailureKind.PROTOCOL, f"wrote something that is not a grader message ({message})")
        if not isinstance(message, dict) or message.get("id") != expected_id:
            return Failure(FailureKind.PROTOCOL, "wrote a message the grader did not ask for")
        return message

    def _drain(self, output: CappedOutput) -> None:
        with self._output_lock:
            chunk, self._output = bytes(self._output), bytearray()
        if chunk:
            output.add(chunk)

    def rss_bytes(self) -> int:
        """Resident memory of the worker and everything it started."""
        import psutil

        try:
            processes = [self._psutil, *self._psutil.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        return total

    def death(self) -> Failure:
        """Why the worker is gone, from its exit code."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return Failure(FailureKind.CRASH, exit_reason(code))

    def kill_children(self) -> int:
        """Kill every process the worker started (the worker lives on); how many."""
        import psutil

        try:
            children = self._psutil.children(recursive=True)
        except psutil.Error:
            return 0
        return _kill(children)

    def close(self) -> None:
        """Kill the worker and its whole process tree; close the pipes."""
        import psutil

        try:
            _kill([*self._psutil.children(recursive=True), self._psutil])
        except psutil.Error:
            pass
        self._writes.put(None)
        for stream in (self._stdin, self._stdout, self._stderr):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _read_some(stream: IO[bytes]) -> bytes:
    """What the pipe has now (at least one byte; empty at its end)."""
    read1 = getattr(stream, "read1", None)
    return bytes(read1(1 << 20)) if read1 is not None else stream.read(1 << 16)


def _kill(processes: list[psutil.Process]) -> int:
    import psutil

    killed = 0
    for process in processes:
        try:
            process.kill()
            killed += 1
        except psutil.Error:
            continue
    psutil.wait_procs(processes, timeout=3)
    return killed


class PortableLauncher:
    """Starts portable workers (one interpreter each: the cost is a torch import per worker)."""

    def launch(self, config: dict[str, Any], threads: int) -> PortableChannel:
        flags = {"start_new_session": True} if os.name == "posix" else \
            {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        process = subprocess.Popen([sys.executable, "-m", "grader.sandbox.portable"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=worker_environment(),
                                   cwd=config["workdir"], **flags)
        channel = PortableChannel(process)
        channel.send_start({"config": config, "threads": threads})
        return channel


def worker_environment() -> dict[str, str]:
    """What the worker needs to import the grader and run torch (SYSTEMROOT and friends included on Windows; the
    user's own PYTHONPATH after the grader's: a self-check runs in the student's own environment)."""
    keep = ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "SYSTEMROOT",
            "SYSTEMDRIVE", "WINDIR", "TEMP", "TMP", "USERPROFILE", "LOCALAPPDATA", "APPDATA", "HOME",
            "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "CONDA_PREFIX", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    own = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    paths = [str(Path(__file__).resolve().parents[2]), *filter(None, own)]
    env.update(PYTHONPATH=os.pathsep.join(paths), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
               MPLBACKEND="Agg", PYTHONIOENCODING="utf-8")
    return env


# ---------------------------------------------------------------- the worker process

def main() -> None:
    """Become a portable worker: read the configuration, import the grader's handlers, say ready, serve."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # the student's prints (stdout and stderr) go to the output pipe; replies to the saved stdout
    reader = protocol.FrameReader()
    first: list[Any] = []
    while not first:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            return
        first = reader.feed(chunk)
    start = first[0]
    import torch

    from . import filesystem, handlers, serving, warmup

    config = start["config"]
    torch.set_num_threads(max(1, int(start["threads"])))
    warmup.warm_up()  # one-time costs (torch._dynamo on the first optimizer step) before any budgeted call
    handlers.install_recorders()
    os.chdir(config["workdir"])
    os.environ.update(HOME=config["workdir"], TMPDIR=config["workdir"], TEMP=config["workdir"], TMP=config["workdir"])
    sys.path[:] = [config["submission"]] + [p for p in sys.path if p not in ("", ".")]
    handlers.configure(config)
    protections = {"separate_process": True, "output_capped": True, "wall_time_limits": True,
                   "memory_limit": bool(config.get("memory_bytes")), "process_tree_killed": True,
                   "unprivileged_user": False, "filesystem_allow_list": False, "network_blocked": False,
                   "solution_hidden": filesystem.solution_reachable(sys.path) is None}
    device = config["device"] if config["device"] != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    protocol.write_frame(reply_fd, {"id": "ready", "ok": True, "value": {"protections": protections, "device": device}})
    serving.serve(0, reply_fd, leftover=reader)


if __name__ == "__main__":
    main()

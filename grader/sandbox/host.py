"""The grader's side of the sandbox: one worker process per submission, replaced after anything goes wrong."""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..contract import names_by_module
from . import limits, protocol

SIGNAL_NAMES = {signal.SIGSEGV: "a segmentation fault (SIGSEGV)", signal.SIGKILL: "SIGKILL",
                signal.SIGABRT: "an abort (SIGABRT)", signal.SIGBUS: "a bus error (SIGBUS)",
                signal.SIGFPE: "a floating-point exception (SIGFPE)", signal.SIGTERM: "SIGTERM",
                signal.SIGXFSZ: "SIGXFSZ (a file larger than 1 GiB)"}
COPY_LIMIT_BYTES = 50 * 2**20
STARTUP_SECONDS = 120


def start_host(submission: Path, rubric, *, device: str = "cpu", contain: bool = True) -> "Host":
    """A Host for ``submission`` with limits from ``rubric``, its worker already launching (importing torch).

    Importing this module does not import torch, so a caller can launch the worker first and import torch after.
    """
    options = SandboxOptions(memory_mb=rubric.limits.memory_mb, output_kb=rubric.limits.output_kb,
                             import_seconds=rubric.limits.import_seconds, device=device, contain=contain)
    host = Host(submission, names_by_module(), options)
    host.start()
    return host


class GraderError(Exception):
    """The grader itself could not do its job (not the submission's fault)."""


@dataclass(frozen=True)
class Failure:
    """Why a call to student code produced no value; ``message`` is written for the student."""

    kind: str  # exception | timeout | crash | memory | protocol | import
    message: str
    traceback: str = ""


@dataclass
class Reply:
    """The outcome of one call: a plain-data ``value`` or a ``failure``, and the student's captured output."""

    value: object = None
    failure: Failure | None = None
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class SandboxOptions:
    memory_mb: int = 4096
    output_kb: int = 64
    import_seconds: float = 60.0
    device: str = "cpu"
    """cpu, cuda, or auto (the worker picks cuda when available and reports its choice)."""
    contain: bool = True
    """Drop privileges and unshare the network when running as root."""


@dataclass
class _Worker:
    process: subprocess.Popen
    request_fd: int
    reply_fd: int
    output_fd: int
    reader: protocol.FrameReader = field(default_factory=protocol.FrameReader)
    ready: bool = False
    loaded: bool = False


class Host:
    """Runs calls in a contained worker that imported the submission; see :meth:`call`.

    Without an unprivileged uid, stray processes are found as this process's orphaned children: use one
    Host at a time per grading process then (batch grading runs one grading process per submission).
    """

    def __init__(self, submission: Path, names: dict[str, list[str]], options: SandboxOptions | None = None):
        self.submission = Path(submission).resolve()
        self.names = names
        self.options = options or SandboxOptions()
        self.uid = limits.worker_uid(os.getpid()) if self.options.contain and limits.is_root() else None
        limits.become_subreaper()  # orphans of the worker re-parent here, where kill_strays finds them
        self._known_children = limits.children_of(os.getpid())
        self._tmp = Path(tempfile.mkdtemp(prefix="autograde-"))
        self._worker: _Worker | None = None
        self._sequence = 0
        self.protections: dict[str, bool] = {}
        self.device = self.options.device
        self.load_reply: Reply | None = None
        self.restarts = 0

    # ------------------------------------------------------------ public

    def start(self) -> None:
        """Launch a worker now without waiting for it: it imports torch while the grader keeps working."""
        if self._worker is None:
            self._worker = self._launch()

    def call(self, name: str, payload: dict | None = None, *, timeout: float) -> Reply:
        """Run handler ``name`` in the worker; never raises for anything the student's code does.

        A timeout, crash, memory overrun or malformed reply kills the worker (a fresh one serves the next call).
        An import failure of the submission is remembered and returned for every later call.
        """
        return self.begin(name, payload).finish(timeout=timeout)

    def begin(self, name: str, payload: dict | None = None) -> "PendingCall":
        """Send a call and return at once, so the grader can work while the worker does; see PendingCall."""
        if self._worker is None or not self._worker.loaded:
            failed = self._start_and_load()
            if failed is not None:
                return PendingCall(self, None, b"", failed)
        return PendingCall(self, *self._send(name, payload or {}), None)

    def _send(self, name: str, payload: dict) -> tuple[int, bytes]:
        """Number and send a request; write what the pipe takes now, return (number, bytes still to write)."""
        self._sequence += 1
        request = protocol.encode({"id": self._sequence, "call": name, "payload": payload})
        try:
            written = os.write(self._worker.request_fd, request)
        except (BlockingIOError, BrokenPipeError):
            written = 0
        return self._sequence, request[written:]

    def end_check(self) -> int:
        """Kill every process the worker started (the worker itself lives on); how many were killed."""
        if self._worker is None or self._worker.process.poll() is not None:
            return 0
        return limits.kill_strays(self.uid, self._worker.process.pid, self._known_children)

    def close(self) -> None:
        """Kill the worker and everything it started; remove the temporary copy of the submission."""
        self._terminate()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ worker life

    def _start_and_load(self) -> Reply | None:
        """Start a worker and import the submission in it; the failed import's Reply, or None."""
        if self.load_reply is not None and not self.load_reply.ok:
            return Reply(failure=self.load_reply.failure)
        self.start()
        self._await_ready()
        reply = self._exchange("load", {"names": self.names}, self.options.import_seconds)
        if not reply.ok:
            message = f"Importing your submission failed: {reply.failure.message}"
            reply = Reply(failure=Failure("import", message, reply.failure.traceback), output=reply.output)
        if self.load_reply is None or not reply.ok:
            self.load_reply = reply
        if not reply.ok:
            return reply
        self._worker.loaded = True
        return None

    def _prepare_copy(self) -> tuple[Path, Path]:
        run = Path(tempfile.mkdtemp(prefix="run-", dir=self._tmp))
        copy, work = run / "submission", run / "work"
        _copy_submission(self.submission, copy)
        work.mkdir()
        os.chmod(self._tmp, 0o755)
        os.chmod(run, 0o755)
        if self.uid is not None:
            for path in (run, *run.rglob("*")):
                os.chown(path, self.uid, self.uid)
        return copy, work

    def _launch(self) -> _Worker:
        copy, work = self._prepare_copy()
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        config = {"request_fd": request_r, "reply_fd": reply_w, "submission": str(copy), "workdir": str(work),
                  "uid": self.uid, "memory_bytes": self.options.memory_mb * 2**20 if self.options.memory_mb else None,
                  "device": self.options.device}
        process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w, pass_fds=(request_r, reply_w),
            start_new_session=True, env=_worker_environment(), cwd=str(work))
        for fd in (request_r, reply_w, output_w):
            os.close(fd)
        for fd in (request_w, reply_r, output_r):
            os.set_blocking(fd, False)
        return _Worker(process, request_w, reply_r, output_r)

    def _await_ready(self) -> None:
        """Wait for the launched worker's hello; raises GraderError when it cannot start."""
        worker = self._worker
        if worker.ready:
            return
        startup_output = CappedOutput(self.options.output_kb * 1024)
        ready = self._receive(worker, "ready", STARTUP_SECONDS, startup_output)
        if isinstance(ready, Failure) or not isinstance(ready, dict) or not ready.get("ok"):
            self._terminate()
            raise GraderError(f"the sandbox worker did not start: {ready}\n{startup_output.text()[-3000:]}")
        self.protections = {"separate_process": True, **ready["value"]["protections"]}
        self.device = ready["value"]["device"]
        worker.ready = True

    def _terminate(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if self.uid is not None:
            limits.kill_uid(self.uid)
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        worker.process.kill()
        worker.process.wait()
        limits.kill_strays(self.uid, worker.process.pid, self._known_children)
        for fd in (worker.request_fd, worker.reply_fd, worker.output_fd):
            os.close(fd)

    # ------------------------------------------------------------ one exchange

    def _exchange(self, name: str, payload: dict, timeout: float) -> Reply:
        return self._complete(*self._send(name, payload), timeout)

    def _complete(self, sequence: int, unsent: bytes, timeout: float) -> Reply:
        output = CappedOutput(self.options.output_kb * 1024)
        answer = self._receive(self._worker, sequence, timeout, output, unsent)
        if isinstance(answer, Failure):
            self._terminate()
            self.restarts += 1
            return Reply(failure=answer, output=output.text())
        if answer.get("ok") is True:
            return Reply(value=answer.get("value"), output=output.text())
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        message = f"{error.get('type', 'Exception')}: {error.get('message', '')}".rstrip(": ")
        return Reply(failure=Failure("exception", message, str(error.get("traceback", ""))), output=output.text())

    def _receive(self, worker: _Worker, expected_id, timeout: float, output: CappedOutput, request: bytes = b""):
        """Pump bytes until the reply ``expected_id`` arrives; a Failure for anything else."""
        pending = memoryview(request)
        deadline = time.monotonic() + max(timeout, 0.01)
        rss_limit = self._rss_limit()
        next_memory_check = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                return Failure("timeout", f"did not finish within the time limit of {_seconds(timeout)}")
            if rss_limit and now >= next_memory_check:
                if limits.rss_bytes(worker.process.pid) > rss_limit:
                    return Failure("memory", f"used more than the memory limit of {self.options.memory_mb} MiB")
                next_memory_check = now + 0.2
            writers = [worker.request_fd] if pending else []
            readable, writable, _ = select.select([worker.reply_fd, worker.output_fd], writers, [],
                                                  min(0.2, max(deadline - now, 0)))
            if writable:
                try:
                    pending = pending[os.write(worker.request_fd, pending[:1 << 20]):]
                except BrokenPipeError:
                    return self._death(worker)
            if worker.output_fd in readable:
                output.drain(worker.output_fd)
            if worker.reply_fd in readable:
                try:
                    chunk = os.read(worker.reply_fd, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    output.drain(worker.output_fd)
                    return self._death(worker)
                try:
                    messages = worker.reader.feed(chunk)
                except protocol.ProtocolError as error:
                    return Failure("protocol", f"wrote something that is not a grader message ({error})")
                for message in messages:
                    if not isinstance(message, dict) or message.get("id") != expected_id:
                        return Failure("protocol", "wrote a message the grader did not ask for")
                    output.drain(worker.output_fd)
                    return message

    def _rss_limit(self) -> int | None:
        if self.device == "cpu" or not self.options.memory_mb:
            return None
        return (self.options.memory_mb + 4096) * 2**20  # CUDA: RSS watch instead of RLIMIT_AS

    def _death(self, worker: _Worker) -> Failure:
        try:
            code = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return Failure("crash", "closed its connection to the grader")
        if code < 0:
            name = SIGNAL_NAMES.get(-code, f"signal {-code}")
            hint = " (possibly out of memory)" if -code == signal.SIGKILL else ""
            return Failure("crash", f"the process was killed by {name}{hint}")
        return Failure("crash", f"the process exited with status {code} (e.g. sys.exit or os._exit)")


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


@dataclass
class PendingCall:
    """A call sent to the worker; :meth:`finish` waits for its Reply (each pending call must be finished)."""

    host: Host
    sequence: int | None
    unsent: bytes
    early: Reply | None

    def finish(self, *, timeout: float) -> Reply:
        """The Reply, waiting at most ``timeout`` seconds from now; same guarantees as :meth:`Host.call`."""
        if self.early is not None:
            return self.early
        return self.host._complete(self.sequence, self.unsent, timeout)


class CappedOutput:
    """The student's output of one call: the first ``cap`` bytes kept, the rest read and counted."""

    def __init__(self, cap: int):
        self.cap, self.data, self.dropped = cap, bytearray(), 0

    def drain(self, fd: int) -> None:
        """Read everything waiting on the non-blocking ``fd``."""
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError:
                return
            if not chunk:
                return
            room = max(self.cap - len(self.data), 0)
            self.data += chunk[:room]
            self.dropped += len(chunk) - min(room, len(chunk))

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output dropped; the limit is {self.cap // 1024} KiB]"
        return text


def _copy_submission(source: Path, target: Path) -> None:
    """Copy the submission (no caches, no VCS, bounded size) so nothing is ever written into the original."""
    if not source.is_dir():
        raise GraderError(f"submission folder {str(source)!r} does not exist")
    total = 0

    def ignore(folder, names):
        nonlocal total
        skipped = {n for n in names if n in {"__pycache__", ".git", ".hypothesis", ".ipynb_checkpoints"}}
        for n in set(names) - skipped:
            path = Path(folder) / n
            if path.is_file():
                total += path.stat().st_size
        if total > COPY_LIMIT_BYTES:
            skipped |= {n for n in names if (Path(folder) / n).is_file() and not n.endswith(".py")}
        return skipped

    # Links stay links: copying their targets as root would hand root-readable files to the worker.
    shutil.copytree(source, target, ignore=ignore, symlinks=True)


def _worker_environment() -> dict[str, str]:
    package_root = str(Path(__file__).resolve().parents[2])
    keep = ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LD_LIBRARY_PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(PYTHONPATH=package_root, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", MPLBACKEND="Agg")
    return env

"""The grader's side of the sandbox for one submission: a private copy, a contained worker (forked from the fork
server on Linux, its own interpreter in the portable sandbox), replaced after anything goes wrong, and the calls
made to it (see :class:`Host`)."""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..assignment.binding import Binding, BindingError, StudentParameter, bind, call_arguments
from ..assignment.calls import callable_key, role_values
from ..assignment.declaration import Assignment, load_assignment
from ..outcomes import FailureKind
from ..submission.folder import copy_submission
from .channel import CappedOutput, CPUWatch, WorkerChannel
from .cpu import CallBudget, CPUClock
from .reply import Failure, PendingCall, Reply, attributed, not_run_again, over_budget, student_exception
from .workers import LinuxWorkers, PortableWorkers, Workers
from .zygote import GraderError, Zygote

if TYPE_CHECKING:
    from .limits import Limits

WORKER_READY_SECONDS = 120.0
"""How long a forked worker may take to contain itself and say ready (CUDA initialisation included)."""

__all__ = ["GraderError", "Host", "SandboxOptions", "start_host"]


@dataclass(frozen=True)
class SandboxOptions:
    memory_mb: int = 4096
    output_kb: int = 64
    flood_mb: int = 8
    """Output of one call beyond which it is stopped (an output flood), not drained to the end."""
    import_seconds: float = 60.0
    device: str = "cpu"
    """cpu, cuda, or auto (the worker picks cuda when available and reports its choice)."""
    contain: bool = True
    """Drop to an unprivileged uid in a network namespace when running as root (False: as without root)."""
    hidden: tuple[str, ...] = ()
    """Paths the worker must not read (results, rubric, data, other submissions), hidden by the mount-namespace
    fallback; the Landlock allow-list hides everything not explicitly allowed anyway."""
    assignment: Assignment = field(default_factory=lambda: load_assignment(None))
    """What the submission must define, and the role of each parameter (sent to the worker)."""
    sandbox: str = "linux"
    """"linux" (fork server, own uid, Landlock, network namespace) or "portable" (see grader.sandbox.portable)."""
    files: dict[str, str] = field(default_factory=dict)
    """The file each module was handed in as (messages and tracebacks name it, not the graded copy)."""


def start_host(submission: Path, limits: Limits, *, device: str = "cpu", contain: bool = True,
               zygote: Zygote | None = None, hidden: tuple[str, ...] = (), assignment: Assignment | None = None,
               sandbox: str = "linux", files: dict[str, str] | None = None) -> Host:
    """A Host for ``submission`` with a rubric's ``limits`` (``files``: the file each module was handed in as)."""
    options = SandboxOptions(memory_mb=limits.memory_mb, output_kb=limits.output_kb, flood_mb=limits.flood_mb,
                             import_seconds=limits.import_seconds, device=device, contain=contain,
                             hidden=hidden, assignment=assignment or load_assignment(None), sandbox=sandbox,
                             files=dict(files or {}))
    return Host(submission, options, zygote=zygote)


class Host:
    """Runs calls to student code in a contained worker; implements :class:`grader.checks.base.WorkerHost`.

    Never raises for anything the student's code does. A timeout, crash, memory overrun or malformed reply
    kills the worker (a fresh one serves the next call), and the student function that caused it is not called
    again. An import failure of the submission is remembered and returned for every later call.
    """

    def __init__(self, submission: Path, options: SandboxOptions | None = None, *, zygote: Zygote | None = None):
        self.submission = Path(submission).resolve()
        if not self.submission.is_dir():
            raise GraderError(f"submission folder {str(self.submission)!r} does not exist")
        self.options = options or SandboxOptions()
        self._workers: Workers = LinuxWorkers(zygote, self.options.contain) if self.options.sandbox == "linux" \
            else PortableWorkers()
        self.uid = self._workers.uid
        self.notices: list[str] = []
        """What the student should know about how the sandbox ran (e.g. without its own user id)."""
        self._tmp = Path(tempfile.mkdtemp(prefix="autograde-"))
        self._scratch = self._tmp / "scratch"
        self._scratch.mkdir()
        os.chmod(self._tmp, 0o711)  # workers (other uids) reach their own folder inside, but cannot list it
        os.chmod(self._scratch, 0o755)
        self._channel: WorkerChannel | None = None
        self._clock: CPUClock | None = None
        self._load: Reply | None = None
        self._blocked: dict[str, Failure] = {}
        self._bindings: dict[str, Binding | None] = {}
        self.protections: dict[str, bool] = {}
        self.device = self.options.device
        self.restarts = 0
        self.round_trips = 0
        """Requests sent to workers (the grader's own included)."""
        self._ended_cpu = 0.0

    # ------------------------------------------------------------ the WorkerHost protocol

    def begin(self, call: str, payload: dict[str, Any] | None = None) -> PendingCall:
        """Send a call and return at once, so the grader can work while the worker does. A call that the student's
        signature cannot take (see :mod:`grader.assignment.binding`) is answered here, without the worker."""
        payload = payload or {}
        key = callable_key(call, payload)
        function = self.options.assignment.blamed(key)
        if function in self._blocked:
            return PendingCall(call, None, function, early=Reply(failure=self._blocked[function]))
        started = time.monotonic()
        failed = self._ensure_loaded() or self._cannot_call(call, key, payload)
        startup = time.monotonic() - started
        if failed is not None:
            return PendingCall(call, None, function, early=failed, startup_seconds=startup)
        assert self._channel is not None and self._clock is not None  # _ensure_loaded started them
        cpu_start = self._clock.own()
        sequence, unsent = self._channel.send(call, payload)
        self.round_trips += 1
        return PendingCall(call, sequence, function, unsent, startup_seconds=startup, sent_at=time.monotonic(),
                           cpu_start=cpu_start, payload=payload)

    def finish(self, pending: PendingCall, *, timeout: float, budget: CallBudget | None = None) -> Reply:
        """The Reply of ``pending``, waiting at most ``timeout`` seconds from now, and within ``budget`` (CPU time of
        the worker's process tree, and a wall-time ceiling) when given. A call over its budget is run once more on
        a fresh worker with a larger budget (:meth:`CallBudget.larger`) before it counts as a timeout."""
        if pending.early is not None:
            return pending.early
        deadline = time.monotonic() + timeout
        reply = self._finish_once(pending, timeout, budget)
        if budget is not None and over_budget(reply) and pending.payload is not None:
            reply = self._retry(pending, pending.payload, deadline, budget, reply)
        if reply.failure is not None and reply.failure.kind.ends_worker and pending.function:
            self._blocked[pending.function] = not_run_again(pending.function, reply.failure)
        return reply

    def _finish_once(self, pending: PendingCall, timeout: float, budget: CallBudget | None) -> Reply:
        assert pending.sequence is not None  # sent: only an early reply has none
        wall = min(timeout, budget.wall_seconds) if budget is not None else timeout
        watch = CPUWatch(self._clock, pending.cpu_start, budget.cpu_seconds) \
            if budget is not None and self._clock is not None and pending.cpu_start is not None else None
        clock = self._clock
        reply = self._complete(pending.sequence, pending.unsent, wall, pending.function, watch)
        if reply.failure is not None and reply.failure.kind is FailureKind.TIMEOUT and not reply.failure.limit:
            limit = "wall" if budget is not None and budget.wall_seconds < timeout else "check"
            reply.failure = dataclasses.replace(reply.failure, limit=limit)
        if reply.ok and clock is not None and pending.cpu_start is not None:
            used = clock.own()
            reply.cpu_seconds = None if used is None else max(used - pending.cpu_start, 0.0)
        return reply

    def _retry(self, pending: PendingCall, payload: dict[str, Any], deadline: float, budget: CallBudget,
               first: Reply) -> Reply:
        """The call once more, on a fresh worker (the first one was ended), with a larger budget."""
        assert first.failure is not None
        again = self.begin(pending.call, payload)
        if again.early is not None:
            return first
        reply = self._finish_once(again, max(deadline + again.startup_seconds - time.monotonic(), 0.01),
                                  budget.larger())
        reply.output = first.output + reply.output
        reply.retried = first.failure.message
        reply.startup_seconds = again.startup_seconds
        return reply

    def call(self, call: str, payload: dict[str, Any] | None = None, *, timeout: float) -> Reply:
        """Run handler ``call`` in the worker and wait for its Reply (same guarantees as begin + finish)."""
        return self.finish(self.begin(call, payload), timeout=timeout)

    def description(self) -> Reply:
        """What importing the submission found (see the worker's ``load`` handler), or why it failed."""
        failed = self._ensure_loaded()
        if failed is not None:
            return failed
        assert self._load is not None  # set by the first load
        return self._load

    def found(self, key: str) -> dict[str, Any] | None:
        """How the worker found the declared callable ``key`` (see :func:`found_in`)."""
        return found_in(self.description(), key)

    def binding(self, key: str) -> Binding | None:
        """How the declared roles of ``key`` bind to the student's signature (None when it cannot be read); bound
        once per callable (the import's description does not change)."""
        if key not in self._bindings:
            self._bindings[key] = binding_of(self.options.assignment, key, self.found(key))
        return self._bindings[key]

    def _cannot_call(self, call: str, key: str | None, payload: dict[str, Any]) -> Reply | None:
        """A Reply saying why this call cannot reach the student's function (its module did not import, it is not
        defined, or its signature cannot take the call), or None when it can."""
        assignment = self.options.assignment
        if not key or not assignment.has(key):
            return None
        spec = assignment.callable(key)
        module = self.description().value.get("modules", {}).get(spec.module, {})
        if "error" in module:
            return Reply(failure=Failure(FailureKind.IMPORT, module["error"], function=spec.name))
        found = self.found(key) or {}
        if "missing" in found:
            return Reply(failure=Failure(FailureKind.IMPORT, f"{found['missing']}", function=spec.name))
        binding = self.binding(key)
        if binding is None:
            return None
        try:
            call_arguments(found["name"], spec.parameters, binding, role_values(call, payload))
        except BindingError as error:
            return Reply(failure=Failure(FailureKind.BINDING, str(error), function=spec.name))
        return None

    def scratch_dir(self) -> Path:
        return self._scratch

    @property
    def fork_server(self) -> str | None:
        """How the workers' fork server was made: "forked" from this process (one torch for all), "launched" as its
        own interpreter; None in the portable sandbox (no fork server)."""
        if not isinstance(self._workers, LinuxWorkers):
            return None
        return "forked" if self._workers.zygote.forked else "launched"

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Fork a worker and import the submission in it now (waiting for the fork server's own imports)."""
        self._ensure_loaded()

    def reset(self) -> None:
        """Replace the worker (after a grader error, a call may still be in flight): not the student's doing,
        so nothing is blocked and no restart is counted."""
        self._terminate()

    def end_check(self) -> int:
        """Kill every process the worker started (the worker itself lives on); how many were killed."""
        if self._channel is None:
            return 0
        return self._workers.end_check(self._channel)

    def close(self) -> None:
        """Kill the worker and everything it started; remove the private copies; stop an own fork server."""
        self._terminate()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._workers.close()

    def __enter__(self) -> Host:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the worker

    def _ensure_loaded(self) -> Reply | None:
        """A worker with the submission imported; the failed import's Reply instead, or None."""
        if self._load is not None and not self._load.ok:
            return Reply(failure=self._load.failure)
        if self._channel is not None:
            return None
        self._channel = self._launch()
        reply = self._complete(*self._channel.send("load", {}), self.options.import_seconds, None)
        if reply.failure is not None:
            message = f"Importing your submission failed: {reply.failure.message}"
            reply = Reply(failure=Failure(FailureKind.IMPORT, message, reply.failure.traceback), output=reply.output)
        if self._load is None or not reply.ok:
            self._load = reply
        return None if reply.ok else reply

    def _launch(self) -> WorkerChannel:
        run_dir, copy, work = self._prepare_copy()
        config = {"submission": str(copy), "workdir": str(work), "private_dir": str(run_dir), "uid": self.uid,
                  "readable": [str(self._scratch)], "hidden": list(self.options.hidden),
                  "memory_bytes": self.options.memory_mb * 2**20 if self.options.memory_mb else None,
                  "device": self.options.device, "assignment": self.options.assignment.to_config(),
                  "files": self.options.files}
        channel = self._workers.launch(config)
        self._await_ready(channel)
        if self._clock is not None:
            self._clock.close()
        self._clock = CPUClock(channel.pid)
        return channel

    def _await_ready(self, channel: WorkerChannel) -> None:
        output = CappedOutput(self.options.output_kb * 1024, self.options.flood_mb * 2**20)
        ready = channel.receive("ready", WORKER_READY_SECONDS, output)
        if isinstance(ready, Failure) or not ready.get("ok"):
            channel.close()
            raise GraderError(f"the sandbox worker did not start: {ready}\n{output.text()[-3000:]}")
        self.protections = {"separate_process": True, **ready["value"]["protections"]}
        self.device = ready["value"]["device"]
        if self.options.sandbox == "portable" and self.options.memory_mb:
            channel.rss_limit = channel.rss_bytes() + self.options.memory_mb * 2**20  # no RLIMIT_AS: watch RSS
        elif self.device != "cpu" and self.options.memory_mb:
            channel.rss_limit = (self.options.memory_mb + 4096) * 2**20  # CUDA: RSS watch instead of RLIMIT_AS

    def _prepare_copy(self) -> tuple[Path, Path, Path]:
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self._tmp))
        copy, work = run_dir / "submission", run_dir / "work"
        copy_submission(self.submission, copy)
        work.mkdir()
        if self.uid is not None and not self._give_to_worker_uid(run_dir):
            self.uid = self._workers.uid = None
        if self.uid is None:
            os.chmod(run_dir, 0o700)
        return run_dir, copy, work

    def _give_to_worker_uid(self, run_dir: Path) -> bool:
        """Make the worker's uid own its copy; False where that uid cannot be used (a rootless or user-namespaced
        container refuses the chown): the worker then runs as the current user, with the other protections."""
        try:
            uid = int(self.uid or 0)
            for path in (run_dir, *run_dir.rglob("*")):
                os.chown(path, uid, uid, follow_symlinks=False)
        except (PermissionError, OSError):
            self.notices.append("The sandbox could not give the worker its own user id here (a rootless or "
                                "user-namespaced container): it ran as the current user, with the other protections.")
            return False
        return True

    def _complete(self, sequence: int, unsent: memoryview | None, timeout: float, function: str | None,
                  cpu: CPUWatch | None = None) -> Reply:
        output = CappedOutput(self.options.output_kb * 1024, self.options.flood_mb * 2**20)
        assert self._channel is not None  # a call was sent on it
        answer = self._channel.receive(sequence, timeout, output, unsent, cpu)
        if isinstance(answer, Failure):
            self._terminate()
            self.restarts += 1
            return Reply(failure=attributed(answer, function), output=output.text())
        if answer.get("ok") is True:
            return Reply(value=answer.get("value"), output=output.text())
        return Reply(failure=student_exception(answer.get("error"), function), output=output.text())

    def worker_cpu_seconds(self) -> float:
        """CPU seconds used by every worker of this submission so far (the ended ones' and the current one's)."""
        current = self._clock.own() if self._clock is not None and self._channel is not None else None
        return self._ended_cpu + (current or 0.0)

    def _terminate(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            if self._clock is not None:
                self._ended_cpu += self._clock.own() or 0.0
                self._clock.close()
            self._workers.terminate(channel)


def found_in(description: Reply, key: str) -> dict[str, Any] | None:
    """From the worker's ``load`` reply: how it found the declared callable ``key`` (name, how, kind, parameters),
    or ``{"missing": why}``; None when its module did not import or the submission could not be loaded."""
    if not description.ok or not isinstance(description.value, dict):
        return None
    found = description.value.get("callables", {}).get(key)
    return found if isinstance(found, dict) else None


def binding_of(assignment: Assignment, key: str, found: dict[str, Any] | None) -> Binding | None:
    """How the declared roles of ``key`` bind to the parameters the worker described (None when unknown)."""
    if not found or not isinstance(found.get("parameters"), list) or not assignment.has(key):
        return None
    try:
        described = [StudentParameter.from_description(p) for p in found["parameters"]]
    except (TypeError, ValueError):
        return None
    return bind(assignment.callable(key).parameters, described)



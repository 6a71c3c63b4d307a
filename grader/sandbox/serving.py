"""The worker's request loop, shared by the Linux worker (forked) and the portable one (its own interpreter):
read framed requests, answer each with the handler's plain data or the student's exception, one at a time."""
from __future__ import annotations

import os
import sys
from typing import Any

from . import handlers, protocol


def serve(request_fd: int, reply_fd: int, leftover: protocol.FrameReader | None = None) -> None:
    """Answer requests until the grader closes the request pipe."""
    reader = leftover or protocol.FrameReader()
    pending = reader.feed(b"")
    while True:
        for request in pending:
            reply = answer(request)
            sys.stdout.flush()
            sys.stderr.flush()
            protocol.write_frame(reply_fd, reply)
        chunk = os.read(request_fd, 1 << 20)
        if not chunk:
            return
        pending = reader.feed(chunk)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request: {"id", "ok": True, "value"} or {"id", "ok": False, "error": {...}}."""
    reply = {"id": request.get("id")}
    try:
        reply["value"] = handlers.dispatch(request["call"], request.get("payload") or {})
        reply["ok"] = True
    except BaseException as error:  # noqa: B036 - SystemExit and KeyboardInterrupt from student code too
        reply.update(ok=False, error={"type": type(error).__name__, "message": _safe_str(error)[:2000],
                                      "traceback": handlers.student_traceback(error),
                                      "where": handlers.student_function(error)})
    return reply


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException:  # noqa: B036 - a student exception whose __str__ raises
        return "<unprintable exception>"

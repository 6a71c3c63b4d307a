"""Simulate a platform without the POSIX-only pieces the Linux sandbox uses (Windows-like), before anything runs:
os.fork and friends, Unix sockets, SIGKILL, and (for the grader's own code) the resource and fcntl modules."""
import builtins
import types

import psutil  # its Linux backend needs what is removed below; on Windows it has its own

psutil.signal = types.SimpleNamespace(**vars(__import__("signal")))  # psutil keeps its (Linux) signal numbers
import os
import signal
import socket
import sys

for name in ("fork", "forkpty", "killpg", "setsid", "getpgid", "setpgid"):
    if hasattr(os, name):
        delattr(os, name)
for module, names in ((socket, ("AF_UNIX", "SOCK_SEQPACKET")), (signal, ("SIGKILL", "SIGBUS", "SIGXFSZ"))):
    for name in names:
        if hasattr(module, name):
            delattr(module, name)
_import = builtins.__import__


def _without_posix_modules(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "")
    if name in ("resource", "fcntl") and (importer == "grader" or importer.startswith("grader.")):
        raise ImportError(f"No module named {name!r} (simulated: this platform has none)")
    return _import(name, globals, locals, fromlist, level)


builtins.__import__ = _without_posix_modules
sys.modules.pop("resource", None)

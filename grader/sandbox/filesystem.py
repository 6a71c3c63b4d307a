"""What the worker may see of the file system.

Preferred: a Landlock allow-list (Linux 5.13+, any user, no root needed). The worker may read the interpreter's
libraries and system folders, and read and write only its own private folder; everything else (the grader's
checkout with the reference solution, the rubric, the results path, the data, other submissions) does not
exist for it. Newer kernels also let it connect to no TCP port and signal no process outside its own domain.

Fallback, as root when Landlock is missing: a private mount namespace that covers the paths the grader names
(folders with an empty tmpfs, files with /dev/null).

Whatever was applied, :func:`solution_reachable` then looks for the reference solution the way a student
would, so the reported protection is a measured fact, not an assumption.
"""
from __future__ import annotations

import ctypes
import os
import site
import sys
from pathlib import Path
from typing import Any

# Linux system calls, loaded where they exist
_libc: Any = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None
LINUX = sys.platform.startswith("linux")
"""Landlock, mount namespaces and these syscall numbers exist only on Linux; elsewhere nothing is applied."""
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same numbers on x86_64 and aarch64
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The only rights a rule on a single file (not a folder) may carry."""
FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ_ONLY = EXECUTE | READ_FILE | READ_DIR
SYSTEM_FOLDERS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/sys", "/proc")
SOLUTION_PACKAGE = "reference"
"""The name of the reference solution's package in a checkout (never shipped in a wheel or bundle)."""

CLONE_NEWNS, MS_REC, MS_PRIVATE, MS_BIND = 0x00020000, 1 << 14, 1 << 18, 1 << 12


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable (old kernel, disabled, gVisor, not Linux)."""
    if not LINUX:
        return 0
    version = _libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def library_folders() -> list[str]:
    """Folders the worker may read: the interpreter's prefixes, site-packages and the system folders."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), *SYSTEM_FOLDERS}
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        folders.add(site.getusersitepackages())
    return sorted(folder for folder in folders if os.path.isdir(folder))


def restrict_with_landlock(read_only: list[str], read_write: list[str]) -> dict[str, bool]:
    """Allow only these folders from now on, for this process and every process it starts.

    Returns which parts took effect: the file-system allow-list, no TCP (ABI 4+), no signals or abstract
    sockets outside the sandbox (ABI 6+). All False when the kernel has no Landlock.
    """
    abi = landlock_abi()
    result = {"filesystem_allowlist": False, "landlock_no_tcp": False, "landlock_signal_scope": False}
    if abi < 1:
        return result
    handled = FS_RIGHTS.get(abi, FS_RIGHTS[5])
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return result
    try:
        for folders, rights in ((read_only, READ_ONLY), (read_write, handled)):
            for folder in folders:
                _allow(ruleset, folder, rights & handled)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if _libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return result
    finally:
        os.close(ruleset)
    return {"filesystem_allowlist": True, "landlock_no_tcp": abi >= 4, "landlock_signal_scope": abi >= 6}


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        _libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                      ctypes.c_uint32(0))
    finally:
        os.close(fd)


def hide_with_mount_namespace(paths: list[str]) -> bool:
    """As root: a private mount namespace in which each of ``paths`` is covered (empty folder or /dev/null)."""
    if not LINUX:
        return False
    if _libc.unshare(CLONE_NEWNS) != 0 or _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    for path in paths:
        if os.path.isdir(path):
            covered = _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", 0, b"size=4k,mode=0000") == 0
        elif os.path.exists(path):
            covered = _libc.mount(b"/dev/null", os.fsencode(path), None, MS_BIND, None) == 0
        else:
            covered = True
        if not covered:
            return False
    return True


def checkout_root() -> Path:
    """The folder that holds the ``grader`` package (a checkout, or site-packages for a wheel)."""
    return Path(__file__).resolve().parents[2]


def solution_reachable(search_path: list[str]) -> str | None:
    """Where this process can read a reference solution, looking as a student would; None when nowhere.

    Looks in every import-path entry and next to the grader package (and one level up from each).
    """
    places = {Path(os.path.abspath(entry or ".")) for entry in search_path} | {checkout_root()}
    places |= {place.parent for place in places}
    for place in sorted(places):
        candidate = place / SOLUTION_PACKAGE / "backpropagation.py"
        try:
            with open(candidate, "rb") as handle:
                handle.read(1)
            return str(candidate)
        except OSError:
            continue
    return None


def paths_to_hide() -> list[str]:
    """The grader's checkout when it holds the reference solution (a wheel in site-packages never does)."""
    root = checkout_root()
    return [str(root)] if (root / SOLUTION_PACKAGE).is_dir() else []

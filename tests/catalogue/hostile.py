"""Hostile submissions: attacks on the grader. The tests assert that each is contained; the batch benchmark
grades the self-contained ones (``SELF_CONTAINED``) among ordinary submissions."""
from __future__ import annotations

from . import TEMPLATE, Submission

DOCSTRING_END = ("    Uses only ``model.a``, ``model.z``, ``model.df`` and the weights; no autograd; modifies nothing else.\n"
                 "    \"\"\"\n")
WRONG_FACTOR = (("backpropagation", "delta = 2 * (y_pred - y_true)", "delta = 3 * (y_pred - y_true)"),)


def hostile_backprop(code: str) -> tuple:
    """A patch that runs ``code`` (indented by 4) at the start of the reference backpropagation."""
    body = "".join(f"    {line}\n" for line in code.strip().splitlines())
    return (("backpropagation", DOCSTRING_END + "    with torch.no_grad():", DOCSTRING_END + body + "    with torch.no_grad():"),)


def at_import(code: str, module: str = "backpropagation") -> tuple:
    """A patch that runs ``code`` when ``module`` is imported."""
    return ((module, "import torch\n", "import torch\n" + code.strip() + "\n"),)


SYS_EXIT_AT_IMPORT = Submission("sys.exit at import", at_import("import sys\nsys.exit(3)"))
OS_EXIT_AT_IMPORT = Submission("os._exit at import", at_import("import os\nos._exit(4)", module="gradient_descent"))
OS_EXIT_IN_CHECK = Submission("os._exit during a check", hostile_backprop("import os\nos._exit(7)"))
ENDLESS_LOOP = Submission("endless loop in backpropagation", hostile_backprop("while True:\n    pass"))
SLEEP_AT_IMPORT = Submission("sleep at import", at_import("import time\ntime.sleep(600)"))
MEMORY_HOG = Submission("memory hog", hostile_backprop(
    "blocks = []\nwhile True:\n    blocks.append(torch.ones(2**27))"))  # 512 MiB per block, forever
MONKEYPATCHED_COMPARISONS = Submission("monkeypatched comparisons", at_import(
    "torch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"
    "torch.Tensor.__eq__ = lambda self, other: True\ntorch.equal = lambda *a: True") + WRONG_FACTOR)
KILL_THE_GRADER = Submission("kills the grader and its process group", hostile_backprop(
    "import os, signal\nfor kill in (lambda: os.kill(os.getppid(), signal.SIGKILL),\n"
    "             lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL),\n"
    "             lambda: os.kill(-1, signal.SIGKILL)):\n"
    "    try:\n        kill()\n    except OSError as error:\n        print('blocked', error)"))
BASE_EXCEPTION = Submission("BaseException subclass", hostile_backprop(
    "class Escape(BaseException):\n    pass\nraise Escape('out of here')"))
NAN_OUTPUT = Submission("NaN gradients", (("backpropagation", "model.dL_db[l] = delta.sum(dim=0)",
                                           "model.dL_db[l] = delta.sum(dim=0) * float('nan')"),))
OBJECT_OUTPUT = Submission("non-tensor gradients", (("backpropagation", "model.dL_dw[l] = delta.T @ model.a[l - 1]",
                                                     "model.dL_dw[l] = object()"),))
OUTPUT_FLOOD = Submission("300 MB of output", hostile_backprop(
    "import sys\nchunk = 'x' * (1 << 20) + '\\n'\nfor _ in range(300):\n    sys.stdout.write(chunk)"))
SEGFAULT = Submission("segfault", hostile_backprop("import ctypes\nctypes.string_at(0)"))
FORGED_PROTOCOL = Submission("forged protocol replies", hostile_backprop(
    "import os\nfrom grader.sandbox import protocol\nfor fd in range(3, 64):\n    try:\n"
    "        protocol.write_frame(fd, {'id': 1, 'ok': True, 'value': {}})\n    except OSError:\n        pass"))

LINGER = """
import os, time
if not os.environ.get("_LINGER_STARTED"):
    os.environ["_LINGER_STARTED"] = "1"
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            open("linger.pid", "w").write(str(os.getpid()))
            print("alive", os.getpid(), flush=True)
            time.sleep(600)
        os._exit(0)
    time.sleep(0.3)
"""
"""Leaves a grandchild in its own session that prints ``alive PID`` (and writes PID to linger.pid in the working
folder) and sleeps ten minutes; started once per worker."""


def lingering_pids(output: str) -> list[int]:
    """The pids that LINGER printed."""
    return [int(line.split()[1]) for line in output.splitlines() if line.startswith("alive ")]


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and line.split()[1] in "ZX" for line in status)
    except OSError:
        return False


SELF_CONTAINED = (SYS_EXIT_AT_IMPORT, OS_EXIT_AT_IMPORT, OS_EXIT_IN_CHECK, ENDLESS_LOOP, MEMORY_HOG,
                  MONKEYPATCHED_COMPARISONS, KILL_THE_GRADER, BASE_EXCEPTION, NAN_OUTPUT, OBJECT_OUTPUT, OUTPUT_FLOOD,
                  SEGFAULT, FORGED_PROTOCOL)
"""Attacks that need nothing from the test around them (no marker files, no listeners)."""


STEAL_THE_SOLUTION = r'''
import importlib, os, sys
from pathlib import Path

def _attempts(module):
    """Every way a student might get at the reference solution's ``module``: (how, source or None)."""
    names = [f"reference.{module}", f"reference"]
    for name in names:
        try:
            found = importlib.import_module(name)
            found = getattr(found, module, found)
            yield f"import {name}", Path(found.__file__).read_text()
        except BaseException as error:
            yield f"import {name}", error
    places = [Path(p) for p in sys.path if p]
    try:
        import grader
        places.append(Path(grader.__file__).resolve().parents[1])
    except BaseException as error:
        yield "grader package location", error
    pid = os.getpid()
    for _ in range(6):
        try:
            pid = int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("PPid")).split()[1])
            places.append(Path(os.readlink(f"/proc/{pid}/cwd")))
        except BaseException as error:
            yield f"/proc/{pid}/cwd", error
        try:
            words = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            places += [Path(w.decode()).parent for w in words if w.startswith(b"/")]
            print(f"looked at /proc/{pid}/cmdline")
        except BaseException as error:
            yield f"/proc/{pid}/cmdline", error
    places.append(Path(%(checkout)r))
    for place in places:
        for folder in (place, place.parent, place.parent.parent):
            candidate = folder / "reference" / f"{module}.py"
            try:
                yield f"read {candidate}", candidate.read_text()
            except BaseException as error:
                yield f"read {candidate}", error

def _steal(module, namespace):
    for how, found in _attempts(module):
        if isinstance(found, str) and "def " in found:
            print(f"STOLEN via {how}")
            exec(compile(found, f"stolen {module}", "exec"), namespace)
            return
        print(f"blocked: {how}: {type(found).__name__}")
'''
"""Code that tries every route to the reference solution of a module and, when one works, runs it in place of
the submission's own (``%(checkout)r``: the checkout's path, as a student who saw it in an error would know it)."""


def steals_the_solution(checkout: str) -> Submission:
    """The template with an attack that replaces its stubs by the reference solution, if it can find it."""
    code = STEAL_THE_SOLUTION % {"checkout": checkout}
    steal = {module: f"{code}\n_steal({module!r}, globals())\n" for module in ("backpropagation", "gradient_descent")}
    return Submission("steals the reference solution",
                      files={f"{m}.py": (TEMPLATE / f"{m}.py").read_text() + "\n" + steal[m] for m in steal})


SPY_ON_THE_CLASS = r'''
import glob, os, signal

def _spy():
    if os.environ.get("_SPIED"):
        return
    os.environ["_SPIED"] = "1"
    paths = set()
    pid = os.getpid()
    for _ in range(8):
        try:
            pid = int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("PPid")).split()[1])
            paths |= {w.decode() for w in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0") if w.startswith(b"/")}
        except BaseException:
            break
    targets = [os.path.join(p, "victim", "backpropagation.py") for p in paths]
    targets += [os.path.join(p, "grades.csv") for p in paths] + glob.glob("/tmp/autograde-*/run-*/submission/*.py")
    for target in targets + %(known)r:
        try:
            print("READ", target, len(open(target).read()))
        except BaseException as error:
            print("blocked read", target, type(error).__name__)
        try:
            open(target, "a").write("# tampered\n")
            print("WROTE", target)
        except BaseException as error:
            print("blocked write", target, type(error).__name__)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if b"grader" in open(f"/proc/{entry}/cmdline", "rb").read():
                    os.kill(int(entry), signal.SIGKILL)
                    print("KILLED", entry)
            except BaseException as error:
                print("blocked kill", entry, type(error).__name__)

_spy()
'''
"""Code that looks for the other submissions, the gradebook and the graders (from its ancestors' command lines,
and at ``%(known)r``), reads and writes them, and kills every grader process it can see."""

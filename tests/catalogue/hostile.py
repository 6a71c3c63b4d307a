"""Hostile submissions: attacks on the grader. The tests assert that each is contained; the batch benchmark
grades the self-contained ones (``SELF_CONTAINED``) among ordinary submissions."""
from __future__ import annotations

from . import Submission

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

SELF_CONTAINED = (SYS_EXIT_AT_IMPORT, OS_EXIT_AT_IMPORT, OS_EXIT_IN_CHECK, ENDLESS_LOOP, MEMORY_HOG,
                  MONKEYPATCHED_COMPARISONS, KILL_THE_GRADER, BASE_EXCEPTION, NAN_OUTPUT, OBJECT_OUTPUT, OUTPUT_FLOOD,
                  SEGFAULT, FORGED_PROTOCOL)
"""Attacks that need nothing from the test around them (no marker files, no listeners)."""

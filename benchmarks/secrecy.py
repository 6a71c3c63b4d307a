"""The bundle's leak check (:func:`grader.bundle.shared_in`) on what it reads in practice.

    python benchmarks/secrecy.py

Builds the student kit and a fresh virtual environment (``--system-site-packages``, so it holds pip and setuptools
and nothing of torch), then times ``shared_in`` (CPU seconds) on the kit and on the environment's ``lib``. Prints
one JSON object; every figure must find nothing shared.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.bundle import shared_in
from grader.commands.bundle import bundle_main


def timed(root: Path) -> dict[str, float | int]:
    """CPU seconds of one leak check of ``root``, and how many things it found shared (0 expected)."""
    started = time.process_time()
    shared = shared_in(root)
    return {"cpu_seconds": round(time.process_time() - started, 2), "shared": len(shared),
            "files": sum(1 for path in root.rglob("*") if path.is_file())}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="secrecy-") as scratch:
        kit, venv = Path(scratch) / "kit", Path(scratch) / "venv"
        assert bundle_main(kind="student", out=str(kit)) == 0
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        print(json.dumps({"student kit": timed(kit), "a fresh venv's lib": timed(venv / "lib")}, indent=1))


if __name__ == "__main__":
    main()

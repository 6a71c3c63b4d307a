"""Peak memory and time of a Gradescope grading under the container's limits, for the record.

    python benchmarks/gradescope_limits.py [--out benchmarks/results/gradescope-limits.json]

Runs ``../shared/tools/gradescope-sim.sh`` (root, cgroup v1 or v2: the bundle unpacked as /autograder/source,
run_autograder inside a cgroup) for the reference of each assignment at Gradescope's default limits (768 MB, half a
vCPU) and at the larger container (3 GB, one vCPU), and the template at the default limits; records each run's
score, wall seconds, peak memory (page cache included, as the limit counts it) and the processes the kernel killed
for memory. Minutes per run: it is a script, not a test (tests/sandbox/test_memory.py holds the quick checks).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT.parent / "shared" / "tools" / "gradescope-sim.sh"
RUNS = (("default", "reference", "768M", 50), ("default", "reference", "3G", 100),
        ("inf265-2023", "tests/catalogue/reference_inf265_2023", "768M", 50),
        ("inf265-2023", "tests/catalogue/reference_inf265_2023", "3G", 100),
        ("default", "student_template", "768M", 50))
LINE = re.compile(r"rc (?P<rc>\d+), (?P<seconds>\d+) s, peak (?P<peak>\d+) MiB, oom_kill (?P<oom>\S+), failcnt "
                  r"(?P<failcnt>\S+), score (?P<score>\S+)")


def simulate(assignment: str, submission: str, memory: str, cpu_percent: int) -> dict[str, object]:
    """One run of the simulator; its figures."""
    done = subprocess.run(["bash", str(SIMULATOR), ".", submission, memory, str(cpu_percent), "--assignment",
                           assignment], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    found = LINE.search(done.stdout)
    row: dict[str, object] = {"assignment": assignment, "submission": submission, "memory": memory,
                              "cpu_percent": cpu_percent}
    if found is None:
        return {**row, "error": (done.stdout + done.stderr)[-500:]}
    return {**row, "seconds": int(found["seconds"]), "peak_mib": int(found["peak"]), "oom_kills": found["oom"],
            "score": found["score"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gradescope-limits.json"))
    args = parser.parse_args()
    if not SIMULATOR.is_file():
        raise SystemExit(f"no simulator at {SIMULATOR}")
    work = Path(os.environ.get("GS_WORK", "/tmp/gs-sim"))
    for stale in work.glob("autograder-*.zip"):  # the simulator reuses a zip it built: build it from this checkout
        stale.unlink()
    rows = []
    for run in RUNS:
        rows.append(simulate(*run))
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")

"""Memory and time of grading one submission as Gradescope runs it: one command, all processes counted.

    python benchmarks/footprint.py --data-root DIR [--cores 1] [--submission reference] [--skip-accuracy]

Runs ``python -m grader grade SUBMISSION --json ...`` pinned to ``--cores`` CPU cores (taskset) and samples,
every 0.1 s, every process of the grading (the grader, its fork server, the worker and anything it starts):
- peak of the summed PSS (proportional set size: shared pages divided among the processes that share them,
  which is what a container's memory limit counts; the fork server and its workers share torch's pages),
- peak RSS of the largest single process (what ``ps`` shows),
and the wall time. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: int) -> set[int]:
    children: dict[int, set[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, set()).add(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = {root}, {root}
    while frontier:
        frontier = set().union(*(children.get(pid, set()) for pid in frontier)) - found
        found |= frontier
    return found


def _kib(pid: int, path: str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith(field)), 0)
    except (OSError, StopIteration, ValueError):
        return 0


def measure(submission: Path, data_root: str | None, cores: int, skip_accuracy: bool) -> dict:
    out = Path(tempfile.mkdtemp()) / "results.json"
    command = ["taskset", "-c", ",".join(map(str, range(cores))), sys.executable, "-m", "grader", "grade",
               str(submission), "--json", str(out), "--device", "cpu"]
    command += ["--data-root", data_root] if data_root else []
    command += ["--skip-accuracy"] if skip_accuracy else []
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_pss, peak_rss, peak_processes = 0, 0, 0
    while process.poll() is None:
        pids = _tree(process.pid)
        peak_pss = max(peak_pss, sum(_kib(pid, "smaps_rollup", "Pss:") for pid in pids))
        peak_rss = max([peak_rss] + [_kib(pid, "status", "VmRSS:") for pid in pids])
        peak_processes = max(peak_processes, len(pids))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    return {"submission": submission.name, "cores": cores, "accuracy_stage": not skip_accuracy,
            "wall_seconds": seconds, "peak_total_pss_mib": peak_pss / 1024, "peak_process_rss_mib": peak_rss / 1024,
            "processes": peak_processes, "score": json.loads(out.read_text())["score"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root")
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--submission", default=str(ROOT / "reference"))
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    print(json.dumps(measure(Path(args.submission), args.data_root, args.cores, args.skip_accuracy), indent=2))

"""One torch per container (issue: Gradescope's default 768 MB): the fork server forked from the grading process
(sharing torch's pages), a clean server all the same, the accuracy stage's data memory-mapped, the worker first to go
when memory runs out, the grading's time budget, and results that survive a grader killed from outside."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox import cpu, limits
from tests.support.cgroups import run_limited, unavailable
from tests.support.grading import REFERENCE, ROOT, SHARED_DATA

SPY = '''
def backpropagation(model, y_true, y_pred):
    import gc, os, sys
    seen = [type(o).__name__ for o in gc.get_objects() if type(o).__name__ in ("Namespace", "GradingOptions")
            and vars(o)]
    print("SPY", os.environ.get("CANARY"), open("/proc/self/cmdline", "rb").read().split(b"\\0")[0], sys.argv,
          hash("abc"), seen)
    raise ValueError("spied")
'''


def grading_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", *arguments]


def clean_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **extra}


@pytest.mark.slow
def test_the_fork_server_is_forked_from_the_grader_and_knows_nothing_of_the_grading(tmp_path):
    """Run as the program (not in this test's process): the grader re-runs itself with fixed str hashing, forks the
    server after importing torch once, and a worker sees no variable of the grader's environment, the server's name
    for a command line, and none of the grader's parsed options."""
    submission = tmp_path / "spy"
    submission.mkdir()
    (submission / "backpropagation.py").write_text("from grader.given import MyNet\n" + SPY)
    shutil.copy(REFERENCE / "gradient_descent.py", submission / "gradient_descent.py")
    out = tmp_path / "results.json"
    done = subprocess.run(grading_command(str(submission), "--only", "backpropagation_one_sample", "--json", str(out)),
                          cwd=ROOT, env=clean_env(CANARY="grader-secret"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    printed = next(t["output"] for t in report["tests"] if "SPY" in t["output"])
    spied = printed[printed.index("SPY"):].splitlines()[0]
    assert "grader-secret" not in spied and "SPY None b'autograde-fork-server'" in spied
    assert "['autograde-fork-server']" in spied and str(hash_of_abc_at_seed_0()) in spied and spied.endswith("[]")
    assert report["extra_data"]["fork_server"] == "forked"


def hash_of_abc_at_seed_0() -> int:
    done = subprocess.run([sys.executable, "-c", "print(hash('abc'))"], env=clean_env(PYTHONHASHSEED="0"),
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.slow
@pytest.mark.root
@pytest.mark.data
def test_the_whole_grading_fits_gradescopes_default_768_mb(tmp_path):
    """The reference, every stage (the accuracy stage with fewer epochs: its memory does not depend on them),
    inside a 768 MB cgroup without swap: every check passes, no process killed for memory."""
    if reason := unavailable():
        pytest.skip(reason)
    rubric = tmp_path / "rubric.toml"
    text = (ROOT / "grader" / "assignment" / "packaged" / "default" / "rubric.toml").read_text()
    rubric.write_text(text.replace("epochs = 30", "epochs = 3").replace("full_credit = 0.765", "full_credit = 0.5")
                      .replace("partial_credit = 0.70", "partial_credit = 0.5"))
    out = tmp_path / "results.json"
    limited = run_limited(grading_command(str(REFERENCE), "--data-root", str(SHARED_DATA), "--rubric", str(rubric),
                                          "--json", str(out), "--device", "cpu"),
                          "768M", 100, env=clean_env(PYTHONHASHSEED="0"), cwd=ROOT)
    assert limited.returncode == 0, limited.stderr[-2000:]
    report = json.loads(out.read_text())
    assert limited.oom_kills == 0 and report["score"] == 100, [(t["name"], t["output"][:300]) for t in
                                                                report["tests"] if t["score"] < t["max_score"]]


@pytest.mark.slow
@pytest.mark.data
def test_a_grader_killed_from_outside_leaves_the_points_it_had_earned(tmp_path):
    """The results file is rewritten before every check: killed during the accuracy stage, it holds the CPU
    stage's points and says which check the grading stopped in."""
    out = tmp_path / "results.json"
    process = subprocess.Popen(grading_command(str(REFERENCE), "--data-root", str(SHARED_DATA), "--json", str(out),
                                               "--device", "cpu"),
                               cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and "stopped during accuracy" not in written(out):
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    report = json.loads(out.read_text())
    assert report["score"] == 85 and "Score not final" in report["output"]
    accuracy = next(t for t in report["tests"] if t["tags"][0] == "accuracy")
    assert "the grading stopped while running this check" in accuracy["output"]


def written(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.data
def test_a_stage_that_cannot_fit_the_time_budget_is_not_graded_and_says_what_to_change(tmp_path):
    from grader.commands.grade import grade_main
    from grader.options import GradingOptions

    out = tmp_path / "results.json"
    options = GradingOptions(data_root=str(SHARED_DATA), time_budget=21, checks=("accuracy",))
    assert grade_main(submission=str(REFERENCE), options=options, outputs={"json": str(out)}) == 0
    report = json.loads(out.read_text())
    assert report["score"] == 0 and "Score not final: nothing was graded" in report["output"]
    assert "this machine is too slow for the accuracy stage" in report["tests"][0]["output"]
    assert "1.0 CPU or more" in report["tests"][0]["output"]


def test_the_cpus_a_process_may_use_follow_its_cgroups_quota(tmp_path, monkeypatch):
    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "cpu.max").write_text("50000 100000\n")
    (tmp_path / "cpu.max").write_text("max 100000\n")
    fake = tmp_path / "cgroup"
    fake.write_text("0::/grading\n")
    real_open = open

    def opened(path, *args, **kwargs):
        return real_open(fake if path == "/proc/self/cgroup" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opened)
    assert cpu.available_cpus(str(tmp_path)) == 0.5
    (tmp_path / "grading" / "cpu.max").write_text("max 100000\n")
    assert cpu.available_cpus(str(tmp_path)) == min(len(os.sched_getaffinity(0)), os.cpu_count() or 1)


def test_a_worker_is_the_first_process_the_kernel_kills_for_memory():
    pid = os.fork()
    if pid == 0:
        limits.first_to_go_when_memory_runs_out()
        os._exit(0 if Path("/proc/self/oom_score_adj").read_text().strip() == "1000" else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_kernels_memory_kills_are_read_from_the_cgroup(tmp_path, monkeypatch):
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    (tmp_path / "box" / "memory.max").write_text("805306368\n")
    fake = tmp_path / "cgroup"
    fake.write_text("0::/box\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(fake if path == "/proc/self/cgroup" else path,
                                                                          *a, **k))
    assert limits.oom_kills(str(tmp_path)) == (2, 805306368)

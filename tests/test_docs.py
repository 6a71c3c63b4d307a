"""What the README and the docs print works as printed: every ``autograde`` command they show parses, every
report excerpt they quote is what the grader prints for the submission named beside it, the README's install and
main command work from a fresh clone, offline, and the docs build with no broken link."""
from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from grader.cli import build_parser, run
from tests.catalogue.buggy import BY_NAME as BUGGY
from tests.support.grading import REFERENCE, ROOT, TEMPLATE

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
QUOTED = re.compile(r"<!-- produced by: (?P<command>autograde .+?); SUBMISSION = (?P<submission>.+?) -->\n"
                    r"```[a-z]*\n(?P<body>.*?)```", re.S)
"""A quoted report: the command that prints it and the submission it ran on (reference, template, buggy/NAME)."""


def test_the_readme_is_a_page():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_the_docs_build_with_no_broken_link(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    done = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def documented_commands() -> list[tuple[str, str]]:
    """(file, command) for every ``autograde`` command in a fenced block of the README and the docs: line
    continuations joined, comments dropped, a synopsis' optional ``[...]`` parts and ``...`` left out."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:bash|sh|console|shell)?\n(.*?)```", page.read_text(), re.S):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.strip().removeprefix("$ ")
                if not line.startswith("autograde "):
                    continue
                line = re.sub(r"\s+#.*$", "", line)
                while re.search(r"\[[^\[\]]*\]", line):
                    line = re.sub(r"\s*\[[^\[\]]*\]", "", line)
                found.append((page.name, line.replace(" ...", "")))
    return found


@pytest.mark.parametrize("page, command", documented_commands())
def test_every_documented_command_parses(page, command):
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as stopped:
        assert stopped.code == 0, f"{page}: {command}"


def test_documented_commands_are_found():
    pages = {page for page, _ in documented_commands()}
    assert "README.md" in pages and len(documented_commands()) >= 20


def test_ci_runs_the_readmes_install_and_test_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"To develop it, the two set-up commands.*?\n\n```bash\n(.*?)```", readme, re.S)
    assert block is not None
    install, test = (re.sub(r"\s+#.*$", "", line).strip() for line in block.group(1).strip().splitlines())
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert f"python -m {install}" in ci and test in ci



def quoted_reports() -> list[tuple[str, str, str, str]]:
    """(page, command, submission, quoted text) of every report excerpt the README and the docs quote."""
    return [(page.name, m["command"], m["submission"], m["body"]) for page in PAGES
            for m in QUOTED.finditer(page.read_text())]


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
@pytest.mark.parametrize("page, command, submission, quoted", quoted_reports())
def test_every_quoted_report_line_is_what_the_grader_prints(page, command, submission, quoted, tmp_path):
    """Each quoted line (wrapped as the page wraps it; ``...`` stands for lines left out) is in the report the
    command prints for that submission."""
    folder = {"reference": REFERENCE, "template": TEMPLATE}.get(submission) or \
        BUGGY[submission.removeprefix("buggy/")].write(tmp_path / "submission")
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert run(shlex.split(command.replace("SUBMISSION", shlex.quote(str(folder))))[1:]) == 0
    report = _normal(printed.getvalue())
    missing = [line for line in quoted.splitlines() if line.strip() not in ("", "...") and _normal(line) not in report]
    assert not missing, f"{page}: not in the report of {command} on {submission}:\n" + "\n".join(missing)


def test_the_quoted_reports_are_found():
    assert {page for page, *_ in quoted_reports()} >= {"README.md", "students.md"}


@pytest.mark.slow
def test_the_readmes_install_and_main_command_work_from_a_fresh_clone_offline(tmp_path):
    """``pip install .`` in a virtual environment of a fresh clone (the venv sees this machine's torch: nothing to
    download), then the main command exactly as printed, with no data and no network."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    readme = (ROOT / "README.md").read_text()
    main = re.search(r"on the reference solution it ships:\n\n```bash\n(.*?)\n```", readme, re.S)
    assert main is not None and main.group(1).startswith("autograde grade reference")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(clone / ".venv")], check=True)
    installed = subprocess.run([str(clone / ".venv" / "bin" / "pip"), "install", "--quiet", "."], cwd=clone,
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {"PATH": f"{clone / '.venv' / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    done = subprocess.run(shlex.split(main.group(1)), cwd=clone, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Total: 85 / 100" in done.stdout and "Score not final: 15 of 100 points not graded" in done.stdout
    assert (clone / "results.json").is_file()


@pytest.mark.parametrize("command", ["grade", "batch"])
def test_the_instructors_synopsis_lists_every_option(command):
    """docs/instructors.md's synopsis of ``grade`` and ``batch`` names every option the command line has."""
    text = (ROOT / "docs" / "instructors.md").read_text()
    synopsis = re.search(rf"```bash\n(autograde {command} .*?)```", text, re.S)
    assert synopsis is not None
    parser = next(action for action in build_parser()._actions if action.dest == "command").choices[command]
    options = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    missing = sorted(options - {"--help"} - set(re.findall(r"--[\w-]+", synopsis.group(1))))
    assert not missing, f"docs/instructors.md's synopsis of {command} lacks {missing}"

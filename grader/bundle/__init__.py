"""What the grader ships: the student kit and the Gradescope autograder. Neither holds the reference solution.

- :func:`student_bundle`: the template, a grader wheel, the given code, a README, and the GitHub Classroom
  workflow: a folder that can serve as the assignment's template repository;
- :func:`gradescope_bundle`: ``setup.sh`` and ``run_autograder`` at the root of a zip, the grader wheel, the
  rubric, and the decoded data (checksummed) when a data folder is given.

Both need the grader's source checkout (to build the wheel); the wheel is checked to hold no reference code.
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..assignment.declaration import DECLARATION, Assignment, load_assignment
from .secrecy import Shared, shared_with

TEMPLATES = Path(__file__).with_name("templates")
KIT_ASSIGNMENT = "assignment"
"""The folder of a bundle that carries the assignment's declaration (what --assignment names there)."""
SOLUTION_PACKAGE = "reference"


class BundleError(Exception):
    """The bundle cannot be built here; the message says why and what to do."""


def checkout() -> Path:
    """The grader's source checkout (pyproject.toml next to the grader package); BundleError if there is none."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "student_template").is_dir():
        raise BundleError(f"bundles are built from the grader's source checkout; {root} is not one (run autograde "
                          "bundle from a clone of the repository, installed with pip install -e .)")
    return root


def build_wheel(target: Path) -> Path:
    """The grader wheel, built from the checkout into ``target``; BundleError if it holds reference code."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autograde-wheel-") as build:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", build, str(checkout())]
        done = subprocess.run([*command, "--no-build-isolation"], capture_output=True, text=True)
        if done.returncode != 0:  # this environment's setuptools cannot build it (a new venv's is too old): isolated
            done = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(build).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise BundleError(f"building the grader wheel failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        wheel = Path(shutil.copy(wheels[0], target))
    leaks = solution_in_wheel(wheel)
    if leaks:
        raise BundleError(f"the wheel would ship reference code ({', '.join(leaks)}); check pyproject.toml's packages")
    shared = shared_with(solution_sources(), wheel_texts(wheel))
    if shared:
        raise BundleError("the wheel shares code with the reference solution: " +
                          "; ".join(f"{s.file}: {s.what} {s.text!r}" for s in shared[:5]))
    return wheel


def solution_sources(root: Path | None = None) -> dict[str, str]:
    """The reference solution's files (name -> source), from the checkout."""
    return {f"{SOLUTION_PACKAGE}/{module.name}": module.read_text(encoding="utf-8")
            for module in sorted(((root or checkout()) / SOLUTION_PACKAGE).glob("*.py"))}


def wheel_texts(wheel: Path) -> dict[str, str]:
    """The wheel's text files, name -> content."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name).decode(errors="replace") for name in archive.namelist()}


def shared_in(root: Path, sources: dict[str, str] | None = None, only: list[Path] | None = None) -> list[Shared]:
    """What any file under ``root`` (a bundle; its wheels opened), or each of ``only`` under it, shares with the
    reference solution."""
    texts: dict[str, str] = {}
    for path in only if only is not None else (p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        if path.suffix == ".whl":
            texts.update({f"{name}!{inner}": text for inner, text in wheel_texts(path).items()})
        elif path.suffix in (".py", ".md", ".toml", ".yml", ".txt", ".sh", "") or path.name == "run_autograder":
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    return shared_with(solution_sources() if sources is None else sources, texts)


def solution_bodies(root: Path | None = None) -> list[str]:
    """The source of every function of the reference solution (what must never ship), from the checkout."""
    bodies = []
    for module in sorted(((root or checkout()) / SOLUTION_PACKAGE).glob("*.py")):
        source = module.read_text(encoding="utf-8")
        bodies += [ast.get_source_segment(source, node) for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.FunctionDef)]
    return [body for body in bodies if body and len(body.splitlines()) > 2]


def solution_in(texts: dict[str, str], bodies: list[str]) -> list[str]:
    """The names among ``texts`` (name -> content) that are the reference package or hold one of its functions."""
    return [name for name, text in texts.items()
            if name.split("/")[0] == SOLUTION_PACKAGE or any(body in text for body in bodies)]


def solution_in_wheel(wheel: Path, bodies: list[str] | None = None) -> list[str]:
    """The wheel's files that are, or contain, reference code (empty when it has none)."""
    return solution_in(wheel_texts(wheel), solution_bodies() if bodies is None else bodies)


def carry_assignment(assignment: Assignment, target: Path, rubric: Path | None = None) -> Path:
    """Copy the assignment's declaration and the rubric to grade with into ``target``/assignment/; that folder."""
    folder = target / KIT_ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(assignment.folder / DECLARATION, folder / DECLARATION)
    shutil.copy(rubric or assignment.rubric_path, folder / assignment.rubric_file)
    return folder


def template_of(assignment: Assignment, template: Path | None = None) -> Path:
    """The folder of files the students start from: ``template`` when given, else the declaration's own (this
    grader's ``student_template/`` for the default assignment); BundleError, saying what to pass, when there is none."""
    if template is None and assignment.name == "default":
        template = checkout() / "student_template"
    template = template or assignment.template_folder
    if template is None or not template.is_dir():
        where = f"{template} does not exist" if template else \
            f"the assignment {assignment.name!r} declares no template (template = \"DIR\" in its {DECLARATION})"
        raise BundleError(f"{where}: pass --template DIR, the folder of files your students start from")
    if not any(p.suffix in (".py", ".ipynb") for p in template.iterdir()):
        raise BundleError(f"the template {template} holds no notebook or .py file")
    return template


def student_bundle(out: Path, assignment: Assignment | None = None, template: Path | None = None) -> Path:
    """The student kit in ``out`` (created): the template's files at the top (``template``, or the declaration's
    own), the wheel, a README and the Classroom workflow; for the default assignment a copy of the given code; for
    another its declaration in ``assignment/``, which the README's commands and the workflow pass with
    --assignment. BundleError when there is no template to ship."""
    assignment = assignment or load_assignment(None)
    root = checkout()
    source = template_of(assignment, template)
    out.mkdir(parents=True, exist_ok=True)
    flag = ""
    for path in sorted(source.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".pyc" and path.name != "__init__.py":
            shutil.copy(path, out / path.name)
    if assignment.name == "default":
        given = (root / "grader" / "given.py").read_text(encoding="utf-8")
        (out / "given_code.py").write_text("# A copy of grader/given.py, for reading. Your code imports it as\n"
                                           "# `from grader.given import MyNet`; this file is not used.\n\n" + given,
                                           encoding="utf-8")
    else:
        carry_assignment(assignment, out)
        flag = f" --assignment {KIT_ASSIGNMENT}"
    build_wheel(out / "wheels")
    readme = (TEMPLATES / "student_README.md").read_text(encoding="utf-8").replace("{title}", assignment.title)
    readme = readme.replace("{modules}", " and ".join(f"`{m}`" for m in assignment.modules))
    readme = readme.replace("{files}", ", ".join(f"`{p.name}`" for p in sorted(source.iterdir()) if p.is_file()
                                                 and (out / p.name).is_file()))
    if flag:
        readme = readme.replace("autograde check", f"autograde check{flag}")
        readme = readme.replace('grader.check("backpropagation")',
                                f'grader.check("backpropagation", assignment="{KIT_ASSIGNMENT}")')
        readme = readme.replace("grader.check()", f'grader.check(assignment="{KIT_ASSIGNMENT}")')
    (out / "README.md").write_text(readme, encoding="utf-8")
    workflows = out / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    workflow = (root / "examples" / "classroom" / "classroom.yml").read_text(encoding="utf-8")
    (workflows / "classroom.yml").write_text(workflow.replace("autograde grade . ", f"autograde grade .{flag} "),
                                             encoding="utf-8")
    return out


GRADESCOPE_TIMEOUT = 600
"""Gradescope's default autograder timeout, in seconds."""
TIMEOUT_MARGIN = 30
"""Seconds of a Gradescope timeout kept for starting Python and writing results (the grading's budget is the rest)."""


def gradescope_bundle(out: Path, rubric: Path | None = None, data_root: Path | None = None,
                      assignment: Assignment | None = None, timeout: int = GRADESCOPE_TIMEOUT) -> Path:
    """The Gradescope autograder zip at ``out``: setup.sh and run_autograder at its root, the assignment's
    declaration in assignment/, the rubric (the assignment's own unless given) as rubric.toml; the grading's time
    budget is ``timeout`` (the autograder's Gradescope setting) less a margin."""
    from ..checks.rubric import load_rubric

    assignment = assignment or load_assignment(None)
    load_rubric(rubric or assignment.rubric_path)  # a rubric that does not load is refused now, not on Gradescope
    with tempfile.TemporaryDirectory(prefix="autograde-bundle-") as workdir:
        source = Path(workdir)
        shutil.copy(TEMPLATES / "setup.sh", source / "setup.sh")
        script = (TEMPLATES / "run_autograder").read_text(encoding="utf-8")
        (source / "run_autograder").write_text(script.replace("{time_budget}", str(timeout - TIMEOUT_MARGIN)),
                                               encoding="utf-8")
        shutil.copy(rubric or assignment.rubric_path, source / "rubric.toml")
        carry_assignment(assignment, source, rubric)
        build_wheel(source / "wheels")
        data = _bundle_data(data_root, source / "data") if data_root else None
        (source / "README.md").write_text(_gradescope_readme(out.name, data), encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                _add(archive, path, path.relative_to(source).as_posix())
    return out


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    info = zipfile.ZipInfo.from_file(path, name)
    info.external_attr = (0o755 if name in ("setup.sh", "run_autograder") else 0o644) << 16
    info.compress_type = zipfile.ZIP_STORED if name.endswith((".whl", ".npz")) else zipfile.ZIP_DEFLATED
    archive.writestr(info, path.read_bytes())


def _bundle_data(data_root: Path, target: Path) -> str:
    """The decoded airplane/bird images as one .npz with its SHA-256; a description for the README."""
    from ..data.cifar import DECODED_FILE, export_decoded

    target.mkdir(parents=True)
    export_decoded(data_root, target)
    size = (target / DECODED_FILE).stat().st_size
    return (f"`data/{DECODED_FILE}` ({size / 2**20:.0f} MiB, the decoded airplane and bird images of {data_root.name}) "
            f"with its SHA-256, checked by setup.sh.")


GRADESCOPE_SETTINGS = ("Gradescope's defaults work (768 MB, half a vCPU, the 10-minute timeout: the reference gets "
                       "every point in about 170 s, the 2023 notebooks' float64 trainings in about 380 s); 1 vCPU "
                       "halves the time. If you raise the timeout, rebuild this zip with --timeout to match. A "
                       "container too slow for the accuracy stage leaves it not graded, saying so, never a silent 0.")
"""What the instructor picks on Gradescope (docs/instructors.md, "Gradescope": benchmarks/gradescope_limits.py)."""


def _gradescope_readme(zip_name: str, data: str | None) -> str:
    data = data or ("none bundled: setup.sh downloads CIFAR-10 with torchvision when the image is built (pass "
                    "--data-root to bundle the decoded images instead: no download, checksummed).")
    settings = GRADESCOPE_SETTINGS
    text = (TEMPLATES / "gradescope_README.md").read_text(encoding="utf-8")
    for placeholder, value in (("{title}", "The MLP backpropagation / SGD assignment"), ("{zip}", zip_name),
                               ("{data}", data), ("{settings}", settings)):
        text = text.replace(placeholder, value)
    return text

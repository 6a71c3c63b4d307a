"""``autograde similarity``: which submissions of a class share their code, with each other or with earlier
years' submissions (see :mod:`grader.similarity`)."""
from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ..assignment.declaration import Assignment, AssignmentError, load_assignment
from ..similarity import extract, report
from ..similarity.extract import Submission
from ..similarity.scores import THRESHOLD, Fingerprint, compare, fingerprint, fingerprints, score_matrix
from . import EXIT_BAD_INPUT, EXIT_OK


def similarity_main(*, submissions: str, out: str, against: tuple[str, ...] = (), assignment: str | None = None,
                    template: str | None = None, threshold: float = THRESHOLD) -> int:
    """Compare every pair of the class in ``submissions`` and each of them with every submission in the folders
    ``against``; write similarity.csv and similarity.html into ``out`` (and the closest match per student into a
    batch gradebook there). Exit 2, before any work, for a missing folder or a threshold outside 0..1."""
    try:
        declared = load_assignment(assignment)
    except AssignmentError as error:
        return _bad(f"--assignment: {error}")
    folders = [Path(submissions), *map(Path, against)]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        return _bad(f"no such folder: {', '.join(missing)} (give a folder of submission folders or .zip files)")
    if not 0 < threshold <= 1:
        return _bad(f"--threshold must be between 0 and 1, got {threshold:g}")
    try:
        import copydetect  # noqa: F401 - only whether it is installed matters here
    except ImportError:
        return _bad("autograde similarity needs copydetect: pip install 'mlp-autograde[instructor]'")
    template_folder = Path(template) if template else _packaged_template(declared.name)
    if template_folder is not None and not template_folder.is_dir():
        return _bad(f"--template {template}: no such folder")
    started = time.monotonic()
    output = Path(out)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="similarity-") as scratch:
        boilerplate = extract.template_code(template_folder, declared)
        template_hashes = frozenset().union(*(fingerprint(code).tokens for code in boilerplate.values())) \
            if boilerplate else frozenset()
        jobs = _entries(Path(submissions), "", Path(scratch) / "class")
        class_names = [name for name, _, _ in jobs]
        for index, folder in enumerate(against):
            jobs += _entries(Path(folder), f"{Path(folder).name}/", Path(scratch) / f"earlier-{index}")
        read = _fingerprinted(jobs, declared, boilerplate, template_hashes)
    submissions_read = {name: sub for name, (sub, _) in read.items()}
    prints = {name: fingerprints_ for name, (_, fingerprints_) in read.items()}
    earlier_names = [name for name in read if name not in set(class_names)]
    scored = _pairs([n for n in class_names if n in read], earlier_names, prints)
    near = [compare(a, b, prints[a], prints[b]) for score, a, b in sorted(scored, reverse=True)[:DETAILED]
            if score >= threshold * NEAR]
    flagged = sorted((p for p in near if p.score >= threshold), key=lambda p: -p.score)
    report.write_csv(output / "similarity.csv", scored, near, flagged[:REPORTED], submissions_read, threshold)
    report.write_html(output / "similarity.html", [score for score, _, _ in scored], flagged, submissions_read,
                      threshold, REPORTED)
    if report.add_to_gradebook(output, _closest(scored)):
        report.add_to_summary(output, flagged, threshold)
    count = sum(1 for score, _, _ in scored if score >= threshold)
    print(f"autograde: {len(class_names)} submissions compared with each other and with {len(earlier_names)} earlier "
          f"ones ({len(scored)} pairs) in {time.monotonic() - started:.1f} s; {count} pair(s) at or above "
          f"{threshold:g}; {output / 'similarity.html'}", file=sys.stderr)
    return EXIT_OK


NEAR = 0.5
"""Pairs scoring at least this share of the threshold get their per-function rows in similarity.csv ..."""
DETAILED = 2000
"""... the highest DETAILED of them (every pair has its overall row)."""
REPORTED = 100
"""The highest flagged pairs shown side by side in similarity.html, with their matched lines in similarity.csv."""


def _bad(message: str) -> int:
    print(f"autograde: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _packaged_template(name: str) -> Path | None:
    """This grader's own template, for the default assignment, when the checkout holds it."""
    folder = Path(__file__).resolve().parents[2] / "student_template"
    return folder if name == "default" and folder.is_dir() else None


def _entries(folder: Path, prefix: str, scratch: Path) -> list[tuple[str, Path, Path]]:
    """(name, path, scratch folder) of each submission in ``folder``, named ``prefix`` + its entry's name."""
    return [(prefix + name, path, scratch) for name, path in extract.entries(folder)]


def _read_one(job: tuple[str, Path, Path, Assignment, dict[str, str], frozenset[int]]
              ) -> tuple[str, Submission | None, dict[str, Fingerprint], str]:
    name, path, scratch, declared, boilerplate, template_hashes = job
    try:
        files = extract.unpacked(path, scratch)
    except (OSError, ValueError, zipfile.BadZipFile) as error:  # a damaged zip is left out, saying why
        return name, None, {}, f"{type(error).__name__}: {error}"
    sub = extract.submission(name, files, declared, boilerplate)
    return name, sub, fingerprints(sub, template_hashes), ""


def _fingerprinted(jobs: list[tuple[str, Path, Path]], declared: Assignment, boilerplate: dict[str, str],
                   template_hashes: frozenset[int]) -> dict[str, tuple[Submission, dict[str, Fingerprint]]]:
    """Each submission's units and their fingerprints, read by one process per core."""
    work = [(name, path, scratch, declared, boilerplate, template_hashes) for name, path, scratch in jobs]
    processes = min(os.cpu_count() or 1, max(len(work) // 50, 1))
    if processes > 1:
        with multiprocessing.get_context("spawn" if os.name == "nt" else "fork").Pool(processes) as pool:
            results = pool.map(_read_one, work, chunksize=16)
    else:
        results = [_read_one(job) for job in work]
    found = {}
    for name, sub, prints, problem in results:
        if sub is None:
            print(f"autograde: {name} left out: {problem}", file=sys.stderr)
        else:
            found[name] = (sub, prints)
    return found


def _pairs(classes: list[str], earlier: list[str],
           prints: dict[str, dict[str, Fingerprint]]) -> list[tuple[float, str, str]]:
    """(score, first, second) of every pair within the class, and of every class submission with every earlier
    one (:func:`grader.similarity.scores.score_matrix`)."""
    others = classes + earlier
    matrix = score_matrix([prints[a] for a in classes], [prints[b] for b in others]).tolist() if classes else []
    return [(matrix[i][j], a, others[j]) for i, a in enumerate(classes) for j in range(i + 1, len(others))]


def _closest(pairs: list[tuple[float, str, str]]) -> dict[str, tuple[str, float]]:
    """Each submission's closest match and its score."""
    best: dict[str, tuple[str, float]] = {}
    for score, first, second in pairs:
        for one, other in ((first, second), (second, first)):
            if score > best.get(one, ("", -1.0))[1]:
                best[one] = (other, score)
    return best

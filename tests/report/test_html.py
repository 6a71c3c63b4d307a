"""The HTML reports: a student's page and the class's page, self-contained, valid HTML (html5lib's strict parser),
and what they show when a real browser renders them (headless Chromium, where it is installed)."""
from __future__ import annotations

import re
import shutil
import subprocess

import html5lib
import pytest

from grader.report import html as html_report
from grader.report.results import CheckResult, Report
from tests.report.test_formats import hand_built

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def valid(text: str) -> None:
    """Parse ``text`` as HTML5 with html5lib's strict parser (a parse error raises)."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def rendered(path) -> str:
    """The DOM a headless Chromium builds from the file (what a student's browser shows)."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run", "--dump-dom",
                           path.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_students_page_is_valid_self_contained_and_shows_every_check():
    report = hand_built()
    page = html_report.dumps(report)
    valid(page)
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page), "self-contained"
    for result in report.results:
        section = html_report.anchor(result.name)
        assert f'href="#{section}"' in page and f'id="{section}"' in page
    assert "12.5 / 70" in page and "KeyError: &#x27;secret&#x27;" not in page and "KeyError" not in page
    assert "epoch 1 loss 0.69" in page, "what the student's code printed"


def test_a_page_whose_score_is_not_final_says_so():
    open_points = CheckResult("accuracy", "Accuracy", 15.0, skipped="no data folder was given", not_graded=True)
    page = html_report.dumps(Report("alice", [open_points]))
    valid(page)
    assert 'class="not-final">Score not final: nothing was graded (no data folder was given)' in page


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium here (Debian: apt-get install chromium)")
def test_a_browser_renders_the_students_page(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(html_report.dumps(hand_built()), encoding="utf-8")
    dom = rendered(path)
    assert "<h1>alice: 12.5 / 70</h1>" in dom and dom.count("<section") == 5

"""A self-contained HTML page of one submission's report (``--html``, and ``NAME/report.html`` in a batch): the
score, a table of the checks, each check's feedback, what the student's code printed. No script, no external file:
it opens from a folder, an LMS attachment or an e-mail. :func:`page` is the shell the class page uses too."""
from __future__ import annotations

import html

from ..outcomes import Status
from .feedback import feedback
from .printed import excerpt
from .results import CheckResult, Report, points

STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2125; }
main { max-width: 70rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; } h2 { font-size: 1.2rem; margin: 1.8rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; }
th, td { border-bottom: 1px solid #d9dde1; padding: .35rem .6rem; text-align: left; vertical-align: top; }
td.number, th.number { text-align: right; white-space: nowrap; }
pre { background: #f5f6f8; padding: .7rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.passed { color: #1a7f37; } .failed, .error { color: #cf222e; } .skipped { color: #6e7781; }
.not-final { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; }
footer { color: #6e7781; font-size: .85rem; margin-top: 2rem; }
"""
MARKS = {Status.PASSED: "pass", Status.FAILED: "fail", Status.SKIPPED: "skipped", Status.ERROR: "error"}
PRINTED_LINES = 60


def page(title: str, body: str) -> str:
    """A whole HTML document: ``title`` and ``body`` (already escaped HTML), with the grader's style inline."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def anchor(name: str) -> str:
    """The id of a check's section (``check-backpropagation_one_sample``)."""
    return "check-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def dumps(report: Report) -> str:
    """The report as a self-contained page (what a student sees: no grader internals)."""
    assignment = report.metadata.get("assignment")
    body = [f"<h1>{html.escape(report.submission)}: {points(report.score)} / {points(report.max_score)}</h1>"]
    if not report.final:
        body.append(f'<p class="not-final">{html.escape(report.not_final_reason())}</p>')
    if report.notes:
        body.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in report.notes) + "</ul>")
    body.append(_table(report.results))
    body += [_section(result) for result in report.results if result.status is not Status.PASSED or result.parts]
    footer = [f"assignment {assignment}" if assignment else "", f"seed {report.metadata['seed']}"
              if "seed" in report.metadata else "", f"graded in {report.execution_time:.1f} s"]
    body.append(f"<footer>autograde {html.escape(str(report.metadata.get('grader', '')))}: "
                f"{html.escape(', '.join(part for part in footer if part))}</footer>")
    return page(f"autograde: {report.submission}", "\n".join(body))


def _table(results: list[CheckResult]) -> str:
    rows = "".join(f'<tr><td><a href="#{anchor(r.name)}">{html.escape(r.title)}</a></td>'
                   f'<td class="{r.status}">{MARKS[r.status]}</td>'
                   f'<td class="number">{points(r.score)} / {points(r.max_score)}</td></tr>' for r in results)
    return ('<table>\n<thead><tr><th>check</th><th>result</th><th class="number">points</th></tr></thead>\n'
            f"<tbody>{rows}</tbody>\n</table>")


def _section(result: CheckResult) -> str:
    text = feedback(result)
    printed = ""
    if result.output.strip():
        shown = "\n".join(excerpt(result.output, PRINTED_LINES))
        printed = f"<p>Your code printed:</p>\n<pre>{html.escape(shown)}</pre>\n"
    opened = " open" if result.status in (Status.FAILED, Status.ERROR) else ""
    return (f'<section id="{anchor(result.name)}">\n<h2 class="{result.status}">{html.escape(result.title)}: '
            f"{points(result.score)} / {points(result.max_score)}</h2>\n"
            f"<details{opened}><summary>{MARKS[result.status]}: feedback</summary>\n<pre>{html.escape(text)}</pre>\n"
            f"{printed}</details>\n</section>")

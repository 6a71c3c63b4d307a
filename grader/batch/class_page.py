"""The class's HTML page (``OUT/summary.html``), self-contained: the scores, each check's mean and pass rate, the
misconceptions the diagnosis named, the distribution plot (embedded), and every student with a link to their
report (``NAME/report.html``)."""
from __future__ import annotations

import base64
import html
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..report.html import page
from ..report.results import points
from .gradebook import PARTIAL, States
from .summary import CheckSummary


def class_html(states: States, totals: list[float], checks: list[CheckSummary], possible: float,
               statuses: Counter[Any], named: Counter[Any], sentences: dict[str, str], plot: Path | None) -> str:
    """The page, from what the gradebook and the Markdown summary are made of."""
    body = [f"<h1>Class summary: {len(totals)} submissions</h1>"]
    if totals:
        ordered = sorted(totals)
        body.append(f"<p>Mean {sum(totals) / len(totals):.1f} / {points(possible)}, median "
                    f"{points(ordered[len(ordered) // 2])}, min {points(ordered[0])}, max {points(ordered[-1])}.</p>")
    body.append("<p>Grading status: " + html.escape(", ".join(f"{status} {count}" for status, count in
                                                          statuses.most_common())) + ".</p>")
    if statuses.get(PARTIAL):
        body.append(f'<p class="not-final">Scores not final: {statuses[PARTIAL]} submission(s) partial (some checks '
                    "not graded, e.g. the accuracy stage without data: grade again with --data-root DIR or "
                    "--download).</p>")
    if plot is not None and plot.is_file():
        encoded = base64.b64encode(plot.read_bytes()).decode()
        body.append(f'<img alt="score histogram and pass rates" style="max-width: 100%" '
                    f'src="data:image/png;base64,{encoded}">')
    body += [_checks(checks), _misconceptions(named, sentences), _students(states, possible)]
    return page("autograde: class summary", "\n".join(part for part in body if part))


def _checks(checks: list[CheckSummary]) -> str:
    rows = "".join(f"<tr><td>{html.escape(c.name)}</td><td class=\"number\">"
                   + (f"{c.mean:.2f}" if c.scores else "skipped")
                   + f'</td><td class="number">{points(c.possible)}</td><td class="number">'
                   + (f"{100 * c.pass_rate:.0f}%" if c.scores else "skipped") + "</td></tr>" for c in checks)
    return ("<h2>Checks</h2>\n<table><thead><tr><th>check</th><th class=\"number\">mean</th><th class=\"number\">"
            f"possible</th><th class=\"number\">pass rate</th></tr></thead><tbody>{rows}</tbody></table>")


def _misconceptions(named: Counter[Any], sentences: dict[str, str]) -> str:
    if not named:
        return ""
    rows = "".join(f"<tr><td>{html.escape(check)}</td><td><code>{html.escape(id_)}</code></td>"
                   f"<td>{html.escape(sentences.get(id_, ''))}</td><td class=\"number\">{count}</td></tr>"
                   for (check, id_), count in named.most_common())
    return ("<h2>Misconceptions in this class</h2>\n<table><thead><tr><th>check</th><th>misconception</th>"
            f"<th>what it does</th><th class=\"number\">students</th></tr></thead><tbody>{rows}</tbody></table>")


def _students(states: States, possible: float) -> str:
    rows = []
    for name, state in sorted(states.items()):
        report = state.get("report") or {}
        score = 0.0 if report.get("grader_error") else float(report.get("score", 0.0))
        diagnoses = sorted({part["details"]["diagnosis"] for result in report.get("results", [])
                            for part in result["parts"] if part.get("details", {}).get("diagnosis")})
        rows.append(f'<tr><td><a href="{quote(name)}/report.html">{html.escape(name)}</a></td>'
                    f'<td class="number">{points(score)} / {points(possible)}</td>'
                    f"<td>{html.escape(state.get('status', ''))}</td><td>{html.escape(' '.join(diagnoses))}</td></tr>")
    return ("<h2>Students</h2>\n<table><thead><tr><th>name</th><th class=\"number\">total</th><th>status</th>"
            f"<th>diagnoses</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")

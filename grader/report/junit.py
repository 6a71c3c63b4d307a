"""JUnit XML, as GitHub Actions test reporters and GitLab read it: one testcase per part of every check."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ..outcomes import Status
from .results import AUTOGRADER_ERROR, CheckResult, Report, points


def dumps(report: Report) -> str:
    """One <testsuite>; a <testcase> per part (per check when it was skipped or the grader failed)."""
    cases = [case for result in report.results for case in _cases(result)]
    suite = ET.Element("testsuite", name="autograde", tests=str(len(cases)),
                       failures=str(sum(c.find("failure") is not None for c in cases)),
                       errors=str(sum(c.find("error") is not None for c in cases)),
                       skipped=str(sum(c.find("skipped") is not None for c in cases)),
                       time=f"{report.execution_time:.3f}")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", report.score), ("max_score", report.max_score), ("submission", report.submission)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    suite.extend(cases)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _cases(result: CheckResult) -> list[ET.Element]:
    classname = f"autograde.{result.name}"
    if result.status in (Status.SKIPPED, Status.ERROR) or not result.parts:
        case = ET.Element("testcase", classname=classname, name=f"{result.title} (0/{points(result.max_score)})")
        skipped = result.status is Status.SKIPPED
        tag, text = ("skipped", result.skipped or "") if skipped else ("error", AUTOGRADER_ERROR)
        ET.SubElement(case, tag, message=text.splitlines()[0][:300] if text else "").text = text
        return [case]
    total = sum(p.weight for p in result.parts) or 1.0
    cases = []
    for part in result.parts:
        worth = result.max_score * part.weight / total
        case = ET.Element("testcase", classname=classname,
                          name=f"{part.label} ({points(worth if part.passed else 0)}/{points(worth)})")
        if not part.passed:
            failure = ET.SubElement(case, "failure", message=(part.message.splitlines() or [""])[0][:300],
                                    type=part.kind.value if part.kind else "wrong")
            failure.text = part.message
        cases.append(case)
    if result.output.strip():
        ET.SubElement(cases[0], "system-out").text = result.output
    return cases

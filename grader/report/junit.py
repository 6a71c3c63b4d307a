"""JUnit XML, as GitHub Actions test reporters and GitLab read it."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .results import Report


def dumps(report: Report) -> str:
    """One <testsuite> with a <testcase> per check; score and max score as properties."""
    counts = {status: sum(r.status == status for r in report.results) for status in ("failed", "skipped", "error")}
    suite = ET.Element("testsuite", name="autograde", tests=str(len(report.results)), failures=str(counts["failed"]),
                       errors=str(counts["error"]), skipped=str(counts["skipped"]),
                       time=f"{report.execution_time:.3f}")
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", report.score), ("max_score", report.max_score), ("submission", report.submission)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=f"autograde.{result.name}",
                             name=f"{result.title} ({result.score:g}/{result.max_score:g})")
        tag = {"failed": "failure", "error": "error", "skipped": "skipped"}.get(result.status)
        if tag:
            element = ET.SubElement(case, tag, message=_first_line(result.feedback))
            element.text = result.feedback
        if result.output.strip():
            ET.SubElement(case, "system-out").text = result.output
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if "FAIL" in line or line.startswith("Skipped")]
    return (lines[0] if lines else text.splitlines()[0] if text else "")[:300]

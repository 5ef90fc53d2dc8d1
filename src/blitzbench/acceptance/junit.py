"""The verdict as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub reporters) read.

One testcase per verdict-table row. FAIL and MISSING rows are failures whose message
names the rule, the metric, the device, the bound and the measured value; SKIPPED and
NOISY rows are skipped testcases whose message says why, so a CI page shows them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from blitzbench.acceptance.rules import RuleResult, Status
from blitzbench.results.names import JUNIT_FILE
from blitzbench.runs import write_text_atomic

__all__ = ["JUNIT_FILE", "failure_message", "junit_xml", "write_junit"]

SUITE_NAME = "blitzbench.accept"


def failure_message(row: RuleResult) -> str:
    """``rule 'x': metric on device: measured 3.1 GB/s, bound >= 20 GB/s (FAIL)``."""
    return (f"rule {row.rule.id!r}: {row.metric} on {row.device}: measured {row.shown}, "
            f"bound {row.bound_text} ({row.status.value})"
            + (f": {row.detail}" if row.detail else ""))


#: Rows JUnit reports as skipped: not applicable here, or not judged (a busy machine, a
#: noisy figure); never as passed.
NOT_JUDGED = (Status.SKIPPED, Status.NOISY, Status.INCONCLUSIVE)


def junit_xml(rows: Sequence[RuleResult], *, elapsed_s: float = 0.0) -> str:
    """The XML text for ``rows``."""
    failures = sum(r.status in (Status.FAIL, Status.MISSING) for r in rows)
    skipped = sum(r.status in NOT_JUDGED for r in rows)
    suites = ET.Element("testsuites", name="blitzbench", tests=str(len(rows)),
                        failures=str(failures), errors="0", time=f"{elapsed_s:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=SUITE_NAME, tests=str(len(rows)),
                          failures=str(failures), errors="0", skipped=str(skipped),
                          time=f"{elapsed_s:.3f}")
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE_NAME}.{row.rule.id}",
                             name=f"{row.metric} [{row.device}]", time="0")
        if row.status in (Status.FAIL, Status.MISSING):
            failure = ET.SubElement(case, "failure", message=failure_message(row),
                                    type=row.status.value)
            failure.text = f"{failure_message(row)}\nsource of the bound: " \
                           f"{row.rule.source or '(none given)'}"
        elif row.status in NOT_JUDGED:
            ET.SubElement(case, "skipped", message=f"{row.status.value}: {row.detail}")
        ET.SubElement(case, "system-out").text = failure_message(row)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(folder: Path, rows: Sequence[RuleResult], *, elapsed_s: float = 0.0) -> Path:
    return write_text_atomic(Path(folder) / JUNIT_FILE, junit_xml(rows, elapsed_s=elapsed_s))

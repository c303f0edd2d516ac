"""The kit's result: cases (pass / fail / skip, each with its reason) and the three ways to write them.

A readable summary for a person, JUnit XML for a CI server, JSON for a program. The report is plain
data; nothing here knows about HTTP or modules.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

PASS, FAIL, SKIP = "pass", "fail", "skip"
STEPS = ("pacts", "openapi", "archetypes")


@dataclass
class Case:
    step: str
    name: str
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    module: str
    base_url: str
    allow_skip: bool = False
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    cases: list[Case] = field(default_factory=list)

    def add(self, step: str, name: str, status: str, message: str = "", seconds: float = 0.0) -> Case:
        case = Case(step, name, status, message, round(seconds, 3))
        self.cases.append(case)
        return case

    def of(self, step: str) -> list[Case]:
        return [c for c in self.cases if c.step == step]

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.cases) for s in (PASS, FAIL, SKIP)}

    def skipped_steps(self) -> list[str]:
        """Steps that did not run at all (every case of the step skipped, or no case)."""
        return [s for s in STEPS if all(c.status == SKIP for c in self.of(s))]

    @property
    def conforms(self) -> bool:
        if any(c.status == FAIL for c in self.cases):
            return False
        return self.allow_skip or not self.skipped_steps()

    @property
    def exit_code(self) -> int:
        return 0 if self.conforms else 1

    # -- output ---------------------------------------------------------------------------------

    def summary(self) -> str:
        lines = [f"Conformance kit: module {self.module} at {self.base_url} ({self.started})", ""]
        for step in STEPS:
            cases = self.of(step)
            if not cases:
                continue
            counts = {s: sum(c.status == s for c in cases) for s in (PASS, FAIL, SKIP)}
            lines.append(f"== {step}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
            for case in cases:
                line = f"  {case.status.upper():4}  {case.name}"
                if case.message and case.status != PASS:
                    line += f"\n          {case.message}"
                lines.append(line)
            lines.append("")
        counts = self.counts()
        lines.append(f"Total: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
        skipped = self.skipped_steps()
        if skipped:
            note = "allowed by --allow-skip" if self.allow_skip else "the module is not shown to conform; " \
                "pass --allow-skip to accept that"
            lines.append(f"Steps that did not run: {', '.join(skipped)} ({note})")
        verdict = "CONFORMS" if self.conforms else "DOES NOT CONFORM"
        lines.append(f"Result: {self.module} {verdict} (exit {self.exit_code})")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict:
        return {
            "module": self.module,
            "base_url": self.base_url,
            "started": self.started,
            "conforms": self.conforms,
            "allow_skip": self.allow_skip,
            "counts": self.counts(),
            "skipped_steps": self.skipped_steps(),
            "cases": [asdict(c) for c in self.cases],
        }

    def junit_xml(self) -> str:
        counts = self.counts()
        root = ET.Element("testsuites", name=f"conformance {self.module}", tests=str(len(self.cases)),
                          failures=str(counts[FAIL]), skipped=str(counts[SKIP]))
        for step in STEPS:
            cases = self.of(step)
            suite = ET.SubElement(
                root, "testsuite", name=f"{self.module}.{step}", tests=str(len(cases)),
                failures=str(sum(c.status == FAIL for c in cases)),
                skipped=str(sum(c.status == SKIP for c in cases)),
                time=f"{sum(c.seconds for c in cases):.3f}", timestamp=self.started,
            )
            for case in cases:
                element = ET.SubElement(suite, "testcase", classname=f"{self.module}.{step}", name=case.name,
                                        time=f"{case.seconds:.3f}")
                if case.status == FAIL:
                    ET.SubElement(element, "failure", message=case.message).text = case.message
                elif case.status == SKIP:
                    ET.SubElement(element, "skipped", message=case.message)
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

    def write(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        files = {
            "summary.txt": self.summary(),
            "junit.xml": self.junit_xml(),
            "report.json": json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n",
        }
        written = []
        for name, text in files.items():
            path = directory / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
        return written

"""The inspection report: what each named step of one document check found, immutable and versioned.

A report is evidence, so it is frozen once built, carries a `schema_version`, and holds no
personal data (no names, numbers, dates of birth or images): only the issuing state and type of
the document, step outcomes with stable reason codes, and timings. The decision is not part of
it: `policy.decide(report, policy)` derives that, so the same report can be re-judged under
another policy. The JSON schema is generated from these models (`write_schema`) and kept in
`docs/inspection-report.schema.json`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import Reason

REPORT_VERSION: Literal[1] = 1
SCHEMA_FILE = "inspection-report.schema.json"

#: values a step may state about a document without naming its holder
Fact = str | int | float | bool | None


class StepName(StrEnum):
    """Stable step names, in the order an e-gate runs them."""

    DOCUMENT_PRESENCE = "document_presence"
    MRZ = "mrz"
    CHIP_ACCESS = "chip_access"
    DATA_GROUPS = "data_groups"
    AUTHENTICITY = "authenticity"
    DOCUMENT_VALIDITY = "document_validity"
    WATCHLIST = "watchlist"
    REPEATED_USE = "repeated_use"
    BIOMETRICS = "biometrics"
    GATE_SENSORS = "gate_sensors"
    SEAL = "seal"  # a visa or permit seal shown with the passport (appliance/barcodes)
    MORPH = "morph"  # morphing attack detection on the chip photo (appliance/biometrics/morph)
    IRIS = "iris"  # the live NIR eye against DG4, after Terminal Authentication (iris_step.py)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubCheck(_Frozen):
    """One check inside a step (a Passive Authentication check, for instance)."""

    name: str
    status: CheckStatus
    reason: Reason
    detail: str = ""


class StepResult(_Frozen):
    """The outcome of one named step; `detail` and `facts` must never hold personal data."""

    name: StepName
    status: CheckStatus
    reason: Reason = Reason.OK
    detail: str = ""
    duration_ms: float = Field(ge=0)
    attempts: int = Field(default=1, ge=0)
    #: non-personal findings (protocol used, counts, thresholds, scores)
    facts: dict[str, Fact] = Field(default_factory=dict)
    checks: tuple[SubCheck, ...] = ()
    #: finer timings inside the step (PACE, file reads...)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def skipped(
        cls, name: StepName, detail: str, *, blocked_by: StepName | None = None
    ) -> StepResult:
        """A step that did not run; `blocked_by` names the failed step it depended on."""
        facts: dict[str, Fact] = {} if blocked_by is None else {"blocked_by": blocked_by.value}
        return cls(
            name=name,
            status=CheckStatus.SKIPPED,
            detail=detail,
            duration_ms=0.0,
            attempts=0,
            facts=facts,
        )


class DocumentClass(_Frozen):
    """What kind of document was checked: enough for statistics, nothing about its holder."""

    issuing_state: str
    #: first character of the document code (P passport, I/A/C identity card, V visa)
    document_type: str


class InspectionReport(_Frozen):
    schema_version: Literal[1] = REPORT_VERSION
    report_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    started_at: datetime
    device_id: str
    location: str
    mode: Literal["egate", "handheld"]
    document: DocumentClass | None = None
    steps: tuple[StepResult, ...]
    total_ms: float = Field(ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> CheckStatus:
        """Worst step status: fail, else warn, else pass; `skipped` only if nothing ran."""
        statuses = {s.status for s in self.steps}
        for status in (CheckStatus.FAIL, CheckStatus.WARN, CheckStatus.PASS):
            if status in statuses:
                return status
        return CheckStatus.SKIPPED

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason(self) -> Reason:
        """The first failing step's reason, else the first warning's, else OK."""
        for wanted in (CheckStatus.FAIL, CheckStatus.WARN):
            for step in self.steps:
                if step.status is wanted:
                    return step.reason
        return Reason.OK

    @computed_field  # type: ignore[prop-decorator]
    @property
    def timings_ms(self) -> dict[str, float]:
        return {s.name.value: s.duration_ms for s in self.steps}

    def step(self, name: StepName) -> StepResult | None:
        return next((s for s in self.steps if s.name is name), None)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON object (validates against docs/inspection-report.schema.json)."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_report(
    *,
    steps: Iterable[StepResult],
    started_at: datetime,
    device_id: str,
    location: str,
    mode: Literal["egate", "handheld"],
    document: DocumentClass | None,
    total_ms: float,
) -> InspectionReport:
    return InspectionReport(
        started_at=started_at,
        device_id=device_id,
        location=location,
        mode=mode,
        document=document,
        steps=tuple(steps),
        total_ms=round(total_ms, 3),
    )


def json_schema() -> dict[str, object]:
    """The JSON schema of a serialised report (draft 2020-12)."""
    schema = InspectionReport.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://border-appliance.example/schemas/inspection-report-v1.json"
    return schema


def write_schema(directory: Path) -> Path:
    """Write the schema into `directory` (docs/); `python -m appliance.inspection.report docs`."""
    path = directory / SCHEMA_FILE
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    return path


if __name__ == "__main__":
    import sys

    print(write_schema(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")))

"""`iris_step.judge` on documents the workflow may hand it: every way DG4 can be missing or
bad refers with its reason, and the verifier is asked only with a usable reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from appliance.emrtd.document import ChipDocument
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.errors import Reason
from appliance.inspection.iris_step import judge
from hardware_mocks.virtual_chip.profile import iris_jp2

TA_PASSED = Check.passed(CheckName.TERMINAL_AUTHENTICATION, "ok")
GOOD_DG4 = dg4.encode(
    dg4.for_images({dg4.EyeSubtype.RIGHT: iris_jp2(2)}, dg4.IrisImageFormat.MONO_JPEG2000)
)


@dataclass
class Result:
    status: str
    reason: Reason
    score: float | None
    threshold: float


class Verifier:
    def __init__(self, result: Result) -> None:
        self.result = result
        self.calls: list[int] = []

    def __call__(self, references: Sequence[Any]) -> Result:
        self.calls.append(len(references))
        assert all(r.dtype == np.uint8 and r.ndim == 2 for r in references)
        return self.result


def _doc(
    dg4_bytes: bytes | None, eac: Check | None = TA_PASSED, **unavailable: str
) -> ChipDocument:
    files = {"DG1.bin": b"x"}
    if dg4_bytes is not None:
        files["DG4.bin"] = dg4_bytes
    return ChipDocument(
        files=files, eac=eac, unavailable={f"{k}.bin": v for k, v in unavailable.items()}
    )


def test_a_match_passes_and_only_then() -> None:
    ok = Verifier(Result("pass", Reason.OK, 0.2, 0.32))
    judged = judge(ok, True, _doc(GOOD_DG4))
    assert (judged.status, judged.reason) == (CheckStatus.PASS, Reason.OK)
    assert ok.calls == [1] and judged.facts["score"] == 0.2
    no = Verifier(Result("fail", Reason.IRIS_NO_MATCH, 0.45, 0.32))
    assert judge(no, True, _doc(GOOD_DG4)).reason is Reason.IRIS_NO_MATCH
    # a verifier that says "fail" without a reason still fails, never passes
    odd = Verifier(Result("fail", Reason.OK, None, 0.32))
    assert judge(odd, True, _doc(GOOD_DG4)).status is CheckStatus.FAIL


def test_malformed_or_unsupported_dg4_refers_with_its_reason() -> None:
    verifier = Verifier(Result("pass", Reason.OK, 0.1, 0.32))
    truncated = judge(verifier, True, _doc(GOOD_DG4[:-100]))
    assert (truncated.status, truncated.reason) == (CheckStatus.FAIL, Reason.LDS_MALFORMED)
    model = dg4.parse(GOOD_DG4)
    record = model.biometrics[0].record
    rgb = replace(record, image_format=dg4.IrisImageFormat.RGB_JPEG2000)
    colour = dg4.Dg4((replace(model.biometrics[0], record=rgb),))
    judged = judge(verifier, True, _doc(dg4.encode(colour)))
    assert (judged.status, judged.reason) == (CheckStatus.FAIL, Reason.LDS_UNSUPPORTED)
    assert verifier.calls == []


def test_no_dg4_says_why() -> None:
    refused = Check.failed(CheckName.TERMINAL_AUTHENTICATION, Reason.TA_CERT_EXPIRED, "old")
    assert judge(None, True, _doc(None, refused)).reason is Reason.TA_CERT_EXPIRED
    no_right = judge(None, True, _doc(None, DG4=Reason.TA_RIGHTS_MISSING.value))
    assert no_right.reason is Reason.IRIS_REFERENCE_MISSING
    assert "TA_RIGHTS_MISSING" in no_right.detail
    assert "no EAC credentials" in judge(None, True, _doc(None, None)).detail


def test_no_camera_refers_and_not_required_skips() -> None:
    assert judge(None, True, _doc(GOOD_DG4)).reason is Reason.CAMERA_UNAVAILABLE
    assert judge(None, False, _doc(GOOD_DG4)).status is CheckStatus.SKIPPED
    assert judge(None, True, None).status is CheckStatus.SKIPPED  # chip step failed already

"""Parse once: a traveller's DG1 and DG2 are parsed one time, however many steps read them.

The lane's data-group, authenticity and biometrics steps and the chip report all read DG1 and
DG2; the parsed models travel with the `ChipDocument` (issue #12 step 4), so the bytes go
through their parser once per document, and a malformed file fails the same way each time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.emrtd import lds
from appliance.emrtd.document import ChipDocument, document_report
from appliance.emrtd.lds import dg1, dg2
from appliance.emrtd.pki.checks import CheckStatus
from appliance.errors import LdsError, Reason
from appliance.inspection.policy import PolicyConfig
from appliance.inspection.report import StepName
from appliance.inspection.steps import STEPS
from hardware_mocks.virtual_chip import make_profile
from tests.support.inspection_support import lane, transaction


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts every call of the DG1 and DG2 parsers, whichever way a caller reaches them."""
    counts: Counter[str] = Counter()
    for number, module in ((1, dg1), (2, dg2)):
        original: Callable[[bytes], Any] = module.parse

        def counting(
            data: bytes, _parse: Callable[[bytes], Any] = original, _n: int = number
        ) -> Any:
            counts[f"DG{_n}"] += 1
            return _parse(data)

        monkeypatch.setattr(module, "parse", counting)
        monkeypatch.setitem(lds._DG_CODECS, number, (counting, module.encode))
    return counts


class Face:
    """A face verifier that matches: the biometrics step reads the DG2 portrait."""

    status, reason, score, threshold = "pass", Reason.OK, 0.9, 0.4

    def __call__(self, reference: bytes) -> Face:
        assert reference[:2] == b"\xff\xd8"
        return self


def test_a_traveller_through_the_lane_and_the_report_parses_dg1_and_dg2_once(
    tmp_path: Path, parses: Counter[str]
) -> None:
    with lane(tmp_path, PolicyConfig(version=1), face=Face()) as ln:
        tx = transaction(make_profile(11))
        outcomes = {name: step(ln, tx) for name, step in STEPS}
    for name in (StepName.DATA_GROUPS, StepName.AUTHENTICITY, StepName.BIOMETRICS):
        assert outcomes[name].status is CheckStatus.PASS, (name, outcomes[name])
    assert tx.document is not None
    report = document_report(tx.document)
    assert report["dg1"] is not None and report["face_image"]["format"] is not None
    assert parses == Counter({"DG1": 1, "DG2": 1})


def test_a_malformed_dg2_is_parsed_once_and_fails_alike_every_time(parses: Counter[str]) -> None:
    document = ChipDocument(files={"DG2.bin": b"\x75\x03\x7f\x61\x00"})
    failures = []
    for _ in range(3):
        with pytest.raises(LdsError) as caught:
            document.dg2()
        failures.append((caught.value.reason, caught.value.detail))
    assert len(set(failures)) == 1
    assert parses["DG2"] == 1


def test_replaced_bytes_are_parsed_afresh() -> None:
    first = dg1.encode(
        dg1.Dg1(
            ("P<UTOERIKSSON<<ANNA<MARIA" + "<" * 19, "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
        )
    )
    document = ChipDocument(files={"DG1.bin": first})
    assert document.dg1().issuing_state == "UTO"
    document.files["DG1.bin"] = first.replace(b"P<UTO", b"P<D<<")
    assert document.dg1().issuing_state == "D<<"
    with pytest.raises(KeyError):
        ChipDocument(files={}).dg1()

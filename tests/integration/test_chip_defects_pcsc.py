"""Every defective chip, read through the real PC/SC stack (pcscd + vpcd + pyscard), must fail
with its exact reason code; the genuine chip passes every check.

The verifier is the product path (`read_chip` + `verify_document`) with a trust store holding
what the scenario's inspection system would hold (`defects.trust_material`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.emrtd.document import read_chip, verify_document
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.session import MrzKey
from appliance.ports import CardEventKind
from drivers.pcsc import PcscReader
from hardware_mocks.virtual_chip import PaceOption, VirtualChip, make_chip, make_profile
from hardware_mocks.virtual_chip.defects import EXPECTED, Defect, trust_material
from hardware_mocks.virtual_chip.face import synthetic_face_jpeg
from hardware_mocks.vpcd import VpcdBridge
from tests.support import pa_pki

pytestmark = pytest.mark.pcsc

SLOT = "Virtual PCD 00 01"
PORT = 35964
PROFILE = make_profile(face_image=synthetic_face_jpeg(0, 4_000))
KEY = MrzKey(PROFILE.document_number, PROFILE.date_of_birth, PROFILE.date_of_expiry)


@pytest.fixture
def reader(pcsc_stack: str) -> Iterator[PcscReader]:
    reader = PcscReader(SLOT)
    reader.wait_for_event(0.1)
    yield reader


def _inserted(reader: PcscReader, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = reader.wait_for_event(max(0.1, deadline - time.monotonic()))
        if event is not None and event.kind is CardEventKind.INSERTED:
            return
    pytest.fail("the virtual card never appeared in the PC/SC reader")


def _verify(reader: PcscReader, chip: VirtualChip, defect: Defect | None, tmp_path: Path) -> dict[
    CheckName, tuple[CheckStatus, str]
]:  # fmt: skip
    with VpcdBridge(chip, port=PORT):
        _inserted(reader)
        document = read_chip(reader.transport(), KEY)
    with TrustStore(tmp_path / "trust.sqlite3") as store:
        for index, material in enumerate(trust_material(PROFILE, defect)):
            assert import_file(
                material, store, f"trust-{index}.der", anchors=[pa_pki.pin(material)]
            ).ok
        checks = verify_document(document, store)
    return {c.name: (c.status, c.reason.value) for c in checks}


def test_genuine_chip_passes_through_pcscd(reader: PcscReader, tmp_path: Path) -> None:
    checks = _verify(reader, VirtualChip(PROFILE), None, tmp_path)
    failing = {name: value for name, value in checks.items() if value[0] is CheckStatus.FAIL}
    assert not failing
    assert checks[CheckName.CHIP_AUTHENTICATION] == (CheckStatus.PASS, "OK")
    assert checks[CheckName.DG_HASHES] == (CheckStatus.PASS, "OK")


@pytest.mark.parametrize("defect", list(Defect), ids=[d.value for d in Defect])
def test_defective_chip_fails_with_its_reason(
    reader: PcscReader, tmp_path: Path, defect: Defect
) -> None:
    chip = make_chip(profile=PROFILE, variant=defect.value)
    checks = _verify(reader, chip, defect, tmp_path)
    name, reason = EXPECTED[defect]
    assert checks[name] == (CheckStatus.FAIL, reason.value), checks
    if defect not in (Defect.CLONED, Defect.STRIPPED_CHIP_KEYS):
        # the chip itself is genuine: only the data is wrong, never the chip's proof
        assert checks[CheckName.CHIP_AUTHENTICATION][0] is not CheckStatus.FAIL


@pytest.mark.parametrize("variant", [None, Defect.CLONED])
def test_pace_cam_chip_through_pcscd(
    reader: PcscReader, tmp_path: Path, variant: Defect | None
) -> None:
    """PACE-CAM proves the genuine chip inside PACE; the clone's CA_IC gives it away."""
    chip = make_chip(
        profile=PROFILE,
        variant=variant.value if variant else None,
        pace_options=(PaceOption.mapped("CAM"),),
    )
    checks = _verify(reader, chip, variant, tmp_path)
    assert checks[CheckName.CHIP_AUTHENTICATION][0] is CheckStatus.SKIPPED
    if variant is None:
        assert checks[CheckName.PACE_CAM] == (CheckStatus.PASS, "OK")
    else:
        assert checks[CheckName.PACE_CAM] == (CheckStatus.FAIL, "CHIP_CLONE_SUSPECTED")

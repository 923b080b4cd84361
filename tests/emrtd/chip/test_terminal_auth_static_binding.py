"""Terminal Authentication's static-binding retry after PACE-GM or PACE-IM and Chip
Authentication (TR-03110-1 §3.5, ICAO 9303-11).

Some States' chips take the document number as ID_PICC after PACE instead of Comp(the chip's
ephemeral PACE key). A terminal refused with the dynamic binding retries once with the static
one: a new PACE session, a new Chip Authentication (new ephemeral key, new SM keys) that must
pass again, then TA bound to that new key. The virtual chip's `ta_static_binding` knob is such
a chip; its log below shows what the terminal sent, session by session.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from appliance.emrtd.document import ChipDocument, read_chip
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.session import ChipSession, MrzKey, ReaderOptions
from appliance.errors import ApplianceError, Reason
from hardware_mocks.virtual_chip import VirtualCardTransport, VirtualChip, make_chip, make_profile
from hardware_mocks.virtual_chip.card_pace import PaceOption
from hardware_mocks.virtual_chip.status import SW_WRONG_DATA, Response

PROFILES = {m: make_profile(iris=True, pace_options=(PaceOption.mapped(m),)) for m in ("GM", "IM")}
GM_PROFILE = PROFILES["GM"]
EAC = GM_PROFILE.eac_pki()
KEY = MrzKey(GM_PROFILE.document_number, GM_PROFILE.date_of_birth, GM_PROFILE.date_of_expiry)
OPTIONS = ReaderOptions(terminal=EAC.credentials())


@pytest.fixture
def chip_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What every virtual chip of the test was asked: "pace" (MSE:Set AT for PACE), "ca" (a
    Chip Authentication key agreement) and "ta" (EXTERNAL AUTHENTICATE), in order."""
    log: list[str] = []

    def logged(name: str, event: str) -> None:
        original: Callable[..., object] = getattr(VirtualChip, name)

        def wrapper(self: VirtualChip, *args: object) -> object:
            log.append(event)
            return original(self, *args)

        monkeypatch.setattr(VirtualChip, name, wrapper)

    logged("_set_at_pace", "pace")
    logged("_chip_authenticate", "ca")
    logged("_terminal_authenticate", "ta")
    return log


def _checks(document: ChipDocument) -> dict[CheckName, Check]:
    return {c.name: c for c in document.genuineness}


@pytest.mark.parametrize("mapping", ["GM", "IM"])
def test_after_pace_and_chip_authentication_the_static_binding_retry_reads_dg4(
    mapping: str, chip_log: list[str]
) -> None:
    chip = make_chip(profile=PROFILES[mapping], ta_static_binding=True)
    document = read_chip(VirtualCardTransport(chip), KEY, OPTIONS)
    assert document.access is not None and document.access.mapping == mapping
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    assert "static binding" in document.eac.detail
    assert dg4.parse(document.files["DG4.bin"]).eyes[0].eye is dg4.EyeSubtype.RIGHT
    assert "DG4.bin" not in document.unavailable
    assert _checks(document)[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.PASS
    # one TA per PACE session; the retry's session has its own Chip Authentication
    assert chip_log == ["pace", "ca", "ta", "pace", "ca", "ta"]


def test_a_dynamic_chip_is_read_at_once_without_a_retry(chip_log: list[str]) -> None:
    document = read_chip(VirtualCardTransport(VirtualChip(GM_PROFILE)), KEY, OPTIONS)
    assert document.eac is not None and document.eac.status is CheckStatus.PASS
    assert "static" not in document.eac.detail and "DG4.bin" in document.files
    assert chip_log == ["pace", "ca", "ta"]


def test_a_chip_refusing_both_bindings_keeps_the_first_refusal(chip_log: list[str]) -> None:
    chip = make_chip(profile=GM_PROFILE, ta_refuses_every_binding=True)
    document = read_chip(VirtualCardTransport(chip), KEY, OPTIONS)
    assert document.eac is not None
    assert (document.eac.status, document.eac.reason) == (CheckStatus.FAIL, Reason.TA_FAILED)
    assert document.eac.detail.startswith("chip refused") and "static" not in document.eac.detail
    assert document.unavailable["DG4.bin"] == Reason.TA_FAILED.value
    assert "DG4.bin" not in document.files and "DG1.bin" in document.files
    assert _checks(document)[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.PASS
    assert chip_log == ["pace", "ca", "ta", "pace", "ca", "ta"]  # a single retry


def test_a_chip_failing_the_renewed_chip_authentication_fails_closed(
    monkeypatch: pytest.MonkeyPatch, chip_log: list[str]
) -> None:
    """A chip that passed CA once and cannot pass it in the retry's session cannot prove itself:
    the chip_authentication check fails, TA is not retried, DG4 keeps the first refusal."""
    chip_authenticate = VirtualChip._chip_authenticate  # logged by `chip_log`

    def only_once(self: VirtualChip, *args: object) -> object:
        if "ca" in chip_log:
            chip_log.append("ca")
            return Response.status(SW_WRONG_DATA)  # refuses the new session's key agreement
        return chip_authenticate(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(VirtualChip, "_chip_authenticate", only_once)
    chip = make_chip(profile=GM_PROFILE, ta_static_binding=True)
    document = read_chip(VirtualCardTransport(chip), KEY, OPTIONS)
    ca = _checks(document)[CheckName.CHIP_AUTHENTICATION]
    assert (ca.status, ca.reason) == (CheckStatus.FAIL, Reason.CA_FAILED), ca
    assert "new session" in ca.detail
    assert document.eac is not None and document.eac.reason is Reason.TA_FAILED
    assert "static" not in document.eac.detail
    assert document.unavailable["DG4.bin"] == Reason.TA_FAILED.value
    assert chip_log[:5] == ["pace", "ca", "ta", "pace", "ca"] and chip_log.count("ta") == 1


def test_terminal_authentication_runs_once_per_access_session(chip_log: list[str]) -> None:
    chip = make_chip(profile=GM_PROFILE, ta_static_binding=True)
    session = ChipSession(VirtualCardTransport(chip), KEY, OPTIONS)
    with session:
        session.open()
        result = session.read_all()
        first = session.eac.check
        log = list(chip_log)
        session.eac.read(session, EAC.credentials(), KEY.mrz_information(), result,
                         session.file_reader.read_into)  # fmt: skip
    assert chip_log == log == ["pace", "ca", "ta", "pace", "ca", "ta"]
    assert session.eac.check is first and first is not None and first.status is CheckStatus.PASS


def test_a_chip_refusing_the_retrys_new_session_keeps_the_first_refusal(
    monkeypatch: pytest.MonkeyPatch, chip_log: list[str]
) -> None:
    """The retry is a courtesy to old chips: when the chip will not open a second PACE session,
    the document is still read and reported, with the dynamic binding's refusal."""
    set_at_pace = VirtualChip._set_at_pace  # logged by `chip_log`

    def one_session_only(self: VirtualChip, objects: dict[int, bytes]) -> object:
        if "pace" in chip_log:
            chip_log.append("pace")
            return Response.status(SW_WRONG_DATA)
        return set_at_pace(self, objects)

    monkeypatch.setattr(VirtualChip, "_set_at_pace", one_session_only)
    chip = make_chip(profile=GM_PROFILE, ta_static_binding=True)
    document = read_chip(VirtualCardTransport(chip), KEY, OPTIONS)
    assert document.eac is not None and document.eac.reason is Reason.TA_FAILED
    assert document.eac.detail.startswith("chip refused")
    assert document.unavailable["DG4.bin"] == Reason.TA_FAILED.value
    assert "DG1.bin" in document.files
    assert _checks(document)[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.PASS
    assert chip_log[:4] == ["pace", "ca", "ta", "pace"] and chip_log.count("ta") == 1


def test_a_card_pulled_during_the_retry_ends_the_read_as_removed(
    monkeypatch: pytest.MonkeyPatch, chip_log: list[str]
) -> None:
    """Only the chip's refusals end the retry quietly: a card that leaves the field is reported
    as such, as anywhere else in the read."""
    set_at_pace = VirtualChip._set_at_pace  # logged by `chip_log`
    transport = VirtualCardTransport(make_chip(profile=GM_PROFILE, ta_static_binding=True))

    def pulled_before_the_second_session(self: VirtualChip, objects: dict[int, bytes]) -> object:
        if "pace" in chip_log:
            transport.remove()
        return set_at_pace(self, objects)

    monkeypatch.setattr(VirtualChip, "_set_at_pace", pulled_before_the_second_session)
    with pytest.raises(ApplianceError) as caught:
        read_chip(transport, KEY, OPTIONS)
    assert caught.value.reason is Reason.CHIP_REMOVED
    assert chip_log == ["pace", "ca", "ta", "pace"]

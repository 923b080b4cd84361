"""Extended Access Control against the virtual chip: Terminal Authentication v1 after Chip
Authentication, DG4 released only to an authenticated terminal with the right, and every way
a terminal is refused named by its own reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from appliance.emrtd.chip.terminal_auth import id_picc, run_terminal_authentication
from appliance.emrtd.document import ChipDocument, read_chip, verify_document
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.protocol import cvc, files
from appliance.emrtd.protocol.apdu import ApduError
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.emrtd.session import ChipSession, MrzKey, ReaderOptions
from appliance.errors import Reason
from hardware_mocks import pki
from hardware_mocks.eac_pki import (
    TA_ECDSA_SHA256,
    EacPki,
    build_eac_pki,
    with_broken_dv_signature,
)
from hardware_mocks.iris_synth import IrisSynth
from hardware_mocks.virtual_chip import (
    VirtualCardTransport,
    VirtualChip,
    make_profile,
)
from hardware_mocks.virtual_chip.profile import iris_jp2
from tests.support import pa_pki

PROFILE = make_profile(iris=True)
TODAY = datetime.now(UTC).date()
EAC = PROFILE.eac_pki()
KEY = MrzKey(PROFILE.document_number, PROFILE.date_of_birth, PROFILE.date_of_expiry)


def _read(
    credentials: TerminalCredentials | None,
    chip: VirtualChip | None = None,
    prefer_pace: bool = True,
) -> ChipDocument:
    transport = VirtualCardTransport(chip or VirtualChip(PROFILE))
    options = ReaderOptions(terminal=credentials, prefer_pace=prefer_pace)
    return read_chip(transport, KEY, options)


@pytest.mark.parametrize("prefer_pace", [True, False], ids=["PACE", "BAC"])
def test_an_authorised_terminal_reads_dg4_after_pace_or_bac(prefer_pace: bool) -> None:
    document = _read(EAC.credentials(), prefer_pace=prefer_pace)
    assert document.access is not None
    assert document.access.protocol == ("PACE" if prefer_pace else "BAC")
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    eyes = dg4.parse(document.files["DG4.bin"]).eyes
    assert len(eyes) == 1 and eyes[0].eye is dg4.EyeSubtype.RIGHT
    pixels = eyes[0].pixels()
    assert pixels.shape == (480, 640) and pixels.dtype == np.uint8
    # the enrolment image the issuer wrote, through JPEG 2000 and back
    original, _ = IrisSynth(PROFILE.seed).capture(0)
    assert float(np.abs(pixels.astype(int) - original.astype(int)).mean()) < 4.0
    assert "terminal_authentication" in document.timings_ms


def test_dg4_is_covered_by_passive_authentication(tmp_path: Path) -> None:
    document = _read(EAC.credentials())
    with TrustStore(tmp_path / "trust.sqlite3") as store:
        csca = PROFILE.pki.csca_der
        assert import_file(csca, store, "csca.der", anchors=[pa_pki.pin(csca)]).ok
        assert import_file(PROFILE.pki.crl_der, store, "csca.crl").ok
        checks = {c.name: c for c in verify_document(document, store)}
        assert checks[CheckName.DG_HASHES].status is CheckStatus.PASS
        document.files["DG4.bin"] = document.files["DG4.bin"][:-1] + b"\x00"
        checks = {c.name: c for c in verify_document(document, store)}
    assert checks[CheckName.DG_HASHES].reason is Reason.PA_DG_HASH_MISMATCH


def test_the_chip_refuses_dg4_without_terminal_authentication() -> None:
    session = ChipSession(VirtualCardTransport(VirtualChip(PROFILE)), KEY)
    with session:
        session.open()
        session.read_all()  # Chip Authentication ran, Terminal Authentication did not
        with pytest.raises(ApduError) as caught:
            session.read_file(files.data_group(4))
    assert caught.value.sw == 0x6982
    assert caught.value.reason is Reason.CHIP_ACCESS_DENIED
    # and a reader without EAC credentials leaves DG3/DG4 alone, as before
    document = _read(None)
    assert "DG4.bin" not in document.files and document.eac is None


def _refused(document: ChipDocument, reason: Reason) -> None:
    assert document.eac is not None
    assert (document.eac.status, document.eac.reason) == (CheckStatus.FAIL, reason), document.eac
    assert "DG4.bin" not in document.files
    assert document.unavailable["DG4.bin"] == reason.value
    assert "DG1.bin" in document.files and "DG2.bin" in document.files  # the rest is read


def test_a_chain_from_another_states_cvca_is_refused() -> None:
    foreign = build_eac_pki("XY")
    _refused(_read(foreign.credentials()), Reason.TA_CHAIN_UNTRUSTED)


def test_a_wrongly_signed_dv_certificate_is_refused_by_the_chip() -> None:
    document = _read(with_broken_dv_signature(EAC).credentials())
    _refused(document, Reason.TA_CHAIN_UNTRUSTED)
    assert "chip refused the DV certificate" in document.eac.detail  # type: ignore[union-attr]


def test_an_expired_terminal_certificate_is_refused() -> None:
    expired = build_eac_pki(EAC.cvca.chr[:2], terminal_valid=(-20, -1))
    _refused(_read(expired.credentials()), Reason.TA_CERT_EXPIRED)


def test_the_chip_refuses_a_certificate_expired_by_its_own_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chip has no clock: the DV certificate moves its date forward (effective date
    update), and a terminal certificate that expired before that date is refused, even from
    a terminal that does not check its own dates."""
    expired = build_eac_pki(EAC.cvca.chr[:2], terminal_valid=(-60, -40))
    monkeypatch.setattr(cvc.CvCertificate, "valid_on", lambda self, day: True)
    chip = VirtualChip(PROFILE)
    assert chip.eac_memory is not None
    assert chip.eac_memory.current_date == TODAY - timedelta(days=200)
    session = ChipSession(VirtualCardTransport(chip), KEY, ReaderOptions(terminal=None))
    with session:
        session.open()
        session.read_all()
        check = run_terminal_authentication(
            session,
            expired.credentials(),
            cvca_file=session.read_optional(files.EF_CVCA),
            id_picc=id_picc(session.eac.pace_chip_key, KEY.mrz_information()),
            ephemeral_public=session.eac.ca_key,  # type: ignore[arg-type]
            today=TODAY,
        )
    assert chip.eac_memory.current_date == expired.dv.effective
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.TA_CHAIN_UNTRUSTED)
    assert "terminal certificate" in check.detail


def test_a_wrong_signature_over_the_challenge_is_refused() -> None:
    chip = VirtualChip(PROFILE)
    session = ChipSession(VirtualCardTransport(chip), KEY)
    with session:
        session.open()
        session.read_all()
        check = run_terminal_authentication(
            session,
            EAC.credentials(),
            cvca_file=None,
            id_picc=b"L898902C<3",  # another document's number: the signature does not fit
            ephemeral_public=session.eac.ca_key,  # type: ignore[arg-type]
            today=TODAY,
        )
        assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.TA_FAILED)
        with pytest.raises(ApduError):
            session.read_file(files.data_group(4))


def test_a_chain_without_the_iris_right_gets_no_dg4() -> None:
    fingerprints_only = build_eac_pki(EAC.cvca.chr[:2], rights=cvc.READ_DG3)
    document = _read(fingerprints_only.credentials())
    assert document.eac is not None and document.eac.status is CheckStatus.PASS
    assert document.unavailable["DG4.bin"] == Reason.TA_RIGHTS_MISSING.value
    # the chip itself refuses it too, whatever the terminal tries
    session = ChipSession(
        VirtualCardTransport(VirtualChip(PROFILE)),
        KEY,
        ReaderOptions(terminal=fingerprints_only.credentials()),
    )
    with session:
        session.open()
        session.read_all()
        check = session.eac.check
        assert check is not None and check.status is CheckStatus.PASS
        with pytest.raises(ApduError) as caught:
            session.read_file(files.data_group(4))
    assert caught.value.sw == 0x6982


def test_without_chip_authentication_there_is_nothing_to_bind_ta_to() -> None:
    profile = make_profile(iris=True, chip_authentication=False)
    document = _read(EAC.credentials(), chip=VirtualChip(profile))
    _refused(document, Reason.TA_FAILED)


def test_a_chip_without_eac_refuses_ta() -> None:
    chip = VirtualChip(replace(PROFILE.chip_contents(), eac=None))
    _refused(_read(EAC.credentials(), chip=chip), Reason.TA_CHAIN_UNTRUSTED)


def test_a_malformed_dg4_gives_lds_malformed_not_a_traceback() -> None:
    good = dg4.parse(dg4.encode(dg4.for_images({dg4.EyeSubtype.LEFT: iris_jp2(3)},
                                               dg4.IrisImageFormat.MONO_JPEG2000)))  # fmt: skip
    data = dg4.encode(good)
    assert dg4.parse(data).eyes[0].eye is dg4.EyeSubtype.LEFT
    from appliance.errors import LdsError

    for broken in (data[:-10], data[:40], data.replace(b"IIR\x00", b"IIX\x00")):
        with pytest.raises(LdsError):
            dg4.parse(broken)
    raw = dg4.for_images({dg4.EyeSubtype.RIGHT: np.zeros((70, 90), np.uint8)},
                         dg4.IrisImageFormat.MONO_RAW)  # fmt: skip
    assert dg4.parse(dg4.encode(raw)).eyes[0].pixels().shape == (70, 90)
    lying = replace(raw.eyes[0], width=91)
    with pytest.raises(LdsError):
        lying.pixels()
    colour = replace(raw.eyes[0], format=dg4.IrisImageFormat.RGB_JPEG)
    with pytest.raises(LdsError) as caught:
        colour.pixels()
    assert caught.value.reason is Reason.LDS_UNSUPPORTED


def test_eac_pki_is_reproducible() -> None:
    again = build_eac_pki(EAC.cvca.chr[:2])
    assert isinstance(again, EacPki)
    assert again.terminal.body == EAC.terminal.body  # ECDSA signatures are randomised
    assert again.terminal_key.private_numbers() == EAC.terminal_key.private_numbers()


def test_a_cvca_link_certificate_moves_the_chips_trust_point() -> None:
    """A new CVCA key, linked from the old one: the chip accepts the link, trusts the new key
    from then on (across sessions), and the chain under the new key opens DG4."""
    country = EAC.cvca.chr[:2]
    old_key = pki.derive_ec_key(pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, f"{country}/0", "eac-cvca")
    new_key = pki.derive_ec_key(pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, "link", "cvca-2")
    new_name = f"{country}CVCA00002"
    curve = EAC.cvca.public_key.curve

    def request(car: str, chr_: str, key, role, days: int) -> cvc.CertificateRequest:  # type: ignore[no-untyped-def]
        public = cvc.CvPublicKey(TA_ECDSA_SHA256, cvc.point_of(key.public_key()),
                                 curve if role is cvc.Role.CVCA else None)  # fmt: skip
        return cvc.CertificateRequest(car, chr_, public, role, 3, TODAY - timedelta(days=1),
                                      TODAY + timedelta(days=days))  # fmt: skip

    link = cvc.issue(request(EAC.cvca.chr, new_name, new_key, cvc.Role.CVCA, 900), old_key,
                     TA_ECDSA_SHA256)  # fmt: skip
    dv_key = pki.derive_ec_key(pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, "link", "dv-2")
    dv = cvc.issue(request(new_name, f"{country}DV000002", dv_key, cvc.Role.DV_DOMESTIC, 90),
                   new_key, TA_ECDSA_SHA256)  # fmt: skip
    terminal = cvc.issue(
        request(dv.chr, f"{country}IS00002", EAC.terminal_key, cvc.Role.IS, 20), dv_key,
        TA_ECDSA_SHA256,
    )  # fmt: skip
    chip = VirtualChip(PROFILE)
    document = _read(TerminalCredentials((link, dv, terminal), EAC.terminal_key), chip=chip)
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    assert "DG4.bin" in document.files
    assert chip.eac_memory is not None and new_name in chip.eac_memory.trust_points
    # next session: the chain under the new CVCA alone is enough
    again = _read(TerminalCredentials((dv, terminal), EAC.terminal_key), chip=chip)
    assert again.eac is not None and again.eac.status is CheckStatus.PASS
    # a link certificate forged with another key is refused
    forged = cvc.issue(request(EAC.cvca.chr, new_name, new_key, cvc.Role.CVCA, 900), new_key,
                       TA_ECDSA_SHA256)  # fmt: skip
    refused = _read(TerminalCredentials((forged, dv, terminal), EAC.terminal_key))
    assert refused.eac is not None and refused.eac.reason is Reason.TA_CHAIN_UNTRUSTED

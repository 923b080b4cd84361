"""Personalisation and the test PKI: what the virtual chip serves must be a genuine-looking
document that the product's own parsers read and its Passive Authentication accepts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.lds import card_access, com, dg1, dg2, dg11, dg12, dg14, sod
from appliance.emrtd.lds.security_infos import ChipAuthenticationPublicKeyInfo, PaceInfo
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.pki.crl import load_crl
from appliance.emrtd.pki.passive import passive_authentication, verify_security_object
from appliance.emrtd.pki.trust_store import Candidate, TrustStore
from appliance.errors import Reason
from appliance.mrz.parse import parse_mrz
from hardware_mocks import pki
from hardware_mocks.virtual_chip.card_pace import PaceOption
from hardware_mocks.virtual_chip.face import synthetic_face_jpeg
from hardware_mocks.virtual_chip.profile import TravellerProfile

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def cache() -> Path:
    """The persistent key cache (RSA keys are generated once per machine, not per run)."""
    return pki.default_cache_dir()


def trust_store(tmp_path: Path, test_pki: pki.TestPki, crl_der: bytes | None = None) -> TrustStore:
    store = TrustStore(tmp_path / "trust.sqlite")
    store.add_certificates([Candidate.of(Certificate.from_der(test_pki.csca_der))], "test")
    store.add_crl(load_crl(crl_der or test_pki.crl_der), "test")
    return store


def test_mrz_has_valid_check_digits_in_both_formats() -> None:
    passport = TravellerProfile()
    assert passport.mrz_lines == (
        "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<",
        "C01X00T478D<<6408125F3410314<<<<<<<<<<<<<<02",
    )
    assert passport.mrz_information == "C01X00T478" + "6408125" + "3410314"
    for seed in range(6):
        for code in ("P", "ID"):
            profile = TravellerProfile.synthetic(seed, document_code=code)
            result = parse_mrz(list(profile.mrz_lines))
            assert (result.status, result.format) == ("pass", "TD3" if code == "P" else "TD1")


def test_chip_files_parse_with_the_product_parsers(cache: Path) -> None:
    profile = TravellerProfile(pki_cache_dir=cache)
    files = profile.build_chip_files().by_name
    assert dg1.parse(files["DG1.bin"]).lines == profile.mrz_lines
    faces = dg2.parse(files["DG2.bin"]).faces
    assert len(faces) == 1 and faces[0].data == synthetic_face_jpeg(0)
    assert 15_000 < len(files["DG2.bin"]) < 21_000
    assert com.parse(files["EF_COM.bin"]).data_groups == (1, 2, 11, 12, 14, 15)
    details = dg11.parse(files["DG11.bin"])
    assert (details.full_name, details.place_of_birth) == ("MUSTERMANN<<ERIKA", "BERLIN")
    assert dg12.parse(files["DG12.bin"]).issuing_authority == "STADT KÖLN"  # UTF-8 on the chip
    infos = dg14.parse(files["DG14.bin"]).security_infos.infos
    ca_keys = [i for i in infos if isinstance(i, ChipAuthenticationPublicKeyInfo)]
    assert len(ca_keys) == 1
    public = profile.chip_authentication_key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert serialization.load_der_public_key(ca_keys[0].public_key) == public
    pace = card_access.parse(files["EF_CardAccess.bin"]).infos
    assert pace == (PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),)
    security_object = sod.parse(files["EF_SOD.bin"]).security_object
    assert security_object.hash_algorithm == "sha256"
    for number, digest in security_object.dg_hashes.items():
        assert hashlib.sha256(files[f"DG{number}.bin"]).digest() == digest


def test_bac_only_profile_has_no_card_access(cache: Path) -> None:
    files = TravellerProfile(pace_options=(), pki_cache_dir=cache).build_chip_files().by_name
    assert "EF_CardAccess.bin" not in files and "EF_CardSecurity.bin" not in files


@pytest.mark.parametrize("algorithm", list(pki.PkiAlgorithm))
def test_sod_passes_passive_authentication(
    algorithm: pki.PkiAlgorithm, cache: Path, tmp_path: Path
) -> None:
    profile = TravellerProfile.synthetic(7, pki_algorithm=algorithm, pki_cache_dir=cache)
    files = profile.build_chip_files().by_name
    with trust_store(tmp_path, profile.pki) as store:
        groups = com.parse(files["EF_COM.bin"]).data_groups
        checks = passive_authentication(
            files["EF_SOD.bin"],
            store,
            {n: files[f"DG{n}.bin"] for n in groups},
            groups,
            at=NOW,
        )
    assert {c.name.value: c.status for c in checks} == {
        c.name.value: CheckStatus.PASS for c in checks
    }, [c.to_dict() for c in checks]


def test_card_security_is_signed_security_infos(cache: Path, tmp_path: Path) -> None:
    profile = TravellerProfile(pki_cache_dir=cache)
    files = profile.build_chip_files().by_name
    with trust_store(tmp_path, profile.pki) as store:
        result = verify_security_object(
            files["EF_CardSecurity.bin"], store, content_type=pki.SECURITY_OBJECT_OID, at=NOW
        )
    assert result.signature_valid
    assert all(c.status is CheckStatus.PASS for c in result.checks)


def test_tampered_dg_and_revoked_signer_are_caught(cache: Path, tmp_path: Path) -> None:
    profile = TravellerProfile(pki_cache_dir=cache)
    files = profile.build_chip_files().by_name
    dg1_forged = bytearray(files["DG1.bin"])
    dg1_forged[-3] ^= 0x01
    revoked = profile.pki.crl_revoking(profile.pki.document_signer.certificate)
    with trust_store(tmp_path, profile.pki, revoked) as store:
        checks = {
            c.name.value: c
            for c in passive_authentication(
                files["EF_SOD.bin"], store, {1: bytes(dg1_forged)}, None, at=NOW
            )
        }
    assert checks["dg_hashes"].reason is Reason.PA_DG_HASH_MISMATCH
    assert checks["ds_revocation"].reason is Reason.PA_DS_REVOKED
    assert checks["sod_signature"].status is CheckStatus.PASS


def test_pki_profiles_icao_9303_12(cache: Path) -> None:
    test_pki = pki.load_or_create_pki("DE", pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, 0, cache)
    csca, ds = test_pki.csca.certificate, test_pki.document_signer.certificate
    usage = csca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert csca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ds_usage = ds.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ds_usage.digital_signature and not ds_usage.key_cert_sign
    aki = ds.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = csca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    ds.verify_directly_issued_by(csca)
    assert isinstance(csca.public_key(), ec.EllipticCurvePublicKey)
    assert csca.public_key().curve.name == "brainpoolP256r1"  # type: ignore[union-attr]
    assert csca.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)[0].value == "DE"


def test_ec_pki_is_reproducible_and_cached(tmp_path: Path) -> None:
    first = pki.load_or_create_pki("FR", "ecdsa-brainpoolP256r1", "seed-a", tmp_path / "a")
    second = pki.load_or_create_pki("FR", "ecdsa-brainpoolP256r1", "seed-a", tmp_path / "b")
    assert first.csca_der == second.csca_der  # same seed, same bytes, even in another cache
    other = pki.load_or_create_pki("FR", "ecdsa-brainpoolP256r1", "seed-b", tmp_path / "a")
    assert other.csca_der != first.csca_der


def test_rsa_keys_come_back_from_the_cache_directory(cache: Path) -> None:
    rsa_a = pki.load_or_create_pki("FR", "rsa", 1, cache)
    pki._memo.clear()  # as in a new process
    rsa_b = pki.load_or_create_pki("FR", "rsa", 1, cache)
    assert rsa_a.csca.key.private_numbers() == rsa_b.csca.key.private_numbers()
    key_file = cache / "FR-rsa-1" / "csca.key.pem"
    assert key_file.stat().st_mode & 0o077 == 0  # private keys are not world-readable


def test_sod_identifies_signer_by_ski_when_asked(cache: Path, tmp_path: Path) -> None:
    test_pki = pki.load_or_create_pki("DE", pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, 0, cache)
    lso = sod.encode_security_object(sod.LdsSecurityObject("sha256", {1: bytes(32)}))
    signed = pki.sign_sod(lso, test_pki.document_signer, signer_identifier="ski")
    with trust_store(tmp_path, test_pki) as store:
        assert verify_security_object(signed, store, at=NOW).signature_valid


def test_custom_face_and_pace_options_are_personalised(cache: Path) -> None:
    face = synthetic_face_jpeg(5, 12_000)
    option = PaceOption.generic(ecdh=False, parameter_id=0)
    profile = TravellerProfile(face_image=face, pace_options=(option,), pki_cache_dir=cache)
    files = profile.build_chip_files().by_name
    assert dg2.parse(files["DG2.bin"]).faces[0].data == face
    assert card_access.parse(files["EF_CardAccess.bin"]).infos == (
        PaceInfo("0.4.0.127.0.7.2.2.4.1.2", 2, 0),
    )


def test_exported_trust_files_import_into_the_trust_store(cache: Path, tmp_path: Path) -> None:
    test_pki = pki.load_or_create_pki("DE", pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, 0, cache)
    paths = pki.write_trust_files(tmp_path / "trust", test_pki)
    assert [p.name for p in sorted(paths)] == [p.name for p in paths]  # CSCA sorts first
    store = TrustStore(tmp_path / "trust.sqlite")
    with store:
        store.add_certificates([Candidate.of(Certificate.from_der(paths[0].read_bytes()))], "t")
        assert store.add_crl(load_crl(paths[1].read_bytes()), "t")
        assert store.counts() == (1, 1)


def test_39794_face_record_and_chip_without_optional_groups(cache: Path) -> None:
    profile = TravellerProfile(
        face_standard="39794-5", dg11=None, dg12=None, active_authentication=None,
        pki_cache_dir=cache,
    )  # fmt: skip
    files = profile.build_chip_files().by_name
    assert com.parse(files["EF_COM.bin"]).data_groups == (1, 2, 14)
    assert dg2.parse(files["DG2.bin"]).faces[0].data == synthetic_face_jpeg(0)
    assert (
        files["DG2.bin"]
        != TravellerProfile(pki_cache_dir=cache).build_chip_files().by_name["DG2.bin"]
    )


def test_profile_repr_shows_no_personal_data() -> None:
    text = repr(TravellerProfile())
    assert "MUSTERMANN" not in text and "C01X00T47" not in text and "640812" not in text

"""Trust anchors: nothing enters the trust store unless it chains to a CSCA already trusted or to
a certificate the operator pinned by SHA-256 fingerprint (`trust import FILE --anchor SHA256`).

The attack these tests replay: a master list whose signer is issued by a CSCA inside the same
list vouches only for itself; once imported (with a CRL signed by the same key) a passport
re-signed under that fake CSCA passed Passive Authentication.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import ImportKind, import_file
from appliance.emrtd.pki.passive import passive_authentication
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import Reason
from tests.support import pa_pki
from tests.support.data_support import MASTER_LIST
from tests.support.pa_pki import NOW

DGS = {1: pa_pki.dg1("NZL"), 2: b"\x75\x03face"}


NZ_CSCA = "Common Name: CSCA NZ, Organization: Test State, Country: NZ"


def fingerprint(issued: pa_pki.Issued) -> str:
    return pa_pki.pin(issued.der)


@pytest.fixture
def store(tmp_path: Path) -> TrustStore:
    return TrustStore(tmp_path / "trust.sqlite3")


class SelfVouchingList:
    """The attacker's material: a fake CSCA, a list signed under it, a CRL and a passport."""

    def __init__(self) -> None:
        self.fake_csca = pa_pki.csca("NZ")
        signer = pa_pki.make_cert(
            pa_pki.name("ML Signer", "NZ"), pa_pki.new_key(), self.fake_csca, ca=False
        )
        self.master_list = pa_pki.master_list([self.fake_csca.der], signer)
        self.crl = pa_pki.crl(self.fake_csca, [])
        ds = pa_pki.document_signer(self.fake_csca, "NZ")
        self.sod = pa_pki.sod(DGS, ds)


def chain_status(store: TrustStore, sod: bytes) -> tuple[CheckStatus, Reason]:
    checks = {c.name: c for c in passive_authentication(sod, store, DGS, at=NOW)}
    chain = checks[CheckName.DS_CERTIFICATE_CHAIN]
    return chain.status, chain.reason


def test_self_vouching_master_list_crl_and_passport_are_refused(store: TrustStore) -> None:
    attack = SelfVouchingList()
    refused = import_file(attack.master_list, store, "fake.ml", at=NOW)
    assert (refused.ok, refused.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    # the refusal names the in-list issuer's fingerprint so the operator can compare it
    assert fingerprint(attack.fake_csca) in refused.detail
    assert store.counts() == (0, 0)
    crl = import_file(attack.crl, store, "fake.crl", at=NOW)
    assert (crl.ok, crl.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert store.counts() == (0, 0)
    assert chain_status(store, attack.sod) == (CheckStatus.FAIL, Reason.PA_DS_UNTRUSTED)


def test_self_vouching_list_is_refused_beside_a_genuine_csca(store: TrustStore) -> None:
    genuine = pa_pki.csca("NZ")
    assert import_file(genuine.der, store, "nz.der", anchors=[fingerprint(genuine)]).ok
    attack = SelfVouchingList()  # same DN as the genuine CSCA, another key
    refused = import_file(attack.master_list, store, "fake.ml", at=NOW)
    assert (refused.ok, refused.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert not import_file(attack.crl, store, "fake.crl", at=NOW).ok
    assert store.counts() == (1, 0)
    assert chain_status(store, attack.sod)[0] is CheckStatus.FAIL


def test_list_imports_when_its_issuer_is_pinned(store: TrustStore) -> None:
    listed = SelfVouchingList()  # the same shape, now a CSCA the operator trusts out of band
    pin = fingerprint(listed.fake_csca)
    report = import_file(listed.master_list, store, "nz.ml", at=NOW, anchors=[pin.upper()])
    assert report.ok, report.detail
    assert report.anchors == [(pin, NZ_CSCA, "pinned")]
    assert import_file(listed.crl, store, "nz.crl", at=NOW).ok
    assert chain_status(store, listed.sod) == (CheckStatus.PASS, Reason.OK)


def test_list_under_a_csca_already_trusted_needs_no_pin(store: TrustStore) -> None:
    csca = pa_pki.csca("NZ")
    assert import_file(csca.der, store, "csca.der", anchors=[fingerprint(csca)]).ok
    signer = pa_pki.make_cert(pa_pki.name("ML Signer", "NZ"), pa_pki.new_key(), csca, ca=False)
    other = pa_pki.csca("FJ")
    report = import_file(pa_pki.master_list([other.der], signer), store, "ml", at=NOW)
    assert report.ok, report.detail
    assert report.anchors == [(fingerprint(csca), NZ_CSCA, "store")]


def test_wrong_fingerprint_is_refused(store: TrustStore) -> None:
    attack = SelfVouchingList()
    unrelated = pa_pki.csca("NZ")
    for pin in (fingerprint(unrelated), "00" * 32):
        report = import_file(attack.master_list, store, "fake.ml", at=NOW, anchors=[pin])
        assert (report.ok, report.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert store.counts() == (0, 0)


def test_pinned_certificate_must_be_the_signers_issuer(store: TrustStore) -> None:
    """Pinning a CSCA that is in the list but did not issue the signer trusts nothing."""
    attack = SelfVouchingList()
    bystander = pa_pki.csca("FJ")
    signer = pa_pki.make_cert(
        pa_pki.name("ML Signer", "NZ"), pa_pki.new_key(), attack.fake_csca, ca=False
    )
    ml = pa_pki.master_list([attack.fake_csca.der, bystander.der], signer)
    report = import_file(ml, store, "ml", at=NOW, anchors=[fingerprint(bystander)])
    assert (report.ok, report.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert store.counts() == (0, 0)


def test_crl_signed_by_an_untrusted_key_is_refused(store: TrustStore) -> None:
    genuine = pa_pki.csca("NZ")
    assert import_file(genuine.der, store, "nz.der", anchors=[fingerprint(genuine)]).ok
    stranger = pa_pki.csca("FJ")
    report = import_file(pa_pki.crl(stranger, [1]), store, "fj.crl", at=NOW)
    assert (report.ok, report.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    # same issuer name and key identifier as the trusted CSCA, signed by another key
    forged = pa_pki.crl(genuine, [1], signer_key=pa_pki.new_key())
    report = import_file(forged, store, "forged.crl", at=NOW)
    assert (report.ok, report.reason) == (False, Reason.TRUST_LIST_INVALID)
    assert store.counts() == (1, 0)
    accepted = import_file(pa_pki.crl(genuine, [1]), store, "nz.crl", at=NOW)
    assert accepted.ok and accepted.anchors == [(fingerprint(genuine), NZ_CSCA, "store")]


def test_bare_self_signed_csca_needs_its_pin(store: TrustStore) -> None:
    csca = pa_pki.csca("NZ")
    refused = import_file(csca.der, store, "csca.der")
    assert (refused.kind, refused.ok) == (ImportKind.CERTIFICATE, False)
    assert refused.reason is Reason.TRUST_ANCHOR_UNKNOWN
    assert fingerprint(csca) in refused.detail
    assert store.counts() == (0, 0)
    assert not import_file(csca.der, store, "csca.der", anchors=["11" * 32]).ok
    accepted = import_file(csca.der, store, "csca.der", anchors=[fingerprint(csca)])
    assert accepted.ok and accepted.anchors == [(fingerprint(csca), NZ_CSCA, "pinned")]
    # once stored it is trusted: importing it again needs no pin
    again = import_file(csca.der, store, "csca.der")
    assert (again.ok, again.added) == (True, 0)


def test_bundle_of_unpinned_self_signed_cscas_is_refused_whole(store: TrustStore) -> None:
    """A PEM bundle must not be a way round the master-list rule."""
    pinned, smuggled = pa_pki.csca("NZ"), pa_pki.csca("FJ")
    bundle = pinned.pem + smuggled.pem
    report = import_file(bundle, store, "bundle.pem", anchors=[fingerprint(pinned)])
    assert (report.ok, report.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert store.counts() == (0, 0)


def test_link_certificate_chains_to_a_pinned_root_in_the_same_bundle(store: TrustStore) -> None:
    old = pa_pki.csca("NZ")
    link = pa_pki.make_cert(pa_pki.name("CSCA NZ", "NZ"), pa_pki.new_key(), old, ca=True)
    report = import_file(link.pem + old.pem, store, "bundle.pem", anchors=[fingerprint(old)])
    assert (report.ok, report.added) == (True, 2), report.detail
    assert report.anchors == [(fingerprint(old), NZ_CSCA, "pinned")]


def test_german_master_list_imports_when_the_german_csca_is_pinned(store: TrustStore) -> None:
    """In production the fingerprint comes from the BSI's published value, not from the file."""
    data = MASTER_LIST.read_bytes()
    refused = import_file(data, store, "DE.ml", at=NOW)
    assert (refused.ok, refused.reason) == (False, Reason.TRUST_ANCHOR_UNKNOWN)
    assert store.counts() == (0, 0)
    pin = pa_pki.master_list_anchor(data)
    assert pin in refused.detail  # named, for the operator to compare with the BSI's value
    report = import_file(data, store, "DE.ml", at=NOW, anchors=[pin])
    assert (report.ok, report.added) == (True, 588), report.detail
    ((fingerprint_, subject, how),) = report.anchors
    assert (fingerprint_, how) == (pin, "pinned") and "csca-germany" in subject


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["trust", *args])
    return result.exit_code, result.output


def test_cli_refuses_without_anchor_and_names_the_anchor_with_one(
    data_dir: Path, tmp_path: Path
) -> None:
    csca = pa_pki.csca("NZ")
    path = tmp_path / "csca.der"
    path.write_bytes(csca.der)
    code, out = run("import", str(path), "--json")
    assert (code, json.loads(out)["reason"]) == (1, "TRUST_ANCHOR_UNKNOWN")
    code, out = run("import", str(path), "--anchor", fingerprint(csca), "--json")
    assert code == 0, out
    assert json.loads(out)["anchors"] == [
        {"fingerprint_sha256": fingerprint(csca), "subject": NZ_CSCA, "trusted_by": "pinned"}
    ]
    (tmp_path / "nz.crl").write_bytes(pa_pki.crl(csca, [7]))
    code, out = run("import", str(tmp_path / "nz.crl"))
    assert code == 0, out
    assert f"anchor: {NZ_CSCA} (SHA-256 {fingerprint(csca)}, already in the trust store)" in out


@pytest.mark.parametrize("value", ["abc", "zz" * 32, "00" * 31])
def test_cli_malformed_anchor_is_a_usage_error(data_dir: Path, tmp_path: Path, value: str) -> None:
    path = tmp_path / "csca.der"
    path.write_bytes(pa_pki.csca("NZ").der)
    code, _ = run("import", str(path), "--anchor", value)
    assert code == 2
    assert json.loads(run("list", "--json")[1])["certificates"] == []


def test_cli_accepts_colon_separated_fingerprints(data_dir: Path, tmp_path: Path) -> None:
    """openssl x509 -fingerprint -sha256 prints AB:CD:…; accept it as printed."""
    csca = pa_pki.csca("NZ")
    path = tmp_path / "csca.der"
    path.write_bytes(csca.der)
    fp = fingerprint(csca).upper()
    code, out = run(
        "import", str(path), "--anchor", ":".join(fp[i : i + 2] for i in range(0, 64, 2))
    )
    assert code == 0, out

"""appliance/emrtd/lds/digests.py: the one digest table, read by EF.SOD, the PKI and the mocks."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import algos

from appliance.emrtd.chip.active_auth import ecdsa_hash
from appliance.emrtd.lds.digests import DIGESTS, Digest, pyca_hash
from appliance.emrtd.lds.security_infos import ActiveAuthenticationInfo
from appliance.emrtd.pki.algorithms import ECDSA_SIGNATURE_HASHES, hash_name, signature_algorithm
from appliance.errors import LdsError, Reason


@pytest.mark.parametrize("digest", DIGESTS, ids=lambda d: d.name)
def test_each_entry_agrees_with_hashlib_pyca_and_asn1crypto(digest: Digest) -> None:
    name, oid, size = digest.name, digest.oid, digest.size
    assert hashlib.new(name).digest_size == size
    assert pyca_hash(name).digest_size == size
    assert pyca_hash(name).name == name
    assert algos.DigestAlgorithmId(oid).native == name
    assert hash_name(algos.DigestAlgorithmId(oid)) == name


def test_md5_is_not_allowed() -> None:
    with pytest.raises(KeyError):
        pyca_hash("md5")


#: BSI TR-03111 ecdsa-plain-SHA* and X9.62 ecdsa-with-SHA* (the OIDs DG14 may name for AA)
_AA_OIDS = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}


@pytest.mark.parametrize(("oid", "expected"), sorted(_AA_OIDS.items()))
def test_active_authentication_takes_the_hash_its_ecdsa_oid_names(oid: str, expected: str) -> None:
    info = ActiveAuthenticationInfo("0.4.0.127.0.7.2.2.1", 1, oid)
    assert ecdsa_hash(info, key=None) == expected  # type: ignore[arg-type]
    assert signature_algorithm(algos.SignedDigestAlgorithm({"algorithm": oid})).hash_name == (
        expected
    )


def test_active_authentication_refuses_an_rsa_oid_as_its_ecdsa_algorithm() -> None:
    info = ActiveAuthenticationInfo("0.4.0.127.0.7.2.2.1", 1, "1.2.840.113549.1.1.11")
    with pytest.raises(LdsError) as err:
        ecdsa_hash(info, key=None)  # type: ignore[arg-type]
    assert err.value.reason is Reason.LDS_UNSUPPORTED
    assert set(ECDSA_SIGNATURE_HASHES) == set(_AA_OIDS)

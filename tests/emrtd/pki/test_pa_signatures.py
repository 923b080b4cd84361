"""Signature dispatch: explicit-parameter EC curves (named, pyca-unsupported, unknown), RSA-PSS."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import algos, keys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ecdsa import SigningKey, curves, ellipticcurve
from ecdsa.util import sigencode_der

from appliance.emrtd.pki.algorithms import Scheme, SignatureAlgorithm, signature_algorithm
from appliance.emrtd.pki.ec_keys import load_ec_public_key
from appliance.emrtd.pki.signatures import verify
from appliance.errors import LdsError, Reason

MESSAGE = b"signed attributes"


def explicit_spki(curve: curves.Curve, point: bytes) -> bytes:
    """An EC SubjectPublicKeyInfo with explicit domain parameters, as many CSCAs encode them."""
    fp, g = curve.curve, curve.generator
    size = (fp.p().bit_length() + 7) // 8
    domain = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": fp.p()},
            "curve": {
                "a": (fp.a() % fp.p()).to_bytes(size, "big"),
                "b": fp.b().to_bytes(size, "big"),
            },
            "base": b"\x04" + g.x().to_bytes(size, "big") + g.y().to_bytes(size, "big"),
            "order": curve.order,
            "cofactor": 1,
        }
    )
    info = keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="specified", value=domain),
            },
            "public_key": point,
        }
    )
    return bytes(info.dump())


def ecdsa_alg(hash_name: str = "sha256") -> SignatureAlgorithm:
    return SignatureAlgorithm(Scheme.ECDSA, hash_name)


@pytest.mark.parametrize(
    ("pyca_curve", "ecdsa_curve"),
    [(ec.BrainpoolP256R1(), curves.BRAINPOOLP256r1), (ec.SECP256R1(), curves.NIST256p)],
)
def test_explicit_named_curve_maps_to_openssl(
    pyca_curve: ec.EllipticCurve, ecdsa_curve: curves.Curve
) -> None:
    key = ec.generate_private_key(pyca_curve)
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    spki = explicit_spki(ecdsa_curve, point)
    loaded = load_ec_public_key(keys.PublicKeyInfo.load(spki))
    assert (loaded.curve_name, loaded.pyca_key is not None) == (ecdsa_curve.name, True)
    signature = key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert verify(spki, ecdsa_alg(), signature, MESSAGE)
    assert not verify(spki, ecdsa_alg(), signature, MESSAGE + b"!")


def test_curve_openssl_lacks_is_verified_with_ecdsa() -> None:
    signer = SigningKey.generate(curve=curves.BRAINPOOLP320r1, hashfunc=hashlib.sha384)
    spki = explicit_spki(curves.BRAINPOOLP320r1, signer.verifying_key.to_string("uncompressed"))
    loaded = load_ec_public_key(keys.PublicKeyInfo.load(spki))
    assert (loaded.curve_name, loaded.pyca_key) == ("BRAINPOOLP320r1", None)
    signature = signer.sign(MESSAGE, sigencode=sigencode_der)
    assert verify(spki, ecdsa_alg("sha384"), signature, MESSAGE)
    assert not verify(spki, ecdsa_alg("sha384"), signature, b"other")


def test_unknown_explicit_curve_is_verified_as_encoded() -> None:
    base = curves.BRAINPOOLP256r1
    generator = base.generator * 2  # same curve, different base point: in no table
    point_g = ellipticcurve.PointJacobi(
        base.curve, generator.x(), generator.y(), 1, base.order, generator=True
    )
    custom = curves.Curve("custom", base.curve, point_g, None)
    signer = SigningKey.generate(curve=custom, hashfunc=hashlib.sha256)
    spki = explicit_spki(custom, signer.verifying_key.to_string("uncompressed"))
    assert load_ec_public_key(keys.PublicKeyInfo.load(spki)).curve_name == "explicit-unnamed"
    signature = signer.sign(MESSAGE, sigencode=sigencode_der)
    assert verify(spki, ecdsa_alg(), signature, MESSAGE)
    assert not verify(spki, ecdsa_alg(), signature[:-1] + bytes([signature[-1] ^ 1]), MESSAGE)


def test_point_off_the_curve_is_malformed() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1())
    point = bytearray(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))
    point[-1] ^= 1
    with pytest.raises(LdsError) as info:
        load_ec_public_key(
            keys.PublicKeyInfo.load(explicit_spki(curves.BRAINPOOLP256r1, bytes(point)))
        )
    assert info.value.reason is Reason.LDS_MALFORMED


def test_bsi_plain_ecdsa_signature() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1())
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    r, s = utils.decode_dss_signature(key.sign(MESSAGE, ec.ECDSA(hashes.SHA256())))
    plain = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    alg = signature_algorithm(algos.SignedDigestAlgorithm({"algorithm": "0.4.0.127.0.7.1.1.4.1.3"}))
    assert alg == SignatureAlgorithm(Scheme.ECDSA_PLAIN, "sha256")
    assert verify(spki, alg, plain, MESSAGE)
    assert not verify(spki, alg, plain[:-1], MESSAGE)


def test_rsa_pss_parameters_are_enforced() -> None:
    key = rsa.generate_private_key(65537, 2048)
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    signature = key.sign(MESSAGE, pss, hashes.SHA256())

    def params(salt: int) -> algos.SignedDigestAlgorithm:
        return algos.SignedDigestAlgorithm(
            {
                "algorithm": "rsassa_pss",
                "parameters": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "mask_gen_algorithm": {
                        "algorithm": "mgf1",
                        "parameters": {"algorithm": "sha256"},
                    },
                    "salt_length": salt,
                },
            }
        )

    assert verify(spki, signature_algorithm(params(32)), signature, MESSAGE)
    assert not verify(spki, signature_algorithm(params(20)), signature, MESSAGE)
    # an RSA-PSS signature presented as PKCS#1 v1.5 does not verify either
    assert not verify(spki, SignatureAlgorithm(Scheme.RSA_PKCS1V15, "sha256"), signature, MESSAGE)


def test_rsa_signature_with_an_ec_key_is_malformed() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(LdsError):
        verify(spki, SignatureAlgorithm(Scheme.RSA_PKCS1V15, "sha256"), b"\x00" * 256, MESSAGE)


@pytest.mark.parametrize("oid", ["1.2.840.113549.1.1.4", "1.2.840.10040.4.3", "1.2.3.4"])
def test_unsupported_or_weak_algorithms_are_refused(oid: str) -> None:
    """MD5-RSA, DSA and unknown OIDs fail closed as LDS_UNSUPPORTED."""
    with pytest.raises(LdsError) as info:
        signature_algorithm(algos.SignedDigestAlgorithm({"algorithm": oid}), "sha256")
    assert info.value.reason is Reason.LDS_UNSUPPORTED


def test_oversized_explicit_curve_is_refused_before_any_arithmetic() -> None:
    big = curves.Curve(
        "big",
        ellipticcurve.CurveFp(2**607 - 1, 1, 1),
        ellipticcurve.PointJacobi(ellipticcurve.CurveFp(2**607 - 1, 1, 1), 1, 1, 1, 2**600),
        None,
    )
    spki = explicit_spki(big, b"\x04" + b"\x01" * 152)
    with pytest.raises(LdsError) as info:
        load_ec_public_key(keys.PublicKeyInfo.load(spki))
    assert info.value.reason is Reason.LDS_UNSUPPORTED

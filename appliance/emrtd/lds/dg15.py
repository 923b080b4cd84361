"""DG15 (ICAO 9303-10 §4.7.15): the Active Authentication public key, tag 6F around a
SubjectPublicKeyInfo. RSA and EC keys over named curves load with `cryptography`; EC keys with
explicit domain parameters (common on brainpool chips) are kept as raw SPKI for the AA code,
which maps them to a curve itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from asn1crypto import keys
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from appliance.emrtd.lds._asn1 import asn1_errors, load
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

TAG: Final = 0x6F


@dataclass(frozen=True)
class Dg15:
    #: SubjectPublicKeyInfo DER, exactly as on the chip
    public_key_info: bytes
    algorithm: Literal["rsa", "ec"]
    #: named curve (asn1crypto name, e.g. "brainpoolp256r1"), None when explicit or RSA
    curve: str | None = None

    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey | None:
        """The key as `cryptography` loads it; None for EC keys it cannot load (explicit
        parameters, or a named curve this OpenSSL lacks): use `public_key_info` for those."""
        if self.algorithm == "ec" and self.curve is None:
            return None
        try:
            key = load_der_public_key(self.public_key_info)
        except UnsupportedAlgorithm:
            if self.algorithm == "ec":
                return None
            raise
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)  # checked in parse
        return key


def parse_public_key_info(der: bytes) -> Dg15:
    info = load(keys.PublicKeyInfo, der, "DG15 SubjectPublicKeyInfo")
    with asn1_errors("DG15 SubjectPublicKeyInfo"):
        algorithm = info["algorithm"]["algorithm"].native
        curve: str | None = None
        if algorithm == "ec":
            params = info["algorithm"]["parameters"]
            if params.name == "named":
                curve = str(params.chosen.native)
            elif params.name != "specified":
                raise LdsError("DG15: EC key without domain parameters")
    if algorithm not in ("rsa", "ec"):
        raise LdsError("DG15: AA key is neither RSA nor EC", Reason.LDS_UNSUPPORTED)
    model = Dg15(public_key_info=der, algorithm=algorithm, curve=curve)
    try:
        model.public_key()
    except (ValueError, UnsupportedAlgorithm):  # a bad modulus or a point off the curve
        raise LdsError("DG15: public key does not load") from None
    return model


def parse(data: bytes) -> Dg15:
    return parse_public_key_info(tlv.parse_exact(data, TAG, "DG15").value)


def encode(model: Dg15) -> bytes:
    return tlv.encode(TAG, model.public_key_info)

"""EC public keys over named *and explicit-parameter* curves.

Many CSCAs and DSs encode brainpool curves with explicit domain parameters, which
pyca/cryptography refuses. We map explicit parameters back to a named curve by comparing
p, a, b, G, n (and the cofactor when given) with the curves `ecdsa` knows; the named curve is
then verified with OpenSSL (pyca) when it supports it, else with `ecdsa`. Parameters matching no
known curve are verified with `ecdsa` on the curve exactly as encoded (the certificate carrying
them is itself signed, so the parameters are authenticated).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from asn1crypto import keys
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from ecdsa import BadSignatureError, VerifyingKey, ellipticcurve
from ecdsa import curves as ecdsa_curves
from ecdsa.der import UnexpectedDER
from ecdsa.errors import MalformedPointError
from ecdsa.util import sigdecode_der

from appliance.emrtd.lds.digests import pyca_hash
from appliance.errors import LdsError, Reason

#: P-521 is the largest curve ICAO 9303-12 (and BSI TR-03111) allows
_MAX_FIELD_BITS = 521

# (p, a, b, Gx, Gy, n)
_DomainKey = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class EcPublicKey:
    """A verified-on-load EC point with the curve it lives on."""

    curve_name: str
    point: bytes
    pyca_key: ec.EllipticCurvePublicKey | None
    ecdsa_curve: ecdsa_curves.Curve

    def verify(self, signature_der: bytes, message: bytes, hash_name: str) -> bool:
        """ECDSA verification of a DER `Ecdsa-Sig-Value`; False for any invalid signature."""
        if self.pyca_key is not None:
            try:
                self.pyca_key.verify(signature_der, message, ec.ECDSA(pyca_hash(hash_name)))
            except InvalidSignature:
                return False
            return True
        vk = VerifyingKey.from_string(
            self.point, curve=self.ecdsa_curve, hashfunc=getattr(hashlib, hash_name)
        )
        try:
            return bool(vk.verify(signature_der, message, sigdecode=sigdecode_der))
        except (BadSignatureError, UnexpectedDER, ValueError):
            return False

    @property
    def order_bytes(self) -> int:
        """Length of r and s in a plain (r || s) signature."""
        return int(self.ecdsa_curve.baselen)


@cache
def _known_curves() -> dict[_DomainKey, ecdsa_curves.Curve]:
    table: dict[_DomainKey, ecdsa_curves.Curve] = {}
    for curve in ecdsa_curves.curves:
        if not isinstance(curve.curve, ellipticcurve.CurveFp):
            continue  # Edwards curves are not X9.62 curves
        fp = curve.curve
        g = curve.generator
        p = fp.p()
        # ecdsa keeps the NIST curves' a as -3: compare field elements reduced mod p
        table[(p, fp.a() % p, fp.b() % p, g.x(), g.y(), curve.order)] = curve
    return table


def _pyca_curve(dotted_oid: str | None) -> ec.EllipticCurve | None:
    if dotted_oid is None:
        return None
    try:
        return ec.get_curve_for_oid(pyca_x509.ObjectIdentifier(dotted_oid))()
    except LookupError:
        return None


def _oid_of(curve: ecdsa_curves.Curve) -> str | None:
    return ".".join(str(part) for part in curve.oid) if curve.oid else None


def _named(dotted: str) -> tuple[str, ecdsa_curves.Curve]:
    for curve in ecdsa_curves.curves:
        if _oid_of(curve) == dotted and isinstance(curve.curve, ellipticcurve.CurveFp):
            return str(curve.name), curve
    raise LdsError(f"EC curve {dotted} not supported", Reason.LDS_UNSUPPORTED)


def _explicit(params: keys.SpecifiedECDomain) -> tuple[str, ecdsa_curves.Curve]:
    if params["field_id"]["field_type"].native != "prime_field":
        raise LdsError("EC curves over binary fields are not supported", Reason.LDS_UNSUPPORTED)
    p = int(params["field_id"]["parameters"].native)
    a = int.from_bytes(params["curve"]["a"].native, "big")
    b = int.from_bytes(params["curve"]["b"].native, "big")
    n = int(params["order"].native)
    cofactor = params["cofactor"].native
    h = int(cofactor) if cofactor is not None else None
    if p < 5 or n < 2:
        raise LdsError("EC explicit parameters out of range")
    if p.bit_length() > _MAX_FIELD_BITS or n.bit_length() > _MAX_FIELD_BITS + 1:
        # an unauthenticated DS certificate must not buy seconds of pure-Python arithmetic
        raise LdsError("EC field larger than 521 bits", Reason.LDS_UNSUPPORTED)
    try:
        g = ellipticcurve.PointJacobi.from_bytes(
            ellipticcurve.CurveFp(p, a, b), params["base"].native
        )
    except (MalformedPointError, AssertionError, ValueError) as exc:
        raise LdsError("EC base point not on the curve") from exc
    gx, gy = int(g.x()), int(g.y())
    known = _known_curves().get((p, a % p, b % p, gx, gy, n))
    if known is not None and h in (None, known.curve.cofactor()):
        return str(known.name), known
    fp = ellipticcurve.CurveFp(p, a, b, h or 1)
    generator = ellipticcurve.PointJacobi(fp, gx, gy, 1, n, generator=True)
    return "explicit-unnamed", ecdsa_curves.Curve("explicit-unnamed", fp, generator, None)


def load_ec_public_key(public_key: keys.PublicKeyInfo) -> EcPublicKey:
    """Load an EC SubjectPublicKeyInfo, resolving its curve; malformed -> `LdsError`."""
    try:
        params = public_key["algorithm"]["parameters"]
        point = bytes(public_key["public_key"].native)
        if params.name == "named":
            name, curve = _named(params.chosen.dotted)
        elif params.name == "specified":
            name, curve = _explicit(params.chosen)
        else:
            raise LdsError("implicitlyCA EC parameters are not supported", Reason.LDS_UNSUPPORTED)
    except LdsError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise LdsError("EC public key malformed") from exc
    pyca_curve = _pyca_curve(_oid_of(curve))
    if pyca_curve is not None:
        try:
            # OpenSSL checks that the point lies on the curve
            pyca_key = ec.EllipticCurvePublicKey.from_encoded_point(pyca_curve, point)
            return EcPublicKey(curve_name=name, point=point, pyca_key=pyca_key, ecdsa_curve=curve)
        except UnsupportedAlgorithm:
            pass  # OpenSSL build without this curve: ecdsa verifies instead
        except ValueError as exc:
            raise LdsError("EC public point not on its curve") from exc
    try:
        VerifyingKey.from_string(point, curve=curve)  # validates the point too
    except (MalformedPointError, AssertionError, ValueError) as exc:
        raise LdsError("EC public point not on its curve") from exc
    return EcPublicKey(curve_name=name, point=point, pyca_key=None, ecdsa_curve=curve)

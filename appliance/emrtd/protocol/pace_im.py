"""PACE integrated mapping (ICAO 9303-11 §4.4.3.3.2; worked examples in Appendix H).

Instead of a Diffie-Hellman round to hide the nonce (generic mapping), the terminal sends a
second nonce t in clear and both sides map the pair straight onto the group:
G~ = f(R_p(s, t)). `R_p` is a pseudo-random function built from the suite's block cipher;
f is the point encoding of Brier, Coron, Icart, Madore, Randriam and Tibouchi (ECDH, ICAO
9303-11 Appendix B: a simplified SWU map for p = 3 mod 4) or the cofactor exponentiation
x^((p-1)/q) (DH). One APDU round shorter than generic mapping and no mapping key pair.

Sans-I/O and deterministic given the nonces, so the Appendix H values replay exactly. Both
halves (terminal and the virtual chip's card side) use these functions; the ICAO vectors are
the independent check.
"""

from __future__ import annotations

from typing import Any

from ecdsa.ellipticcurve import PointJacobi

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import DhGroup, EcGroup, Group
from appliance.emrtd.protocol.pace import PaceProtocol
from appliance.errors import ApplianceError, Reason

#: the constants c0, c1 of the pseudo-random function, by l (128: 3DES and AES-128, 256: AES-192
#: and AES-256)
_C0 = {
    128: bytes.fromhex("a668892a7c41e3ca739f40b057d85904"),
    256: bytes.fromhex("d463d65234124ef7897054986dca0a174e28df758cbaa03f240616414d5a1676"),
}
_C1 = {
    128: bytes.fromhex("a4e136ac725f738b01c1f60217c188ad"),
    256: bytes.fromhex("54bd7255f0aaf831bec3423fcf39d69b6cbf066677d0faae5aadd99df8e53517"),
}
#: extra output bits beyond log2(p), so that R mod p is close to uniform
_STATISTICAL_MARGIN = 64


def _fail(detail: str) -> ApplianceError:
    return ApplianceError(Reason.PACE_FAILED, detail)


def nonce_bits(cipher: CipherKind) -> int:
    """l: the bit length of the chip's nonce s and of each output block of R.

    The smallest multiple of the block size not below the key size, where 3DES counts as a
    128-bit key (ICAO 9303-11 §4.4.3.3).
    """
    return 128 if cipher.key_length == 16 else 256


def pseudo_random(s: bytes, t: bytes, modulus: int, cipher: CipherKind) -> bytes:
    """R(s, t) = x_1 || ... || x_n: block cipher E in CBC mode with IV 0, keyed first by t.

    k_1 = E(t, s); x_i = E(k_i, c1); k_(i+1) = E(k_i, c0), each key truncated to the key size;
    n is the smallest count with n * l >= log2(p) + 64.
    """
    key_length = cipher.key_length
    if len(t) != key_length:
        raise _fail("integrated mapping: nonce t must be one key long")
    if len(s) * 8 < key_length * 8 or len(s) % cipher.block_size:
        raise _fail("integrated mapping: nonce s is shorter than a key or not whole blocks")
    bits = nonce_bits(cipher)
    blocks = -(-(modulus.bit_length() + _STATISTICAL_MARGIN) // bits)
    key = crypto.encrypt(cipher, t, s)[:key_length]
    out = bytearray()
    for _ in range(blocks):
        out += crypto.encrypt(cipher, key, _C1[bits])
        key = crypto.encrypt(cipher, key, _C0[bits])[:key_length]
    return bytes(out)


def pseudo_random_element(s: bytes, t: bytes, modulus: int, cipher: CipherKind) -> int:
    """R_p(s, t) = int(R(s, t)) mod p, the field element the encodings map."""
    return int.from_bytes(pseudo_random(s, t, modulus, cipher), "big") % modulus


def encode_point(group: EcGroup, t: int) -> PointJacobi:
    """f_G(t): a field element to a curve point (ICAO 9303-11 Appendix B, p = 3 mod 4).

    alpha = -t^2; X2 = -b/a * (1 + 1/(alpha + alpha^2)); X3 = alpha * X2; h2, h3 are the
    curve equation at X2, X3; A = h2^(p-1-(p+1)/4). If A^2 * h2 = 1, (X2, A * h2) is on the curve,
    else (X3, A * t^3 * h2) is. The point is multiplied by the cofactor.
    """
    curve = group.curve
    p = int(curve.p())
    if p % 4 != 3:
        raise ApplianceError(
            Reason.CHIP_PROTOCOL_UNSUPPORTED, "integrated mapping needs a curve with p = 3 mod 4"
        )
    a, b = int(curve.a()) % p, int(curve.b()) % p
    t %= p
    alpha = -t * t % p
    denominator = (alpha + alpha * alpha) % p
    if a == 0 or denominator == 0:
        raise _fail("integrated mapping: degenerate field element")
    x2 = -b * pow(a, -1, p) * (1 + pow(denominator, -1, p)) % p
    x3 = alpha * x2 % p
    h2 = (pow(x2, 3, p) + a * x2 + b) % p
    exponent = p - 1 - (p + 1) // 4
    root = pow(h2, exponent, p)
    if root * root * h2 % p == 1:
        x, y = x2, root * h2 % p
    else:
        x, y = x3, root * pow(t, 3, p) * h2 % p
    if not curve.contains_point(x, y):
        raise _fail("integrated mapping: encoded point is not on the curve")
    point = PointJacobi(curve, x, y, 1, group.order)
    cofactor = int(curve.cofactor() or 1)
    return group.multiply(cofactor, point) if cofactor > 1 else point


def encode_dh(group: DhGroup, x: int) -> int:
    """f_g(x) = x^((p-1)/q) mod p: an element of the order-q subgroup (must not be 1)."""
    generator = pow(x, (group.p - 1) // group.order, group.p)
    if generator in (0, 1):
        raise _fail("integrated mapping: the mapped generator is trivial")
    return generator


def map_nonces(group: Group[Any], s: bytes, t: bytes, cipher: CipherKind) -> Any:
    """G~ = f(R_p(s, t)) in `group` (ECDH or DH)."""
    if isinstance(group, EcGroup):
        return encode_point(group, pseudo_random_element(s, t, int(group.curve.p()), cipher))
    if isinstance(group, DhGroup):
        return encode_dh(group, pseudo_random_element(s, t, group.p, cipher))
    raise ApplianceError(Reason.CHIP_PROTOCOL_UNSUPPORTED, "integrated mapping: unknown group")


class IntegratedMapping:
    """Terminal side of the mapping step: send t in DO'81, expect an empty DO'82."""

    def __init__(
        self, group: Group[Any], nonce: bytes, rng: Random, protocol: PaceProtocol | None = None
    ) -> None:
        if protocol is None:
            raise ApplianceError(Reason.INTERNAL_ERROR, "integrated mapping needs the protocol")
        self.group = group
        self.cipher = protocol.cipher
        self._s = nonce
        self.t = rng(self.cipher.key_length)
        if len(self.t) != self.cipher.key_length:
            raise ApplianceError(Reason.INTERNAL_ERROR, "random source returned too few bytes")

    def terminal_data(self) -> bytes:
        return self.t

    def generator(self, chip_data: bytes) -> Any:
        if chip_data:
            raise _fail("integrated mapping: the chip's mapping data (DO'82) must be empty")
        return map_nonces(self.group, self._s, self.t, self.cipher)


__all__ = [
    "IntegratedMapping",
    "encode_dh",
    "encode_point",
    "map_nonces",
    "nonce_bits",
    "pseudo_random",
    "pseudo_random_element",
]

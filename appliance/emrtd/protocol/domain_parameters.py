"""PACE domain parameters and their group arithmetic (ICAO 9303-11 §9.5.1, BSI TR-03110-3 Table 4).

Two kinds of group: elliptic curves (ECDH, elements are points) and prime-order subgroups of
Z_p* (DH, elements are integers). PACE needs the raw group operation, not just key agreement
(generic mapping computes G~ = s*G + H), and `cryptography` offers no EC point addition, so the
curve arithmetic is the `ecdsa` package's (Jacobian coordinates, curve constants from its
registry); DH is Python's modular exponentiation. Neither is constant time; PACE keys are
ephemeral and single-use, which limits what a timing observer could learn.

Every element received from a chip is validated (on the curve and not the point at infinity;
1 < y < p-1 and y^q = 1 for DH) before it is used.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from ecdsa import curves as ecdsa_curves
from ecdsa.ellipticcurve import INFINITY, CurveFp, PointJacobi

from appliance.emrtd.protocol.crypto import Random
from appliance.errors import ApplianceError, Reason

E = TypeVar("E")
_MAX_KEYGEN_TRIES = 128


def _invalid(detail: str) -> ApplianceError:
    return ApplianceError(Reason.PACE_FAILED, detail)


class Group(ABC, Generic[E]):
    """A PACE group: enough arithmetic for generic mapping and Diffie-Hellman."""

    name: str
    #: tag of the public value inside a public key data object 7F49 (86 = EC point, 84 = DH)
    public_key_tag: int
    order: int
    generator: E

    @property
    @abstractmethod
    def element_size(self) -> int:
        """Bytes of an encoded public element."""

    @abstractmethod
    def multiply(self, k: int, element: E) -> E:
        """k times `element` (EC) or `element`^k (DH)."""

    @abstractmethod
    def combine(self, a: E, b: E) -> E:
        """The group operation: point addition (EC) or multiplication mod p (DH)."""

    @abstractmethod
    def encode(self, element: E) -> bytes:
        """Public encoding: uncompressed point 04||X||Y, or the DH value on |p| bytes."""

    @abstractmethod
    def decode(self, data: bytes) -> E:
        """Parse and validate a peer's element; `PACE_FAILED` when it is not a valid one."""

    @abstractmethod
    def shared_secret(self, element: E) -> bytes:
        """The key-agreement secret from a shared element (EC: the x coordinate)."""

    def random_private(self, rng: Random) -> int:
        """A private key uniform in [1, order-1], by rejection sampling of `rng` bytes."""
        bits = self.order.bit_length()
        size = (bits + 7) // 8
        for _ in range(_MAX_KEYGEN_TRIES):
            k = int.from_bytes(rng(size), "big") & ((1 << bits) - 1)
            if 1 <= k < self.order:
                return k
        raise ApplianceError(Reason.INTERNAL_ERROR, "random source keeps failing")


class EcGroup(Group[PointJacobi]):
    """A prime-order elliptic curve in short Weierstrass form (cofactor 1 for every ICAO id)."""

    public_key_tag = 0x86

    def __init__(self, name: str, curve: CurveFp, generator: PointJacobi, order: int) -> None:
        self.name = name
        self.curve = curve
        self.generator = generator
        self.order = order
        self._field_bytes: int = (int(curve.p()).bit_length() + 7) // 8

    @classmethod
    def named(cls, name: str, ecdsa_name: str) -> EcGroup:
        """One of the curves `ecdsa` ships (all brainpool r1 and NIST P curves)."""
        curve = ecdsa_curves.curve_by_name(ecdsa_name)
        return cls(name, curve.curve, curve.generator, curve.order)

    @classmethod
    def explicit(
        cls, p: int, a: int, b: int, gx: int, gy: int, order: int, cofactor: int = 1
    ) -> EcGroup:
        """Explicit domain parameters (PACEDomainParameterInfo with a proprietary id)."""
        curve = CurveFp(p, a, b, cofactor)
        if not curve.contains_point(gx, gy):
            raise _invalid("explicit domain parameters: generator not on the curve")
        return cls("explicit", curve, PointJacobi(curve, gx, gy, 1, order, generator=True), order)

    @property
    def element_size(self) -> int:
        return 1 + 2 * self._field_bytes

    def multiply(self, k: int, element: PointJacobi) -> PointJacobi:
        result = element * k
        if result == INFINITY:
            raise _invalid("scalar multiplication gave the point at infinity")
        return result

    def combine(self, a: PointJacobi, b: PointJacobi) -> PointJacobi:
        result = a + b
        if result == INFINITY:
            raise _invalid("point addition gave the point at infinity")
        return result

    def encode(self, element: PointJacobi) -> bytes:
        size = self._field_bytes
        return (
            b"\x04"
            + int(element.x()).to_bytes(size, "big")
            + int(element.y()).to_bytes(size, "big")
        )

    def decode(self, data: bytes) -> PointJacobi:
        size = self._field_bytes
        if len(data) != 1 + 2 * size or data[0] != 0x04:
            raise _invalid("EC public key is not an uncompressed point of this curve")
        x = int.from_bytes(data[1 : 1 + size], "big")
        y = int.from_bytes(data[1 + size :], "big")
        p = self.curve.p()
        if x >= p or y >= p or not self.curve.contains_point(x, y):
            raise _invalid("EC public key is not on the curve")
        return PointJacobi(self.curve, x, y, 1, self.order)

    def shared_secret(self, element: PointJacobi) -> bytes:
        return int(element.x()).to_bytes(self._field_bytes, "big")


class DhGroup(Group[int]):
    """A prime-order-q subgroup of Z_p* (the RFC 5114 groups)."""

    public_key_tag = 0x84

    def __init__(self, name: str, p: int, g: int, q: int) -> None:
        self.name = name
        self.p = p
        self.generator = g
        self.order = q
        self._size = (p.bit_length() + 7) // 8

    @classmethod
    def from_hex(cls, name: str, p: str, g: str, q: str) -> DhGroup:
        return cls(name, int(p, 16), int(g, 16), int(q, 16))

    @property
    def element_size(self) -> int:
        return self._size

    def _check(self, y: int) -> int:
        if not 1 < y < self.p - 1 or pow(y, self.order, self.p) != 1:
            raise _invalid("DH value outside the prime-order subgroup")
        return y

    def _nontrivial(self, y: int) -> int:
        # Results of operations on validated elements stay in the subgroup; only the
        # degenerate values need catching here (the subgroup test is for peer input).
        if not 1 < y < self.p - 1:
            raise _invalid("DH operation gave a degenerate value")
        return y

    def multiply(self, k: int, element: int) -> int:
        return self._nontrivial(pow(element, k, self.p))

    def combine(self, a: int, b: int) -> int:
        return self._nontrivial(a * b % self.p)

    def encode(self, element: int) -> bytes:
        return element.to_bytes(self._size, "big")

    def decode(self, data: bytes) -> int:
        if not 0 < len(data) <= self._size:
            raise _invalid("DH public value has the wrong length")
        return self._check(int.from_bytes(data, "big"))

    def shared_secret(self, element: int) -> bytes:
        return element.to_bytes(self._size, "big")


# RFC 5114 §2.1-2.3 (values as OpenSSL's dh_rfc5114 groups carry them).
_RFC5114_1024_160 = DhGroup.from_hex(
    "1024-bit MODP, 160-bit subgroup (RFC 5114)",
    p=(
        "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B61"
        "6073E28675A23D189838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BF"
        "ACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0"
        "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371"
    ),
    g=(
        "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31"
        "266FEA1E5C41564B777E690F5504F213160217B4B01B886A5E91547F9E2749F4"
        "D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A"
        "D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5"
    ),
    q=("F518AA8781A8DF278ABA4E7D64B7CB9D49462353"),
)
_RFC5114_2048_224 = DhGroup.from_hex(
    "2048-bit MODP, 224-bit subgroup (RFC 5114)",
    p=(
        "AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75"
        "E6FA141DF95A56DBAF9A3C407BA1DF15EB3D688A309C180E1DE6B85A1274A0A6"
        "6D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207"
        "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A3170918836"
        "81286130BC8985DB1602E714415D9330278273C7DE31EFDC7310F7121FD5A074"
        "15987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8"
        "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29"
        "E3FB73C16B8E75B97EF363E2FFA31F71CF9DE5384E71B81C0AC4DFFE0C10E64F"
    ),
    g=(
        "AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3"
        "A6824A4E10B9A6F0DD921F01A70C4AFAAB739D7700C29F52C57DB17C620A8652"
        "BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A"
        "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D1"
        "19529A45D6F834566E3025E316A330EFBB77A86F0C1AB15B051AE3D428C8F8AC"
        "B70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381"
        "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD"
        "7B5A0F1C71CFFF4C19C418E1F6EC017981BC087F2A7065B384B890D3191F2BFA"
    ),
    q=("801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB"),
)
_RFC5114_2048_256 = DhGroup.from_hex(
    "2048-bit MODP, 256-bit subgroup (RFC 5114)",
    p=(
        "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00"
        "E00DF8F1D61957D4FAF7DF4561B2AA3016C3D91134096FAA3BF4296D830E9A7C"
        "209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B"
        "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76"
        "B63ACAE1CAA6B7902D52526735488A0EF13C6D9A51BFA4AB3AD8347796524D8E"
        "F6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026"
        "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103"
        "A4B54330C198AF126116D2276E11715F693877FAD7EF09CADB094AE91E1A1597"
    ),
    g=(
        "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA125"
        "10DBC15077BE463FFF4FED4AAC0BB555BE3A6C1B0C6B47B1BC3773BF7E8C6F62"
        "901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B"
        "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193"
        "B5045AF2767164E1DFC967C1FB3F2E55A4BD1BFFE83B9C80D052B985D182EA0A"
        "DB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915"
        "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C3"
        "2F63078490F00EF8D647D148D47954515E2327CFEF98C582664B4C0F6CC41659"
    ),
    q=("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"),
)

#: Standardized domain parameter ids (ICAO 9303-11 §9.5.1 Table 6) -> (name, ecdsa curve name);
#: ids 3-7 are reserved.
_STANDARD_CURVES: dict[int, tuple[str, str]] = {
    8: ("NIST P-192", "NIST192p"),
    9: ("brainpoolP192r1", "BRAINPOOLP192r1"),
    10: ("NIST P-224", "NIST224p"),
    11: ("brainpoolP224r1", "BRAINPOOLP224r1"),
    12: ("NIST P-256", "NIST256p"),
    13: ("brainpoolP256r1", "BRAINPOOLP256r1"),
    14: ("brainpoolP320r1", "BRAINPOOLP320r1"),
    15: ("NIST P-384", "NIST384p"),
    16: ("brainpoolP384r1", "BRAINPOOLP384r1"),
    17: ("brainpoolP512r1", "BRAINPOOLP512r1"),
    18: ("NIST P-521", "NIST521p"),
}

_STANDARD_DH: dict[int, DhGroup] = {
    0: _RFC5114_1024_160,
    1: _RFC5114_2048_224,
    2: _RFC5114_2048_256,
}

_curve_cache: dict[int, EcGroup] = {}


def is_standard(parameter_id: int) -> bool:
    return parameter_id in _STANDARD_DH or parameter_id in _STANDARD_CURVES


def standard_group(parameter_id: int) -> DhGroup | EcGroup:
    """The group of a standardized domain parameter id; `CHIP_PROTOCOL_UNSUPPORTED` otherwise."""
    if parameter_id in _STANDARD_DH:
        return _STANDARD_DH[parameter_id]
    if parameter_id in _STANDARD_CURVES:
        if parameter_id not in _curve_cache:
            name, ecdsa_name = _STANDARD_CURVES[parameter_id]
            _curve_cache[parameter_id] = EcGroup.named(name, ecdsa_name)
        return _curve_cache[parameter_id]
    raise ApplianceError(
        Reason.CHIP_PROTOCOL_UNSUPPORTED, f"PACE domain parameter id {parameter_id} not supported"
    )

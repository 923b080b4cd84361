"""EF.SOD (ICAO 9303-10 4.6.2, 9303-12 annex): the signed LDSSecurityObject with per-DG hashes.

EF.SOD is tag 77 around a CMS SignedData whose encapsulated content is the LDSSecurityObject
(OID 2.23.136.1.1.1). This module frames and reads it; the CMS signature is Passive
Authentication's job (`appliance.emrtd.pki`), which uses `unwrap_sod` and
`encapsulated_content` from here so both sides agree on what was signed.

Some real EF.SODs declare another eContentType (the generic id-data, or an early ICAO or
vendor OID): `parse` reads them and says so in `EfSod.content_type`; Passive Authentication
warns and lets the signature decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from asn1crypto import cms, core

from appliance.emrtd.lds import digests
from appliance.emrtd.lds._asn1 import asn1_errors, load
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

TAG = 0x77
LDS_SECURITY_OBJECT_OID: Final = "2.23.136.1.1.1"
#: eContentType of EF.CardSecurity (BSI TR-03110-3, id-SecurityObject)
SECURITY_OBJECT_OID: Final = "0.4.0.127.0.7.3.2.1"
ID_DATA_OID: Final = "1.2.840.113549.1.7.1"
#: eContentTypes real EF.SODs carry instead of id-icao-ldsSecurityObject, read as JMRTD and
#: pyPassport read them: the generic id-data, the early ICAO OID seen in French and Belgian
#: passports, and the SDU (NL) test OID. The content must still be an LDSSecurityObject.
LDS_CONTENT_TYPE_ALTERNATIVES: Final[dict[str, str]] = {
    ID_DATA_OID: "id-data",
    "1.3.27.1.1.1": "early ICAO ldsSecurityObject",
    "1.2.528.1.1006.1.20.1": "SDU ldsSecurityObject",
}


class _DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class _DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _DataGroupHash


class _LdsVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class _DigestAlgorithmIdentifier(core.Sequence):  # type: ignore[misc]
    """AlgorithmIdentifier kept literal: asn1crypto's own adds a NULL the chip may not have."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class _LdsSecurityObject(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("hash_algorithm", _DigestAlgorithmIdentifier),
        ("data_group_hash_values", _DataGroupHashValues),
        ("lds_version_info", _LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class LdsSecurityObject:
    """What the document signer vouches for: the hash of every data group on the chip."""

    #: "sha1", "sha224", "sha256", "sha384" or "sha512" (hashlib names)
    hash_algorithm: str
    dg_hashes: dict[int, bytes]
    #: 0, or 1 when the LDS/Unicode versions are signed too (LDS 1.8+)
    version: int = 0
    lds_version: str | None = None
    unicode_version: str | None = None
    #: whether the AlgorithmIdentifier carried an explicit NULL parameter (both occur in the wild)
    hash_parameters_null: bool = False


@dataclass(frozen=True)
class EfSod:
    #: the CMS ContentInfo (SignedData) DER, as Passive Authentication verifies it
    content_info: bytes
    security_object: LdsSecurityObject = field(compare=False)
    #: the eContentType as declared: LDS_SECURITY_OBJECT_OID, or one of the alternatives
    content_type: str = field(default=LDS_SECURITY_OBJECT_OID, compare=False)

    @property
    def nonstandard_content_type(self) -> bool:
        return self.content_type != LDS_SECURITY_OBJECT_OID


def unwrap_sod(ef_sod: bytes) -> bytes:
    """The CMS ContentInfo DER inside EF.SOD's tag 77."""
    return tlv.parse_exact(ef_sod, TAG, "EF.SOD").value


def wrap_sod(content_info: bytes) -> bytes:
    return tlv.encode(TAG, content_info)


def encapsulated_content(content_info: bytes, content_type: str = LDS_SECURITY_OBJECT_OID) -> bytes:
    """The signed eContent bytes of a CMS SignedData, refusing any other content type."""
    return _encapsulated(content_info, (content_type,))[1]


def _encapsulated(content_info: bytes, accepted: tuple[str, ...]) -> tuple[str, bytes]:
    """(eContentType, eContent) of a CMS SignedData whose eContentType is in `accepted`."""
    info = load(cms.ContentInfo, content_info, "CMS ContentInfo", deep=False)
    with asn1_errors("CMS SignedData"):
        if info["content_type"].dotted != "1.2.840.113549.1.7.2":
            raise LdsError("CMS: not a SignedData")
        encap = info["content"]["encap_content_info"]
        declared = str(encap["content_type"].dotted)
        if declared not in accepted:
            raise LdsError("CMS: unexpected encapsulated content type")
        content = encap["content"]
        if not isinstance(content, core.OctetString | core.ParsableOctetString):
            raise LdsError("CMS: encapsulated content is absent (detached signature)")
        data = bytes(content)
        _ = info["content"]["signer_infos"].native  # framing checks; certificates stay lazy
    return declared, data


def parse_security_object(der: bytes) -> LdsSecurityObject:
    value = load(_LdsSecurityObject, der, "LDSSecurityObject")
    with asn1_errors("LDSSecurityObject"):
        version = int(value["version"].native)
        algorithm = value["hash_algorithm"]
        oid = algorithm["algorithm"].dotted
        params = algorithm["parameters"]
        params_der = b"" if isinstance(params, core.Void) else bytes(params.dump())
        hashes_asn1 = list(value["data_group_hash_values"])
        version_info = value["lds_version_info"]
        dg_hashes: dict[int, bytes] = {}
        for item in hashes_asn1:
            dg = int(item["data_group_number"].native)
            dg_hashes[dg] = bytes(item["data_group_hash_value"].native)
            if not 1 <= dg <= 16:
                raise LdsError("LDSSecurityObject: data group number out of range")
        if len(dg_hashes) != len(hashes_asn1):
            raise LdsError("LDSSecurityObject: a data group is hashed twice")
        lds_version = unicode_version = None
        if isinstance(version_info, _LdsVersionInfo):
            lds_version = str(version_info["lds_version"].native)
            unicode_version = str(version_info["unicode_version"].native)
    if version not in (0, 1):
        raise LdsError("LDSSecurityObject: unknown version", Reason.LDS_UNSUPPORTED)
    if (version == 1) != (lds_version is not None):
        raise LdsError("LDSSecurityObject: LDSVersionInfo must be present exactly in v1")
    if oid not in digests.BY_OID:
        raise LdsError("LDSSecurityObject: hash algorithm not allowed", Reason.LDS_UNSUPPORTED)
    name, size = digests.BY_OID[oid].name, digests.BY_OID[oid].size
    if params_der not in (b"", b"\x05\x00"):
        raise LdsError("LDSSecurityObject: hash algorithm parameters must be absent or NULL")
    if not 2 <= len(dg_hashes) <= 16:
        raise LdsError("LDSSecurityObject: must hash 2 to 16 data groups")
    if any(len(digest) != size for digest in dg_hashes.values()):
        raise LdsError("LDSSecurityObject: hash length does not match the algorithm")
    return LdsSecurityObject(
        hash_algorithm=name,
        dg_hashes=dg_hashes,
        version=version,
        lds_version=lds_version,
        unicode_version=unicode_version,
        hash_parameters_null=bool(params_der),
    )


def encode_security_object(model: LdsSecurityObject) -> bytes:
    """DER of the LDSSecurityObject: the eContent a document signer signs."""
    algorithm: dict[str, object] = {"algorithm": digests.BY_NAME[model.hash_algorithm].oid}
    if model.hash_parameters_null:
        algorithm["parameters"] = core.Any.load(b"\x05\x00")
    value: dict[str, object] = {
        "version": model.version,
        "hash_algorithm": algorithm,
        "data_group_hash_values": [
            {"data_group_number": dg, "data_group_hash_value": digest}
            for dg, digest in model.dg_hashes.items()  # chip order, for byte-exact round trips
        ],
    }
    if model.version == 1:
        value["lds_version_info"] = {
            "lds_version": model.lds_version,
            "unicode_version": model.unicode_version,
        }
    return bytes(_LdsSecurityObject(value).dump())


def parse(data: bytes) -> EfSod:
    content_info = unwrap_sod(data)
    accepted = (LDS_SECURITY_OBJECT_OID, *LDS_CONTENT_TYPE_ALTERNATIVES)
    content_type, content = _encapsulated(content_info, accepted)
    security_object = parse_security_object(content)
    return EfSod(content_info, security_object, content_type)


def encode(model: EfSod) -> bytes:
    """EF.SOD from an already signed ContentInfo (signing is the document signer's, not ours)."""
    return wrap_sod(model.content_info)

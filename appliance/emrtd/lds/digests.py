"""The digest algorithms ICAO 9303-12 allows, in one table every layer reads.

EF.SOD's LDSSecurityObject names its digest by OID and fixes the length of each hash; the PKI
resolves the digests of CMS signer infos and signature algorithms by the same OIDs and hands
hashlib names to pyca/cryptography. MD5 and friends are deliberately absent: they fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes


@dataclass(frozen=True)
class Digest:
    #: the hashlib name, also what reports print
    name: str
    oid: str
    #: output length in bytes
    size: int
    pyca: type[hashes.HashAlgorithm]


DIGESTS: Final = (
    Digest("sha1", "1.3.14.3.2.26", 20, hashes.SHA1),
    Digest("sha224", "2.16.840.1.101.3.4.2.4", 28, hashes.SHA224),
    Digest("sha256", "2.16.840.1.101.3.4.2.1", 32, hashes.SHA256),
    Digest("sha384", "2.16.840.1.101.3.4.2.2", 48, hashes.SHA384),
    Digest("sha512", "2.16.840.1.101.3.4.2.3", 64, hashes.SHA512),
)
BY_OID: Final[dict[str, Digest]] = {d.oid: d for d in DIGESTS}
BY_NAME: Final[dict[str, Digest]] = {d.name: d for d in DIGESTS}


def pyca_hash(name: str) -> hashes.HashAlgorithm:
    """A pyca/cryptography hash instance for a hashlib name (KeyError if not allowed)."""
    return BY_NAME[name].pyca()

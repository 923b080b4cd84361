"""ICAO 9303 protocol layer, sans-I/O: bytes in, bytes out, no file formats and no trust.

APDUs (ISO 7816-4), BER-TLV, the key derivation and ciphers, Secure Messaging, BAC, PACE with
its mappings (GM, IM, CAM), the standardized domain parameters and where files live on a chip.
Import rule (tests/test_import_rules.py): the standard library, third-party packages,
`appliance.errors`, `appliance.ports` and this package only; never `lds`, `pki`, `chip` or above.
"""

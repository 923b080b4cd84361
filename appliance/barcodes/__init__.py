"""Barcodes on travel documents: Visible Digital Seals, boarding passes, signed health passes.

Sans-I/O: `payload.parse_payload` takes the bytes a decoder read from one symbol and returns a
`Symbol` (kind, named fields, signature zone); `verify.verify_symbol` checks the signature
against the trust store Passive Authentication uses. Decoding images is the `BarcodeScanner`
port's job (`drivers/barcode.py`); `commands.py` is the CLI edge.
"""

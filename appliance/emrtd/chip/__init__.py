"""Is the chip the issuer's? Chip Authentication, Active Authentication and their verdict.

These protocols run over the session's Secure Messaging but read the chip's keys from DG14, DG15
and EF.CardSecurity and check signatures, so they sit above `protocol`, `lds` and `pki`.
Import rule (tests/test_import_rules.py): `protocol`, `lds`, `pki`, `appliance.errors` and this
package; never the session, the file reader, `document` or the commands.
"""

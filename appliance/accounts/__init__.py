"""Local accounts, roles and sessions of the service's screens (officer, supervisor,
technician, auditor): `store.py` (Argon2id hashes, lockout), `sessions.py` (cookies, CSRF,
expiry, throttling), `rules.py` (the one table of which role may use which route)."""

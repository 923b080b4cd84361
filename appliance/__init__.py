"""Border-checkpoint edge appliance: eMRTD inspection, biometrics and a tamper-evident history."""

__version__ = "0.1.0"
#: the date this version was cut (ISO 8601), bumped with `__version__`: `appliance selftest`
#: fails a clock set earlier than this (see appliance/selftest/ for why this source)
VERSION_DATE = "2026-12-04"

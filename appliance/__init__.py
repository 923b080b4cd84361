"""Border-checkpoint edge appliance: eMRTD inspection, biometrics and a tamper-evident history."""

__version__ = "0.1.0"

"""One quality measure of a biometric capture, as every modality reports it.

Face and iris quality gates (ISO/IEC 29794-5 and -6 style) report the same thing for each
measure: its value, the limit it was held to, whether it passed and, for a live capture, what
the kiosk tells the traveller to do about it. One type, so the screens read both alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    measure: str
    value: float
    limit: str
    ok: bool
    #: what the kiosk tells the traveller when a live capture fails this measure
    instruction: str = ""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "measure": self.measure,
            "value": round(self.value, 3),
            "limit": self.limit,
            "ok": self.ok,
        }
        if not self.ok and self.instruction:
            out["instruction"] = self.instruction
        return out

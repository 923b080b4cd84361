"""A virtual eMRTD chip (ICAO 9303 card side) personalised from a traveller profile.

`make_chip(seed=..., **knobs)` is the one-line way to get a chip for tests, benchmarks and the
demo: `seed` picks the traveller (None: the specimen passport of `TravellerProfile()`), the
knobs are `ChipConfig` fields (`max_read_size`, `rejects_le_on_select`, `rejects_tag84`,
`extended_length`, `announce_extended_length`, `strict_le`, `bac_only`, `ta_static_binding`,
`ta_refuses_every_binding`, `rng`) or profile
fields (`pace_options`, `face_image`, `pki_algorithm`...), and `variant`: one of the defects of
`defects.Defect` (`forged_dg`, `bad_sod_signature`, `unknown_csca`, `revoked_ds`,
`expired_csca`, `country_mismatch`, `dg_not_in_sod`, `cloned`, `no_sod`, `stripped_chip_keys`)
built into the chip. Files and
keys are cached per profile, so making many chips is cheap.
"""

from __future__ import annotations

from dataclasses import fields, replace

from hardware_mocks.virtual_chip.card_pace import PaceOption
from hardware_mocks.virtual_chip.chip import Access, ChipConfig, ChipContents, VirtualChip
from hardware_mocks.virtual_chip.profile import ChipFiles, TravellerProfile
from hardware_mocks.virtual_chip.transport import VirtualCardTransport

_CONFIG_FIELDS = frozenset(f.name for f in fields(ChipConfig))
_PROFILE_FIELDS = frozenset(f.name for f in fields(TravellerProfile))


def make_profile(seed: int | None = None, **overrides: object) -> TravellerProfile:
    """The specimen traveller (seed None) or a synthetic one, with `overrides` applied."""
    if seed is None:
        return replace(TravellerProfile(), **overrides)  # type: ignore[arg-type]
    return TravellerProfile.synthetic(seed, **overrides)


def make_chip(
    seed: int | None = None,
    profile: TravellerProfile | None = None,
    variant: str | None = None,
    **knobs: object,
) -> VirtualChip:
    """A chip for `profile` (or the traveller of `seed`), with `knobs` as described above."""
    unknown = set(knobs) - _CONFIG_FIELDS - _PROFILE_FIELDS
    if unknown:
        raise TypeError(f"unknown chip knobs: {sorted(unknown)}")
    config_knobs = {k: v for k, v in knobs.items() if k in _CONFIG_FIELDS}
    profile_knobs = {k: v for k, v in knobs.items() if k in _PROFILE_FIELDS}
    if config_knobs.get("bac_only"):
        profile_knobs.setdefault("pace_options", ())  # no PACEInfo anywhere on a BAC-only chip
    if profile is None:
        profile = make_profile(seed, **profile_knobs)
    elif profile_knobs:
        profile = replace(profile, **profile_knobs)  # type: ignore[arg-type]
    config = ChipConfig(**config_knobs)  # type: ignore[arg-type]
    if variant is not None:
        from hardware_mocks.virtual_chip.defects import Defect, defective_contents

        return VirtualChip(defective_contents(profile, Defect(variant)), config)
    return VirtualChip(profile, config)


def make_transport(
    seed: int | None = None,
    profile: TravellerProfile | None = None,
    variant: str | None = None,
    **knobs: object,
) -> VirtualCardTransport:
    """`make_chip(...)` already put in an in-process reader."""
    return VirtualCardTransport(make_chip(seed, profile, variant, **knobs))


__all__ = [
    "Access",
    "ChipConfig",
    "ChipContents",
    "ChipFiles",
    "PaceOption",
    "TravellerProfile",
    "VirtualCardTransport",
    "VirtualChip",
    "make_chip",
    "make_profile",
    "make_transport",
]

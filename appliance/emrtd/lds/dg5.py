"""DG5 (ICAO 9303-10 §4.7.5): the displayed portrait, tag 65 / 5F40."""

from __future__ import annotations

from typing import Final

from appliance.emrtd.lds import displayed_images
from appliance.emrtd.lds.displayed_images import DisplayedImages

TAG: Final = 0x65
IMAGE_TAG: Final = 0x5F40
Dg5 = DisplayedImages


def parse(data: bytes) -> Dg5:
    return displayed_images.parse(data, TAG, IMAGE_TAG, "DG5")


def encode(model: Dg5) -> bytes:
    return displayed_images.encode(model, TAG, IMAGE_TAG)

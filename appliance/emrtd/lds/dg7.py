"""DG7 (ICAO 9303-10 §4.7.7): the displayed signature or usual mark, tag 67 / 5F43."""

from __future__ import annotations

from typing import Final

from appliance.emrtd.lds import displayed_images
from appliance.emrtd.lds.displayed_images import DisplayedImages

TAG: Final = 0x67
IMAGE_TAG: Final = 0x5F43
Dg7 = DisplayedImages


def parse(data: bytes) -> Dg7:
    return displayed_images.parse(data, TAG, IMAGE_TAG, "DG7")


def encode(model: Dg7) -> bytes:
    return displayed_images.encode(model, TAG, IMAGE_TAG)

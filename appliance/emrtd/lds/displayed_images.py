"""Displayed image data groups (ICAO 9303-10 §4.7.5-4.7.7): DG5 portrait (5F40) and DG7
signature or usual mark (5F43), each a count (02) and that many JPEG / JPEG 2000 images."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.lds.images import ImageFormat, detect_format
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError

_COUNT_TAG = 0x02


@dataclass(frozen=True, repr=False)  # images of the holder stay out of logs
class DisplayedImages:
    images: tuple[bytes, ...]

    @property
    def formats(self) -> tuple[ImageFormat, ...]:
        return tuple(detect_format(image) for image in self.images)


def parse(data: bytes, outer_tag: int, image_tag: int, what: str) -> DisplayedImages:
    items = tlv.parse_all(tlv.parse_exact(data, outer_tag, what).value)
    if not items or items[0].tag != _COUNT_TAG or len(items[0].value) != 1:
        raise LdsError(f"{what}: image count (02) missing")
    images = items[1:]
    if not images or items[0].value[0] != len(images):
        raise LdsError(f"{what}: image count does not match the images")
    if any(item.tag != image_tag for item in images):
        raise LdsError(f"{what}: unexpected element")
    for item in images:
        detect_format(item.value)
    return DisplayedImages(tuple(item.value for item in images))


def encode(model: DisplayedImages, outer_tag: int, image_tag: int) -> bytes:
    body = tlv.encode(_COUNT_TAG, bytes([len(model.images)]))
    body += b"".join(tlv.encode(image_tag, image) for image in model.images)
    return tlv.encode(outer_tag, body)

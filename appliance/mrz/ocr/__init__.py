"""MRZ reading from camera and scanner images with an ONNX glyph classifier trained in this repo.

Pipeline: `localize` (find 2-3 parallel MRZ lines) -> `strip` (each line upright, its ink and
text band) -> `lines` (the lines cut to a common extent) -> `segment` (pitch grid, glyph cells)
-> `recognizer` (onnxruntime) -> `decode` (per-position alphabets, check-digit
repair, verdict) -> `reader.MrzImageReader`; `fusion.FrameFuser` votes across camera frames.
"""

from appliance.mrz.ocr.fusion import FrameFuser, read_until_confident
from appliance.mrz.ocr.reader import MrzImageReader, MrzRead

__all__ = ["FrameFuser", "MrzImageReader", "MrzRead", "read_until_confident"]

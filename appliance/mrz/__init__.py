"""Machine-readable zones (ICAO 9303): parse and validate every format, derive BAC/PACE keys.

Importing this package stays light (no OpenCV, no onnxruntime): the chip reader and the DG1
parser use `parse_mrz` without paying for the OCR in `appliance.mrz.ocr`.
"""

from appliance.mrz.formats import Alphabet, MrzFormat, position_alphabet
from appliance.mrz.parse import MrzFields, MrzIssue, MrzResult, parse_mrz

__all__ = [
    "Alphabet",
    "MrzFields",
    "MrzFormat",
    "MrzIssue",
    "MrzResult",
    "parse_mrz",
    "position_alphabet",
]

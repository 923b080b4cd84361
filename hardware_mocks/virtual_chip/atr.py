"""What the chip says about itself before any command: the ATR and EF.ATR/INFO.

Both announce (or not) extended length, which is how a terminal learns it may send APDUs of
more than 261 bytes and read a data group in a few large chunks instead of many small ones.
"""

from __future__ import annotations

from appliance.emrtd.protocol import tlv

#: ISO 7816-4 §8.1.1.2.7 card capabilities: DF selection by full name and by file identifier,
#: data unit one byte (first two bytes), then b8 command chaining and b7 extended Lc/Le
_SELECTION_METHODS = 0xA0
_DATA_CODING = 0x21
_COMMAND_CHAINING = 0x80
_EXTENDED_LENGTH = 0x40


def card_capabilities(extended_length: bool) -> bytes:
    third = _COMMAND_CHAINING | (_EXTENDED_LENGTH if extended_length else 0)
    return bytes([_SELECTION_METHODS, _DATA_CODING, third])


def build_atr(extended_length: bool) -> bytes:
    """ATR as a PC/SC reader builds it for a contactless card (PC/SC part 3, §3.1.3.2.3.1):
    3B 8n 80 01, historical bytes (category 80, card capabilities in compact TLV 73), TCK."""
    historical = bytes([0x80, 0x73]) + card_capabilities(extended_length)
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return bytes([0x3B]) + body + bytes([tck])


def build_atr_info(extended_length: bool, max_response: int) -> bytes:
    """EF.ATR/INFO (ISO 7816-4 §8.2.1.1): card capabilities (47) and, when extended length is
    announced, the extended length information (7F66: largest command and response)."""
    content = tlv.encode(0x47, card_capabilities(extended_length))
    if extended_length:
        sizes = tlv.encode(0x02, (0xFFFF).to_bytes(2, "big")) + tlv.encode(
            0x02, min(0xFFFF, max_response).to_bytes(2, "big")
        )
        content += tlv.encode(0x7F66, sizes)
    return content

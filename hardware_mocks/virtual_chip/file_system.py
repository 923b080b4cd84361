"""The chip's file system: the master file and the eMRTD application, SELECT and READ BINARY.

ISO/IEC 7816-4 §7.1-7.2 as ICAO 9303-10 §4 uses it: SELECT by AID, by FID, or the MF (P2 0C
for no answer, 00/04 for FCI/FCP); READ BINARY with the offset in P1-P2, or a short EF
identifier in P1 (b8 set) and the offset in P2; READ BINARY with odd INS (B1) and the offset in
DO'54, answering in DO'53, for offsets beyond 32767. Reading past the end of a file gives the
bytes left and 6282 (or 6Cxx, the exact length, on a strict chip); an offset outside it 6B00.
Access rules are the chip's: `readable(in_application, fid)` is asked before any read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from appliance.emrtd.protocol import tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.files import EMRTD_AID, MF_FID
from appliance.errors import LdsError
from hardware_mocks.virtual_chip.status import (
    SW_END_OF_FILE,
    SW_FILE_NOT_FOUND,
    SW_NO_CURRENT_EF,
    SW_OK,
    SW_SECURITY_STATUS,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_OFFSET,
    SW_WRONG_P1P2,
    Response,
)

#: may this file be read now? (in the eMRTD application?, file identifier)
AccessRule = Callable[[bool, int], bool]


def do53_capacity(ne: int) -> int:
    """Most file bytes a DO'53 can carry when the whole DO must fit in Ne bytes."""
    best = 0
    for header, limit in ((2, 0x80), (3, 0x100), (4, 0x10000)):
        best = max(best, min(ne - header, limit - 1))
    return best


class FileSystem:
    """The files and the current selection of one chip session."""

    def __init__(
        self,
        mf: Mapping[int, bytes],
        application: Mapping[int, bytes],
        *,
        max_read_size: int,
        strict_le: bool,
        rejects_le_on_select: bool,
    ) -> None:
        self.mf = dict(mf)
        self.application = dict(application)
        self.max_read_size = max_read_size
        self.strict_le = strict_le
        self.rejects_le_on_select = rejects_le_on_select
        self.reset()

    def reset(self) -> None:
        """After power-on: the MF is selected, no EF is."""
        self.in_application = False
        self.current_ef: int | None = None

    def _files(self) -> dict[int, bytes]:
        return self.application if self.in_application else self.mf

    def select(self, command: CommandApdu) -> Response:
        if command.le is not None and self.rejects_le_on_select:
            return Response.status(SW_WRONG_LENGTH)
        p1, p2 = command.p1, command.p2
        if p2 not in (0x00, 0x04, 0x0C):
            return Response.status(SW_WRONG_P1P2)
        if p1 == 0x04:
            if command.data != EMRTD_AID:
                return Response.status(SW_FILE_NOT_FOUND)
            self.in_application = True
            self.current_ef = None
            fci = tlv.encode(0x6F, tlv.encode(0x84, EMRTD_AID))
            return Response(fci if p2 != 0x0C and command.le else b"", SW_OK)
        if p1 not in (0x00, 0x02):
            return Response.status(SW_WRONG_P1P2)
        if p1 == 0x00 and command.data in (b"", MF_FID.to_bytes(2, "big")):
            self.reset()
            return Response.status(SW_OK)
        if len(command.data) != 2:
            return Response.status(SW_WRONG_DATA)
        fid = int.from_bytes(command.data, "big")
        files = self._files()
        if fid not in files:
            return Response.status(SW_FILE_NOT_FOUND)
        self.current_ef = fid
        if p2 == 0x0C or not command.le:
            return Response.status(SW_OK)
        fcp = tlv.encode(
            0x62,
            tlv.encode(0x80, len(files[fid]).to_bytes(2, "big"))
            + tlv.encode(0x82, b"\x01")
            + tlv.encode(0x83, command.data),
        )
        return Response(fcp, SW_OK)

    def read_binary(self, command: CommandApdu, readable: AccessRule) -> Response:
        """READ BINARY (B0): P1 b8 set = short EF identifier in P1 b5-b1, offset in P2."""
        if command.p1 & 0x80:
            if command.p1 & 0x60:
                return Response.status(SW_WRONG_P1P2)
            sfi = command.p1 & 0x1F
            fid = next((f for f in self._files() if f & 0x1F == sfi), None)
            if fid is None:
                return Response.status(SW_FILE_NOT_FOUND)
            self.current_ef = fid
            offset = command.p2
        else:
            if self.current_ef is None:
                return Response.status(SW_NO_CURRENT_EF)
            offset = (command.p1 << 8) | command.p2
        if command.le is None:
            return Response.status(SW_WRONG_LENGTH)
        return self._read(self.current_ef, offset, command.le, readable, wrap=False)

    def read_binary_odd(self, command: CommandApdu, readable: AccessRule) -> Response:
        """READ BINARY (B1): P1-P2 a FID (0000: the current EF), offset in DO'54."""
        file_id = (command.p1 << 8) | command.p2
        if file_id:
            if file_id not in self._files():
                return Response.status(SW_FILE_NOT_FOUND)
            self.current_ef = file_id
        if self.current_ef is None:
            return Response.status(SW_NO_CURRENT_EF)
        try:
            offset_do = tlv.parse_one(command.data)
        except LdsError:
            return Response.status(SW_WRONG_DATA)
        if offset_do.tag != 0x54 or not 1 <= len(offset_do.value) <= 3:
            return Response.status(SW_WRONG_DATA)
        if offset_do.size != len(command.data) or command.le is None:
            return Response.status(SW_WRONG_LENGTH)
        offset = int.from_bytes(offset_do.value, "big")
        return self._read(self.current_ef, offset, command.le, readable, wrap=True)

    def _read(
        self, fid: int, offset: int, ne: int, readable: AccessRule, *, wrap: bool
    ) -> Response:
        if not readable(self.in_application, fid):
            return Response.status(SW_SECURITY_STATUS)
        if ne > self.max_read_size:
            return Response.status(SW_WRONG_LENGTH)
        content = self._files()[fid]
        if offset >= len(content):
            return Response.status(SW_WRONG_OFFSET)
        available = len(content) - offset
        room = do53_capacity(ne) if wrap else ne
        if room > available and self.strict_le:
            exact = len(tlv.encode(0x53, bytes(available))) if wrap else available
            if exact < 256:
                return Response.status(0x6C00 | exact)
        chunk = content[offset : offset + min(room, available)]
        data = tlv.encode(0x53, chunk) if wrap else chunk
        return Response(data, SW_END_OF_FILE if room > available else SW_OK)

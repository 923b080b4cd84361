"""Reading elementary files from a chip, whatever the card's quirks (ICAO 9303-10 §4, 7816-4).

The first bytes tell the TLV length, then chunked READ BINARY: a short EF identifier in P1 for
the first read (SELECT by FID when a card rejects short EF identifiers), odd INS B1 with DO'54
for offsets beyond 32767, the read size stepping down the ladder when the card refuses it, and
extended length only when EF.ATR/INFO (or the ATR) announces it and the reader carries it.

`FileReader` sends through the callable it is given, so the same code reads in plain before
access control and under Secure Messaging after it: `session.ChipSession` owns one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from appliance.emrtd.protocol import files, tlv
from appliance.emrtd.protocol.apdu import (
    SW_END_OF_FILE,
    SW_OK,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    ApduError,
    CommandApdu,
    ResponseApdu,
)
from appliance.emrtd.protocol.files import ElementaryFile
from appliance.errors import ApplianceError, LdsError, Reason

#: read sizes tried in turn when a card refuses a READ BINARY length (6700, 6Cxx)
_READ_SIZE_LADDER = (0xDF, 0xA0, 0x80, 0x68, 0x40, 0x20, 0x10)
#: SW answers that mean "this card does not take a short EF identifier in P1"
_SFI_REFUSED = (0x6A86, 0x6B00, 0x6D00, 0x6A81, 0x6986, 0x6981, 0x6A00)
#: bytes of SM overhead around READ BINARY data in a response: 87 82 LL LL 01 | 99 02 SW | 8E 08
_SM_RESPONSE_OVERHEAD = 5 + 4 + 10 + 2
#: response buffer assumed when a card announces extended length without saying how much
_UNSIZED_EXTENDED_RESPONSE = 1024
#: bytes read first to learn a file's length (tag, and a length of up to 0x82 LL LL)
_FIRST_READ = 4
#: largest DO'53 header around READ BINARY (B1) data: 53 82 LL LL
_DO53_HEADER = 4
#: LDS files that need Terminal Authentication (EAC): not attempted
_EAC_PROTECTED = ("DG3", "DG4")


@dataclass
class FileRead:
    """What reading every file gave: contents by dump name, and why the others are missing."""

    contents: dict[str, bytes] = field(default_factory=dict)
    #: dump name -> reason code (CHIP_FILE_NOT_FOUND, CHIP_ACCESS_DENIED)
    unavailable: dict[str, str] = field(default_factory=dict)
    #: DG3/DG4 as EF.COM lists them: left for Terminal Authentication (`ChipSession`)
    eac_protected: list[ElementaryFile] = field(default_factory=list)


@contextmanager
def timed(timings_ms: dict[str, float], step: str) -> Iterator[None]:
    """Add the time spent in the block to `timings_ms[step]` (milliseconds)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = (time.perf_counter() - start) * 1000
        timings_ms[step] = round(timings_ms.get(step, 0.0) + elapsed, 3)


class FileReader:
    """Reads whole files of one chip through `transmit`, learning the card's limits as it goes.

    `timings_ms` is shared with the session so one report lists every step.
    """

    def __init__(
        self,
        transmit: Callable[[CommandApdu], ResponseApdu],
        timings_ms: dict[str, float],
        *,
        max_read_size: int = 0xDF,
        short_ef_ids: bool = True,
        probe_length: bool = False,
    ) -> None:
        self._transmit = transmit
        self.timings_ms = timings_ms
        self.bytes_read = 0
        self._probe_length = probe_length
        self._read_size = min(max_read_size, 0xDF)
        self._extended_read_size: int | None = None
        self._sfi_ok = short_ef_ids
        self._cache: dict[str, bytes] = {}

    def learn_extended_length(self, atr: bytes | None) -> None:
        """Use extended length only when the card announces it (ISO/IEC 7816-4 §8.1.1.2.7).

        EF.ATR/INFO may carry DO'7F66 with the card's buffer sizes: reads are sized to fit
        them. A card-capabilities announcement without sizes (DO'47 in EF.ATR/INFO, or
        compact-TLV tag 7 in the ATR's historical bytes) gets a modest extended read size.
        """
        data = self.read_plain_optional(files.EF_ATR_INFO) or b""
        max_response: int | None = None
        capabilities: bytes | None = None
        try:
            info = tlv.find(data, 0x7F66) if data else None
            if info is not None:
                limits = [item.value for item in info.children() if item.tag == 0x02]
                if len(limits) >= 2:
                    max_response = int.from_bytes(limits[1], "big")
            caps = tlv.find(data, 0x47) if data else None
            capabilities = caps.value if caps is not None else None
        except LdsError:
            pass
        if capabilities is None and atr is not None:
            capabilities = card_capabilities_from_atr(atr)
        if max_response is None:
            if capabilities is None or len(capabilities) < 3 or not capabilities[2] & 0x40:
                return
            max_response = _UNSIZED_EXTENDED_RESPONSE
        max_data = ((max_response - _SM_RESPONSE_OVERHEAD) // 16) * 16 - 1
        if max_data > 0xFF:
            self._extended_read_size = min(max_data, 0xFFFF)

    def read_plain_optional(self, ef: ElementaryFile) -> bytes | None:
        """A file of the MF read before access control; None when absent or refused."""
        try:
            return self.read_file(ef)
        except ApplianceError as exc:
            if exc.reason in (Reason.CHIP_REMOVED, Reason.CHIP_NOT_PRESENT):
                raise
            return None

    def read_optional(self, ef: ElementaryFile) -> bytes | None:
        """The file's content, None when the chip lacks or refuses it (a broken SM raises)."""
        try:
            return self.read_file(ef)
        except ApduError as exc:
            if exc.reason is Reason.SM_PROTOCOL:
                raise
            return None
        except LdsError:
            return None  # malformed: `read_all` records it when it reads the file for the dump

    def cached(self, ef: ElementaryFile) -> bytes | None:
        """The file's content when this session already read it."""
        return self._cache.get(ef.dump_name)

    def read_file(self, ef: ElementaryFile) -> bytes:
        """The whole content of `ef` (cached for the session)."""
        if ef.dump_name in self._cache:
            return self._cache[ef.dump_name]
        with timed(self.timings_ms, f"read {ef.name}"):
            data = self._read(ef)
        self._cache[ef.dump_name] = data
        self.bytes_read += len(data)
        return data

    def _read(self, ef: ElementaryFile) -> bytes:
        probe = ef.is_single_tlv and self._probe_length
        # A whole first chunk may run past a short file: a 6Cxx then tells where it ends.
        data, eof = self._read_first(ef, _FIRST_READ if probe else self._chunk_size(), not probe)
        if not ef.is_single_tlv:
            while not eof:
                chunk, eof = self._read_at(len(data), self._chunk_size(), final=True)
                data += chunk
                eof = eof or not chunk
            return data
        while True:
            try:
                header, length = tlv.header_size(data)
                break
            except LdsError:
                if eof or len(data) >= 6:
                    raise LdsError(f"{ef.name}: unreadable TLV header") from None
                chunk, eof = self._read_at(len(data), 6 - len(data))
                data += chunk
        total = header + length
        while len(data) < total:
            # beyond 32767 the data comes wrapped in DO'53: leave room for its header
            wanted = total - len(data) + (_DO53_HEADER if len(data) > 0x7FFF else 0)
            size = min(self._chunk_size(), wanted)
            chunk, eof = self._read_at(len(data), size, final=size == wanted)
            if not chunk:
                raise LdsError(f"{ef.name}: file ends before its TLV does")
            data += chunk
        return data[:total]

    def _chunk_size(self) -> int:
        return self._extended_read_size or self._read_size

    def _read_first(self, ef: ElementaryFile, size: int, final: bool) -> tuple[bytes, bool]:
        """First READ BINARY: by short EF identifier when the card takes it, else SELECT first."""
        if self._sfi_ok:
            try:
                return self._read_at(0, size, sfi=ef.sfi, final=final)
            except ApduError as exc:
                if exc.sw not in _SFI_REFUSED:
                    raise
            self._sfi_ok = False
        select = CommandApdu(0x00, 0xA4, 0x02, 0x0C, ef.fid_bytes)
        self._transmit(select).check(f"SELECT {ef.name}")
        return self._read_at(0, size, final=final)

    def _read_at(
        self, offset: int, size: int, sfi: int | None = None, final: bool = False
    ) -> tuple[bytes, bool]:
        """READ BINARY at `offset` of the current EF, or of EF `sfi` (which becomes current).

        `final`: this read should reach the end of the file, so a 6Cxx asking for less says
        where the file ends rather than what the card can send. Returns (data, end reached).
        """
        while True:
            if sfi is not None:
                command = CommandApdu(0x00, 0xB0, 0x80 | sfi, offset, le=size)
            elif offset <= 0x7FFF:
                command = CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, le=size)
            else:
                offset_do = tlv.encode(0x54, offset.to_bytes((offset.bit_length() + 7) // 8, "big"))
                command = CommandApdu(0x00, 0xB1, 0x00, 0x00, offset_do, le=size)
            response = self._transmit(command)
            smaller = self._smaller_size(response.sw, size, final)
            if smaller is None:
                break
            size = smaller
        if response.sw in _SFI_REFUSED and sfi is not None:
            raise ApduError(response.sw, "READ BINARY")
        data, eof = self._read_result(response, size, "READ BINARY")
        if command.ins == 0xB1 and data:
            try:
                wrapped = tlv.parse_one(data)
            except LdsError:
                raise LdsError("READ BINARY (B1) answer is not a DO'53") from None
            if wrapped.tag != 0x53:
                raise LdsError("READ BINARY (B1) answer is not a DO'53")
            data = wrapped.value
        return data, eof

    def _smaller_size(self, sw: int, size: int, final: bool) -> int | None:
        """The next read size after a refusal of `size`, or None when the answer is no refusal."""
        if sw >> 8 == 0x6C and 0 < (sw & 0xFF) < size:
            exact = sw & 0xFF
            if final:
                return exact  # the file ends there: no lesson about the card's read size
        elif sw == SW_WRONG_LENGTH:
            lower = [s for s in _READ_SIZE_LADDER if s < size]
            if not lower:
                raise ApduError(sw, "READ BINARY")
            exact = lower[0]
        else:
            return None
        # The card's limit holds for the rest of the session.
        self._extended_read_size = None
        self._read_size = min(self._read_size, exact)
        return exact

    @staticmethod
    def _read_result(response: ResponseApdu, size: int, command_name: str) -> tuple[bytes, bool]:
        if response.sw == SW_OK:
            return response.data, len(response.data) < size
        if response.sw in (SW_END_OF_FILE, SW_WRONG_P1P2):
            return response.data, True
        raise ApduError(response.sw, command_name)

    def read_all(
        self,
        already_read: dict[str, bytes],
        before_data_groups: Callable[[list[int]], None] | None = None,
    ) -> FileRead:
        """EF.COM, every data group it lists (but the EAC-protected DG3/DG4), and EF.SOD.

        `already_read` (the MF files the session read during access) leads the contents;
        `before_data_groups` gets the numbers of the data groups about to be read, once EF.COM
        named them (the session proves the chip genuine there, before the bulk of the reads).
        """
        result = FileRead(contents=dict(already_read))
        com = self._read_into(result, files.EF_COM)
        listed = _com_data_groups(com) if com is not None else None
        if listed is None:
            # no usable EF.COM: try the data groups a passport commonly carries
            listed = [files.data_group(n) for n in (1, 2, 5, 7, 11, 12, 13, 14, 15, 16)]
        wanted = [ef for ef in listed if ef.name not in _EAC_PROTECTED]
        result.eac_protected = [ef for ef in listed if ef.name in _EAC_PROTECTED]
        if before_data_groups is not None:
            before_data_groups([files.DATA_GROUPS.index(ef) + 1 for ef in wanted])
        for ef in wanted:
            self._read_into(result, ef)
        self._read_into(result, files.EF_SOD)
        return result

    def read_into(self, result: FileRead, ef: ElementaryFile) -> bytes | None:
        """Read `ef` into `result`, or note in it why not (a broken SM session raises)."""
        return self._read_into(result, ef)

    def _read_into(self, result: FileRead, ef: ElementaryFile) -> bytes | None:
        try:
            data = self.read_file(ef)
        except ApduError as exc:
            # The card refused this file (absent, access conditions, unsupported): note why and
            # go on; a broken SM session (6987/6988) ends the read.
            if exc.reason is Reason.SM_PROTOCOL:
                raise
            result.unavailable[ef.dump_name] = exc.reason.value
            return None
        except LdsError as exc:
            # A malformed file (empty, truncated TLV) fails its own checks, not the whole read:
            # the report still shows the access, DG1 and which file was malformed.
            result.unavailable[ef.dump_name] = exc.reason.value
            return None
        result.contents[ef.dump_name] = data
        return data


def card_capabilities_from_atr(atr: bytes) -> bytes | None:
    """The card capabilities (compact-TLV tag 7) in the ATR's historical bytes, if any.

    ISO/IEC 7816-3 §8.2 locates the historical bytes after the interface bytes; with category
    indicator 80 they are compact-TLV objects (ISO/IEC 7816-4 §8.1.1).
    """
    if len(atr) < 2:
        return None
    count = atr[1] & 0x0F
    pos, indicator = 2, atr[1]
    while True:
        pos += bin(indicator & 0xF0).count("1")
        if not indicator & 0x80 or pos > len(atr):
            break
        indicator = atr[pos - 1]
    historical = atr[pos : pos + count]
    if len(historical) != count or not historical or historical[0] != 0x80:
        return None
    i = 1
    while i < len(historical):
        tag, length = historical[i] >> 4, historical[i] & 0x0F
        value = historical[i + 1 : i + 1 + length]
        if tag == 0x7:
            return value
        i += 1 + length
    return None


def _com_data_groups(com: bytes) -> list[ElementaryFile] | None:
    """The data groups EF.COM's tag list (DO'5C) names, in data group order."""
    try:
        outer = tlv.parse_one(com)
        tags = tlv.find(outer.value, 0x5C) if outer.tag == 0x60 else None
    except LdsError:
        return None
    if tags is None:
        return None
    listed = {files.data_group_for_tag(t) for t in tags.value}
    return [ef for ef in files.DATA_GROUPS if ef in listed]


__all__ = ["FileRead", "FileReader", "card_capabilities_from_atr", "timed"]

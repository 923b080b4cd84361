"""appliance.inputs.read_input_file: a user-named file is read only when it is a regular file
within its size limit; devices, FIFOs and huge files are refused at once, never read."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.inputs import read_input_file


def refused(path: str | Path, limit: int = 1024) -> ApplianceError:
    with pytest.raises(ApplianceError) as err:
        read_input_file(path, limit)
    assert str(path) not in err.value.detail  # a file name may be personal data
    return err.value


def test_a_regular_file_within_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.bin"
    path.write_bytes(b"x" * 1024)
    assert read_input_file(path, 1024) == b"x" * 1024
    assert read_input_file(str(path), 5000) == b"x" * 1024
    (tmp_path / "empty").write_bytes(b"")
    assert read_input_file(tmp_path / "empty", 10) == b""


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1025)
    error = refused(path, 1024)
    assert error.reason is Reason.FILE_TOO_LARGE and "1024" in error.detail


def test_a_file_reporting_size_zero_is_still_bounded_while_read() -> None:
    status = Path("/proc/self/status")  # st_size 0, content > 100 bytes
    assert status.stat().st_size == 0
    assert refused(status, 100).reason is Reason.FILE_TOO_LARGE
    assert read_input_file(status, 1 << 20).startswith(b"Name:")


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    error = refused(fifo)
    assert error.reason is Reason.FILE_NOT_REGULAR and "FIFO" in error.detail


@pytest.mark.timeout(10)
def test_dev_zero_is_refused_not_read() -> None:
    error = refused("/dev/zero")
    assert error.reason is Reason.FILE_NOT_REGULAR and "character device" in error.detail


def test_a_directory_and_a_socket_are_refused(tmp_path: Path) -> None:
    assert refused(tmp_path).reason is Reason.FILE_NOT_REGULAR
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        assert refused(tmp_path / "s").reason is Reason.FILE_UNREADABLE  # sockets do not open


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "photo.jpg"
    link.symlink_to("/dev/zero")
    assert refused(link).reason is Reason.FILE_NOT_REGULAR


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    error = refused(tmp_path / "missing.png")
    assert error.reason is Reason.FILE_UNREADABLE and "No such file" in error.detail

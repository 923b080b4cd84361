"""appliance/files.py: the one writer of private files (keys, signed artefacts, chip dumps)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.emrtd.document import ChipDocument, save_dump
from appliance.files import private_dir, write_private


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_is_0600_whatever_the_umask_and_leaves_no_temporary(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "key", b"secret")
    finally:
        os.umask(old)
    assert (tmp_path / "key").read_bytes() == b"secret"
    assert _mode(tmp_path / "key") == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_write_private_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert _mode(path) == 0o600


def test_exclusive_write_refuses_an_existing_file_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "key"
    write_private(path, b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(path, b"second", exclusive=True)
    assert path.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_a_failed_rename_keeps_the_old_content_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "watchlist.json"
    write_private(path, b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_private(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["watchlist.json"]


def test_private_dir_is_0700(tmp_path: Path) -> None:
    assert _mode(private_dir(tmp_path / "a" / "keys")) == 0o700


def test_a_chip_dump_over_an_old_readable_dump_is_private(tmp_path: Path) -> None:
    """Personal data: rewriting a dump whose files others could read makes them 0600."""
    (tmp_path / "DG1.bin").write_bytes(b"old")
    (tmp_path / "DG1.bin").chmod(0o644)
    written = save_dump(
        ChipDocument(files={"DG1.bin": b"\x61\x00", "EF_COM.bin": b"\x60\x00"}), tmp_path
    )
    assert [p.name for p in written] == ["DG1.bin", "EF_COM.bin"]
    assert (tmp_path / "DG1.bin").read_bytes() == b"\x61\x00"
    assert {_mode(p) for p in written} == {0o600}

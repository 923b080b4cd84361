"""`benchmarks/iris.py`: the figures the issue asks for, on a small synthetic set and on a
DIR of one folder per eye."""

from __future__ import annotations

from pathlib import Path

from benchmarks.iris import run
from hardware_mocks.iris_synth import write_dataset

KEYS = {
    "eer",
    "fnmr_at_fmr_0.001",
    "fnmr_at_fmr_0.0001",
    "threshold_at_fmr_0.001",
    "genuine_pairs",
    "impostor_pairs",
    "fta",
    "latency_ms",
    "matches_per_second",
    "impostor_hd_raw",
}


def test_benchmark_reports_every_figure(tmp_path: Path) -> None:
    write_dataset(tmp_path, identities=4, captures=3)
    report = run(tmp_path, identities=0, captures=0, gallery_size=2000)
    assert set(report) >= KEYS
    assert report["eyes"] == 4 and report["images"] == 12
    assert report["genuine_pairs"] + report["impostor_pairs"] > 0  # type: ignore[operator]
    assert report["eer"] == 0.0  # four clean synthetic eyes separate completely
    latency = report["latency_ms"]
    assert isinstance(latency, dict) and {"encode", "match"} <= set(latency)
    raw = report["impostor_hd_raw"]
    assert isinstance(raw, dict) and 0.45 < raw["mean"] < 0.55 and raw["degrees_of_freedom"] > 0

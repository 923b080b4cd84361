"""Run PassportEye on image files; one JSON line per image (runs in the benchmark's own venv).

Usage: /work/venvs/bench/bin/python benchmarks/passporteye_runner.py IMAGE...
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from passporteye import read_mrz

    for path in sys.argv[1:]:
        started = time.perf_counter()
        try:
            mrz = read_mrz(path)
            raw = mrz.to_dict().get("raw_text") if mrz is not None else None
            lines = [line for line in raw.split("\n") if line] if raw else None
            valid = bool(mrz.valid) if mrz is not None else False
            error = None
        except Exception as exc:  # a crash on one image is a miss, not the end of the run
            lines, valid, error = None, False, type(exc).__name__
        elapsed = (time.perf_counter() - started) * 1000
        print(
            json.dumps(
                {"image": path, "lines": lines, "valid": valid, "ms": elapsed, "error": error}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

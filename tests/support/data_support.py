"""Where the tests' real data lives: tests/data, inside the repository (sources and licences
in tests/data/SOURCES.md), so a fresh clone runs its suite with nothing beside it."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
#: ICAO Doc 9303 Part 11 worked examples (BAC, PACE GM/IM/CAM), values as upper-case hex
ICAO_VECTORS = DATA / "vectors" / "icao9303-part11.json"
#: real EF.SOD / EF.CardSecurity files of nine countries' documents
REAL_SOD = DATA / "emrtd" / "real-sod"
#: the German CSCA master list as published by the BSI
MASTER_LIST = DATA / "emrtd" / "DE_masterlist_2026-05-28.ml"
#: one folder of photos per person
FACES = DATA / "faces"
#: public barcode specimens: BSI TR-03137 seals, IATA Resolution 792 boarding passes, C40 examples
BARCODE_SPECIMENS = DATA / "barcodes" / "specimens.json"
#: real specimen MRZ images (PassportEye's test data) and their printed lines, truth.jsonl
MRZ_REAL = DATA / "mrz-real"

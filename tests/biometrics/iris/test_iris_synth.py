"""The synthetic iris generator: one seed, one iris; captures vary; seeds differ."""

from __future__ import annotations

import numpy as np

from hardware_mocks.iris_synth import IrisSynth, write_dataset


def test_same_seed_same_iris_and_captures_vary() -> None:
    a, b = IrisSynth(5), IrisSynth(5)
    assert (a.texture == b.texture).all()
    first, t1 = a.capture(0)
    again, _ = b.capture(0)
    other, t2 = a.capture(1)
    assert (first == again).all()  # reproducible
    assert not (first == other).all()
    assert t1.rotation_deg != t2.rotation_deg


def test_different_seeds_different_textures() -> None:
    a, b = IrisSynth(1).texture, IrisSynth(2).texture
    assert abs(float(np.corrcoef(a.ravel(), b.ravel())[0, 1])) < 0.2


def test_dataset_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    write_dataset(tmp_path, identities=2, captures=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eye-000", "eye-001"]
    assert len(list((tmp_path / "eye-001").glob("*.png"))) == 2

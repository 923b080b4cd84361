"""Test configs: the shipped simulated config (`config/simulated.toml`) with a few overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from appliance.config import SIMULATED_CONFIG


def simulated_config(path: Path, **sections: dict[str, Any]) -> Path:
    """Write the simulated config with `sections` merged in (e.g. hardware={...}) to `path`."""
    config = tomllib.loads(SIMULATED_CONFIG.read_text())
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    path.write_text(tomli_w.dumps(config))
    return path

"""ICAO 9303 LDS files: one module per structure, each with `parse` and `encode`."""

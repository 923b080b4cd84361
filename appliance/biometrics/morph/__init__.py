"""Morphing attack detection: differential (chip photo vs live capture) and single-image."""

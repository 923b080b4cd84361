"""Face verification: detect, align, check quality, embed, compare, liveness."""

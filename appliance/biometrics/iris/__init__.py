"""On-device iris recognition: Daugman-style iris codes from near-infrared eye images.

Sans-I/O: grayscale arrays in, bit-packed templates and scores out (the CLI in `commands.py`
and the encrypted gallery in `gallery.py` are the only modules that touch files).

Pipeline (`pipeline.encode_eye`): specular reflections filled -> pupil and limbus circles by
Daugman's integro-differential operator, coarse to fine, each with its own centre
(`segment.py`) -> eyelids (parabolic arcs found by the same operator), eyelash and reflection
masks (`masks.py`) -> Daugman's rubber sheet, 64 x 512 (`normalize.py`) -> 1-D log-Gabor phase
along the angle, 2 bits per sample, 8 x 128 samples = 2048 bits with a noise mask, packed in
uint64 words (`encode.py`) -> masked fractional Hamming distance, minimum over circular shifts,
Daugman's normalisation for the bits compared (`match.py`, 1:1 and vectorised 1:N).
Quality (`quality.py`): usable iris area, pupil/iris ratio, iris radius, focus (Daugman's 8 x 8
kernel), eyelid occlusion, each failing measure with the instruction for a new capture.
"""

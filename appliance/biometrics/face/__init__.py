"""On-device face verification against the chip (DG2) photo.

Entry points (imported from their modules, so importing this package stays cheap):

* `verifier.FaceVerifier.load(operating_point).verify(dg2_image_bytes, live_frames, liveness)`
  -> `FaceResult{status, reason, score, threshold, quality, instruction, timings_ms}`
* `capture.capture_and_verify(camera, verifier, dg2_image_bytes, ChallengeSession(), show)`:
  the kiosk step over the `Camera` port, with head-turn liveness
* `liveness.ChallengeSession`: sans-I/O challenge-response presentation attack detection

Pipeline: decode (JPEG / JPEG 2000) -> BlazeFace detection (ONNX) -> alignment to the
embedder's chip -> ISO/IEC 29794-5-style quality gate -> ResNet-34 embedding (ONNX) -> cosine
score -> decision at the manifest's calibrated threshold for the configured FMR.
"""

"""Spoken prompts for travellers who cannot read the kiosk: espeak-ng says the screen's text.

    wav = spoken(kiosk_dir, "fr", "result-open")        # WAV bytes, cached per (language, screen)

The words are the kiosk's own catalogues (`kiosk_ui/i18n/`), so what is said is what is shown,
in the same language; espeak-ng (Debian's `espeak-ng`) renders them on the device, offline.
Only screen names and language codes come in: nothing a traveller typed or carried is spoken.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from appliance.errors import ApplianceError, Reason

#: the kiosk's languages and espeak-ng's voice for each
VOICES = {"en": "en-gb", "fr": "fr-fr", "de": "de", "es": "es", "ar": "ar", "zh": "cmn"}

#: what is said on each screen (catalogue keys, in order)
SPOKEN = {
    "idle": ("idle.title", "idle.body", "idle.hint"),
    "place-document": ("place.title", "place.body", "place.hint"),
    "reading": ("reading.title", "reading.body"),
    "remove-document": ("remove.title", "remove.body"),
    "face-capture": ("face.title", "face.body"),
    "liveness-turn_head_left": ("liveness.turn_head_left",),
    "liveness-turn_head_right": ("liveness.turn_head_right",),
    "processing": ("processing.title", "processing.body"),
    "result-open": ("open.title", "open.body"),
    "result-refer": ("refer.title", "refer.body"),
    "unreadable": ("unreadable.title", "unreadable.body"),
    "tailgating": ("tailgating.title", "tailgating.body"),
    "timeout": ("timeout.title", "timeout.body"),
    "out-of-service": ("oos.title", "oos.body"),
}

#: words per minute: slower than espeak-ng's 175, for a noisy hall and non-native listeners
RATE_WPM = 150


def text_for(directory: Path, lang: str, prompt: str) -> str:
    """The words of `prompt` in `lang` (USAGE for a language or prompt the kiosk lacks)."""
    if lang not in VOICES:
        raise ApplianceError(Reason.USAGE, f"no spoken prompts in {lang[:8]!r}")
    if prompt not in SPOKEN:
        raise ApplianceError(Reason.USAGE, f"no spoken prompt {prompt[:40]!r}")
    catalogue = json.loads((directory / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    return " ".join(catalogue[key] for key in SPOKEN[prompt])


@lru_cache(maxsize=128)
def spoken(directory: Path, lang: str, prompt: str) -> bytes:
    """The prompt as WAV audio (`SPEECH_UNAVAILABLE` without a working espeak-ng)."""
    text = text_for(directory, lang, prompt)
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise ApplianceError(Reason.SPEECH_UNAVAILABLE, "espeak-ng is not installed")
    try:
        done = subprocess.run(
            [espeak, "-v", VOICES[lang], "-s", str(RATE_WPM), "--stdout", text],
            capture_output=True,
            timeout=15,
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise ApplianceError(Reason.SPEECH_UNAVAILABLE, type(exc).__name__) from exc
    if not done.stdout.startswith(b"RIFF"):
        raise ApplianceError(Reason.SPEECH_UNAVAILABLE, "espeak-ng gave no WAV")
    return done.stdout

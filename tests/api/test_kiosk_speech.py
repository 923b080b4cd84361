"""The kiosk's spoken prompts (appliance/api/kiosk_speech.py): the screen's own catalogue words,
in its language, rendered by espeak-ng; nothing else can be made to speak."""

from __future__ import annotations

import os
import shutil

import pytest

from appliance.api.kiosk import kiosk_dir
from appliance.api.kiosk_speech import SPOKEN, VOICES, spoken, text_for
from appliance.api.kiosk_view import SCREENS
from appliance.errors import ApplianceError, Reason

KIOSK = kiosk_dir()
assert KIOSK is not None


def test_the_words_are_the_screens_own() -> None:
    assert text_for(KIOSK, "fr", "result-open") == "Porte ouverte Veuillez avancer."
    assert text_for(KIOSK, "ar", "result-refer").startswith("يرجى مراجعة الموظف")
    every = {s for s in SCREENS if s != "liveness"}
    assert every <= set(SPOKEN) and set(VOICES) == {"en", "fr", "de", "es", "ar", "zh"}


@pytest.mark.parametrize(("lang", "prompt"), [("xx", "idle"), ("en", "$(reboot)"), ("en", "")])
def test_only_known_prompts_in_known_languages(lang: str, prompt: str) -> None:
    with pytest.raises(ApplianceError) as caught:
        text_for(KIOSK, lang, prompt)
    assert caught.value.reason is Reason.USAGE


def test_espeak_ng_renders_wav() -> None:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI") or os.environ.get("APPLIANCE_TESTS_NEED_PCSC"):
            pytest.fail("espeak-ng missing (scripts/setup.sh installs it)")
        pytest.skip("espeak-ng missing")
    for lang in VOICES:
        audio = spoken(KIOSK, lang, "result-open")
        assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE" and len(audio) > 8000, lang

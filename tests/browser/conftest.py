"""The session's headless Chromium for the browser tests (tests/support/browser_support.py)."""

from tests.support.browser_support import browser

__all__ = ["browser"]

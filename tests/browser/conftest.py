"""The real-browser tests' shared fixture (helpers in ``browser_helpers.py``)."""

from __future__ import annotations

import pytest
from browser_helpers import CHROMIUM, require_browser


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Playwright's ``Browser``)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        except Exception as exc:  # a browser that cannot start here: say why in one line
            pytest.skip(f"{CHROMIUM} does not start: {str(exc).splitlines()[0][:150]}")
        yield b
        b.close()

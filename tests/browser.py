"""The system's Chromium, driven headless through a subprocess (tests/test_report.py, docs/make_gallery.py).

No driver and no browser download: the ``chromium`` the system installed (``apt-get install -y chromium``;
``.ci/run`` installs it in CI). Every call gets a fresh profile, no background networking, and a proxy on
127.0.0.1 that refuses, so a page that tried to load anything from the network would show it broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Names the browser goes by (Debian: chromium; Ubuntu's older packages: chromium-browser).
NAMES = ("chromium", "chromium-browser")
#: Seconds a page may take before the browser is stopped (a hang, not a measurement).
TIMEOUT = 120
#: Milliseconds of page time granted for the load event and its script (virtual time: no waiting).
VIRTUAL_TIME = 5000

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         "--disable-extensions", "--disable-sync", "--metrics-recording-only", "--mute-audio",
         "--proxy-server=127.0.0.1:9"]


def find_browser() -> str | None:
    """The path of the system's Chromium, or None."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    """The browser for a test: missing, the test fails under ``CI=true`` and is skipped elsewhere, saying why."""
    import pytest

    found = find_browser()
    if found is None:
        message = ("no Chromium on PATH (looked for " + ", ".join(NAMES) + "): install it with "
                   "'apt-get install -y chromium' to run the report's browser tests")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _run(browser: str, page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="tradesim-chromium-") as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args, Path(page).resolve().as_uri()],
                              capture_output=True, text=True, timeout=TIMEOUT, check=True)


def dump_dom(browser: str, page: Path) -> str:
    """The page's DOM after its load event and scripts ran, as HTML text."""
    return _run(browser, page, "--dump-dom", f"--virtual-time-budget={VIRTUAL_TIME}").stdout


def screenshot(browser: str, page: Path, png: Path, width: int = 1280, height: int = 2400) -> Path:
    """A PNG of the top ``width`` x ``height`` pixels of the page."""
    _run(browser, page, f"--screenshot={Path(png).resolve()}", f"--window-size={width},{height}",
         f"--virtual-time-budget={VIRTUAL_TIME}")
    return Path(png)

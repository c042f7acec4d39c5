"""The HTML brief in a real browser: headless Chromium (Debian's chromium and
chromium-driver, installed by .ci/run) driven by Selenium. It must load with no console
errors and every image rendered; a full-page screenshot is kept as a test artefact.

Outside CI the test skips when Chromium or Selenium is missing; in CI (the `CI` or
`CCSIM_REQUIRE_BROWSER` environment variable set) it fails instead, so it always runs there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_brief import build_small_brief

ARTEFACTS = Path(os.environ.get("CCSIM_TEST_ARTEFACTS", ROOT / "results" / "test-artefacts"))
REQUIRED = bool(os.environ.get("CI") or os.environ.get("CCSIM_REQUIRE_BROWSER"))


def _find(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


def _driver():
    """A headless Chromium with its console log captured, or a skip (a failure in CI)."""
    miss = pytest.fail if REQUIRED else pytest.skip
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        miss("selenium is not installed (pip install -e '.[dev]')")
    browser = _find("chromium", "chromium-browser", "google-chrome")
    driver = _find("chromedriver")
    if not (browser and driver):
        miss("chromium and chromium-driver are not installed (apt-get install -y chromium"
             " chromium-driver; .ci/run does this)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_brief_renders_in_chromium() -> None:
    driver = _driver()
    small_brief_dir = build_small_brief()
    try:
        driver.get((small_brief_dir / "brief.html").resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete,"
            " i.naturalWidth, i.naturalHeight])")
        assert len(images) == 4, images
        broken = [alt for alt, complete, w, h in images if not (complete and w > 0 and h > 0)]
        assert not broken, f"images not rendered: {broken}"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, f"console errors: {errors}"
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1200, min(int(height) + 100, 16000))
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTEFACTS / "brief.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        assert driver.title.startswith("Recommendation 7")
    finally:
        driver.quit()

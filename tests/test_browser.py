"""Every report in a real browser: the run report, the compare report, the calibration report
and the brief, in headless Chromium (Debian's chromium and chromium-driver, installed by
.ci/run) driven by Selenium. Each must load with no console errors, every image rendered and
its opening sentences present; a full-page screenshot of each is kept as a test artefact.

Outside CI the test skips when Chromium or Selenium is missing; in CI (the `CI` or
`CCSIM_REQUIRE_BROWSER` environment variable set) it fails instead, so it always runs there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from sim import api
from tests.conftest import ROOT, small_yaml_in
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


def _check_page(page: Path, name: str, phrases: tuple[str, ...], min_images: int) -> str:
    """Open `page`; no console errors, every image rendered, each phrase in the text (the
    opening sentences); keep a full-page screenshot as `name`.png; return the title."""
    driver = _driver()
    try:
        driver.get(page.resolve().as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete,"
            " i.naturalWidth, i.naturalHeight])")
        assert len(images) >= min_images, images
        broken = [alt for alt, complete, w, h in images if not (complete and w > 0 and h > 0)]
        assert not broken, f"images not rendered: {broken}"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, f"console errors: {errors}"
        text = driver.execute_script("return document.body.innerText")
        missing = [p for p in phrases if p not in text]
        assert not missing, f"{name}: not on the page: {missing}"
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1200, min(int(height) + 100, 16000))
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTEFACTS / f"{name}.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        return str(driver.title)
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def small_yaml(tmp_path_factory) -> Path:
    return small_yaml_in(tmp_path_factory.mktemp("scen"), horizon_years=2, warmup_years=0.5)


@pytest.mark.xdist_group("small_brief")  # made once per worker (tests/test_brief.py)
def test_brief_renders_in_chromium() -> None:
    title = _check_page(build_small_brief() / "brief.html", "brief",
                        ("Recommendation 7", "Goal-seek", "Provenance"), min_images=4)
    assert title.startswith("Recommendation 7")


def test_the_run_report_renders_in_chromium(small_yaml: Path, tmp_path: Path) -> None:
    saved = api.run(small_yaml, reps=3, seed=1, out=tmp_path / "run")
    assert saved.folder is not None
    _check_page(saved.folder / "report.html", "run-report",
                ("This run forecasts", "90% range", "The ranges come from chance alone"),
                min_images=4)


def test_the_compare_report_renders_in_chromium(small_yaml: Path, tmp_path: Path) -> None:
    more = tmp_path / "more.yaml"
    data = yaml.safe_load(small_yaml.read_text())
    data["name"] = "fewer_iopc"
    data["pools"]["iopc"]["staff"] = [{"from": "2000-01-01", "value": 15}]
    more.write_text(yaml.safe_dump(data, sort_keys=False))
    saved = api.compare([small_yaml, more], reps=3, seed=1, out=tmp_path / "cmp")
    assert saved.folder is not None
    _check_page(saved.folder / "report.html", "compare-report",
                ("fewer_iopc against", "95% interval", "by financial year", "worse"),
                min_images=2)


def test_the_calibration_report_renders_in_chromium() -> None:
    _check_page(ROOT / "calibration" / "report.html", "calibration-report",
                ("Predictive coverage", "Priors and posteriors", "Regime change"),
                min_images=2)

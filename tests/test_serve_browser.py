"""The what-if page in a real browser: `ccsim serve` started as a planner starts it, the page
driven in headless Chromium (Selenium, as tests/test_browser.py): it loads, a lever moved
changes the charts and numbers, a lever moved twice in quick succession shows the second
value's answer, the downloaded scenario run with `ccsim run` at the same seed gives the
page's numbers, the console stays clean, and a screenshot and the page's own timings (lever
change to charts drawn) are kept as artefacts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.test_browser import ARTEFACTS, _driver

WAIT_S = 240  # a cold start compiles the engine (about 90 s on 2 cores) before the first answer
#: the page's Replications box set as a planner may set it: each answer's stages are 50 and
#: 100 instead of the default's 50, 200 and 400, a quarter of the simulation
REPS = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "serve", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "api/health", timeout=2) as r:
                    assert json.load(r)["ok"]
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"ccsim serve did not start: {process.stdout.read()}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait(driver, script: str, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    status = driver.execute_script("return document.getElementById('status').textContent")
    pytest.fail(f"timed out waiting for {what}; status: {status}")


def _done_after(driver, count: int) -> None:
    """Wait for a final answer later than the first `count` timings."""
    _wait(driver, f"return window.ccsimTimings.length > {count} &&"
          " window.ccsimTimings.at(-1).status === 'done' &&"
          " document.getElementById('status').dataset.state === 'done'", "the final answer")


def _figures(driver) -> dict[str, dict[str, float]]:
    rows = driver.execute_script("""
        return Array.from(document.querySelectorAll('#figures tbody tr')).map(r => [
            r.dataset.metric, ...Array.from(r.cells).slice(1, 4).map(c => c.dataset.value)]);
    """)
    return {m: {"base": float(b or "nan"), "option": float(o or "nan"),
                "difference": float(d or "nan")} for m, b, o, d in rows}


def _set(driver, control: str, value: str) -> None:
    _type(driver, f"c-{control}", value)


def _type(driver, box_id: str, value: str) -> None:
    """Type `value` into the input `box_id` and let the page see the change."""
    box = driver.find_element("id", box_id)
    box.clear()
    box.send_keys(value)
    driver.execute_script("arguments[0].dispatchEvent(new Event('change', {bubbles: true}))",
                          box)


def test_move_a_lever_and_reproduce_it_with_ccsim_run(server: str, tmp_path: Path) -> None:
    driver = _driver()
    try:
        driver.set_window_size(1400, 1000)
        driver.get(server)
        _wait(driver, "return document.getElementById('reps').value", "the page's setup")
        _type(driver, "reps", str(REPS))  # stops the default's first answer under way
        _done_after(driver, 0)
        assert driver.execute_script("return window.ccsimTimings.at(-1).reps") == REPS
        before = _figures(driver)
        assert before["iopc.open.end"]["difference"] == 0  # the base against itself
        canvases = driver.execute_script("return document.querySelectorAll('#charts canvas')"
                                         ".length")
        assert canvases >= 16  # a fan and a difference chart for each of 8 series
        drawn = int(driver.execute_script("return document.body.dataset.drawn"))

        # move the IOPC lever twice in quick succession: the second value's answer stays
        count = len(driver.execute_script("return window.ccsimTimings"))
        _set(driver, "iopc_staff", "20")
        time.sleep(0.3)  # the first request under way
        _set(driver, "iopc_staff", "24")
        _done_after(driver, count)
        after = _figures(driver)
        said = driver.find_element("id", "sentences").text
        assert "24 investigators" in said, said
        assert after["iopc.open.end"]["option"] > before["iopc.open.end"]["option"]
        assert after["iopc.open.end"]["difference"] > 0  # fewer investigators: more open
        assert int(driver.execute_script("return document.body.dataset.drawn")) > drawn

        # the page's numbers are `ccsim run`'s on the downloaded scenario with the seed
        text = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/download/scenario.yaml').then(r => r.text()).then(done);""")
        reps = int(driver.find_element("id", "reps").get_attribute("value"))
        assert reps == REPS
        seed = int(driver.find_element("id", "seed").get_attribute("value"))
        assert f"--reps {reps} --seed {seed}" in text
        scenario = tmp_path / "what_if.yaml"
        scenario.write_text(text)
        out = tmp_path / "run"
        assert f"--reps {reps} --seed {seed} --fixed-parameters" in text
        subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--reps",
                        str(reps), "--seed", str(seed), "--fixed-parameters", "--out",
                        str(out), "--quiet"],
                       cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        summary = pd.read_csv(out / "summary.csv").set_index("metric")["mean"]
        for metric, values in after.items():
            if pd.notna(values["option"]):
                assert values["option"] == pytest.approx(summary[metric], rel=1e-5), metric
        workbook = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/api/download/workbook.xlsx').then(r => r.arrayBuffer())
                .then(b => done(b.byteLength));""")
        assert workbook > 5000

        # a refused value is shown beside its control, and nothing runs
        _set(driver, "panels", "-4")
        _wait(driver, "return document.getElementById('error-panels').textContent",
              "the refusal beside the control", timeout=10)
        assert driver.find_element("id", "status").get_attribute("data-state") == "error"
        _set(driver, "panels", "12")
        count = len(driver.execute_script("return window.ccsimTimings"))
        _done_after(driver, count)

        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, f"console errors: {errors}"
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        timings = driver.execute_script("return window.ccsimTimings")
        (ARTEFACTS / "what-if-timings.json").write_text(json.dumps(timings, indent=1))
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 8000))
        shot = ARTEFACTS / "what-if.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    finally:
        driver.quit()

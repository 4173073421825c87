"""The HTML report in a real browser: headless Chromium (Debian's) driven by Selenium.

Needs ``chromium`` and ``chromium-driver`` (`.ci/install-browser.sh`) and ``pip install
selenium``. Skipped when they are missing, except under CI (``CI=true``), where a missing
browser fails the test so the screenshot is never silently absent.
Screenshots are saved in ``tests/_artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test; see .ci/install-browser.sh)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ModuleNotFoundError:
        _need(False, "selenium is not installed: pip install selenium")
    _need(
        os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER),
        "headless Chromium is not installed: run .ci/install-browser.sh",
    )
    profile = tempfile.mkdtemp(prefix="voiceprep-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, Any]]]:
    """The bundled session and bad files run for a Yeastar PBX, and the report of that run."""
    from pipeline.report import write_report
    from pipeline.runner import Pipeline

    out = tmp_path_factory.mktemp("report-run")
    results = Pipeline.for_profile("yeastar-prompt").run(
        [str(FIXTURES / "session"), str(FIXTURES / "bad")],
        out=str(out),
        workers=2,
        progress=False,
    )
    records = list(results)
    return write_report(str(out), progress=False), records


def _open(driver: Any, path: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'")
    )


def _cards(driver: Any) -> list[Any]:
    return list(driver.find_elements("css selector", "#vp-cards .card"))


def _select(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", element_id)).select_by_value(value)


def _play(driver: Any, audio: Any) -> dict[str, Any]:
    """Press play, wait a moment, and report whether the element is playing."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", audio)
    result: dict[str, Any] = driver.execute_async_script(
        """
        const audio = arguments[0], done = arguments[arguments.length - 1];
        audio.play().then(() => setTimeout(() => done({
            paused: audio.paused, time: audio.currentTime, error: null,
            duration: audio.duration}), 800))
          .catch(e => done({error: String(e), paused: audio.paused, time: audio.currentTime}));
        """,
        audio,
    )
    return result


def test_report_cards_filter_to_failed_and_play(driver: Any, fixture_report: Any) -> None:
    path, records = fixture_report
    failed = [r for r in records if r["status"] == "failed"]
    assert failed and len(failed) < len(records)  # the fixture run has both kinds
    _open(driver, path)

    cards = _cards(driver)
    assert len(cards) == len(records)
    names = {c.find_element("css selector", ".name").text for c in cards}
    assert names == {os.path.basename(r["source"]) for r in records}
    # Every passed clip has a waveform and both players; no broken images.
    assert driver.execute_script(
        "return [...document.images].every(i => i.complete && i.naturalWidth === 240)"
    )
    passed_cards = [c for c in cards if c.get_attribute("data-status") == "passed"]
    assert all(c.find_elements("css selector", "audio.after") for c in passed_cards)

    _select(driver, "vp-status", "failed")
    cards = _cards(driver)
    assert len(cards) == len(failed)
    assert {c.get_attribute("data-status") for c in cards} == {"failed"}
    assert {c.find_element("css selector", ".name").text for c in cards} == {
        os.path.basename(r["source"]) for r in failed
    }

    # A failed clip that still decodes (silence.wav) has a source player: press play.
    players = driver.find_elements("css selector", "#vp-cards audio.before")
    assert players, "no failed clip with a playable source"
    state = _play(driver, players[0])
    assert state["error"] is None, state
    assert state["paused"] is False and state["time"] > 0, state

    _screenshot_from_controls(driver)
    shot = ARTIFACTS / "report.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_report_plays_processed_output_and_filters_by_finding(
    driver: Any, fixture_report: Any
) -> None:
    path, records = fixture_report
    _open(driver, path)
    after = driver.find_elements("css selector", "#vp-cards audio.after")
    assert after
    state = _play(driver, after[0])
    assert state["error"] is None and state["paused"] is False and state["time"] > 0, state

    # A finding some clips have and others don't (clipping, hum, ...: whatever the stages say).
    codes = [{f["code"] for f in r["findings"]} for r in records]
    code = min(
        (c for c in set().union(*codes) if 0 < sum(c in cs for cs in codes) < len(records)),
        key=lambda c: (-sum(c in cs for cs in codes), c),
    )
    expected = {
        os.path.basename(r["source"]) for r, cs in zip(records, codes, strict=True) if code in cs
    }
    _select(driver, "vp-code", code)
    shown = {c.find_element("css selector", ".name").text for c in _cards(driver)}
    assert shown == expected

    _select(driver, "vp-code", "")
    _select(driver, "vp-sort", "snr_db")
    _select(driver, "vp-dir", "desc")
    order = [c.get_attribute("data-index") for c in _cards(driver)]
    snr = {str(i): r["metrics"].get("snr_db") for i, r in enumerate(_file_order(path))}
    values = [snr[i] for i in order if snr[i] is not None]
    assert values == sorted(values, reverse=True)
    assert all(snr[i] is None for i in order[len(values) :])  # unmeasured last
    _screenshot_from_controls(driver, "report-sorted.png")


def _screenshot_from_controls(driver: Any, name: str = "report.png") -> None:
    """A screenshot of the page scrolled so the filter bar and the first cards are in view."""
    driver.execute_script("window.scrollTo(0, document.querySelector('.controls').offsetTop - 8)")
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def _file_order(report_path: str) -> list[dict[str, Any]]:
    results = Path(report_path).with_name("results.jsonl")
    return [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line]


def _fake_records(n: int) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        bad = i % 7 == 0
        records.append(
            {
                "source": f"/nowhere/batch/take_{i:05d}.wav",
                "status": "failed" if bad else "passed",
                "profile": "yeastar-prompt",
                "output": None if bad else f"/nowhere/out/take_{i:05d}.wav",
                "metrics": {
                    "source_duration_s": 3.0 + i % 5,
                    "duration_s": 2.5,
                    "lufs": -16.0,
                    "snr_db": 20.0 + (i * 37) % 30,
                    "speech_ratio": 0.8,
                    "clipping_ratio": 0.0,
                },
                "findings": [
                    {
                        "code": "too_long",
                        "severity": "error",
                        "stage": "trim",
                        "message": "too long",
                    }
                ]
                if bad
                else [],
                "source_info": None,
            }
        )
    return records


def test_report_of_5000_clips_renders_lazily(driver: Any, tmp_path: Path) -> None:
    from pipeline.report import write_report
    from pipeline.results import write_records

    n = 5000
    write_records(str(tmp_path / "results.jsonl"), _fake_records(n))
    path = write_report(str(tmp_path), audio=False, progress=False)
    _open(driver, path)

    initial = len(_cards(driver))
    assert 0 < initial <= 200  # lazy: a few batches, not 5,000 card nodes
    assert f"of {n} matching" in driver.find_element("id", "vp-count").text

    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: len(_cards(d)) > initial)

    _select(driver, "vp-status", "failed")
    failed = sum(1 for i in range(n) if i % 7 == 0)
    assert f"of {failed} matching" in driver.find_element("id", "vp-count").text
    assert {c.get_attribute("data-status") for c in _cards(driver)} == {"failed"}
    _screenshot_from_controls(driver, "report-5000.png")

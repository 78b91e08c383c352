"""Fixtures for the browser tests: the real server (``hcc-prognosis serve`` on waitress,
in a subprocess) and headless Chromium: Debian's ``chromium``/``chromium-driver``, or on
Ubuntu (where Chromium is a snap) ``/snap/bin/chromium`` and its
``chromium.chromedriver``; ``CHROMIUM_BINARY`` and ``CHROMEDRIVER`` name others.

The tests never skip: if Chromium, chromedriver or axe-core is missing they fail with
what to install (``.ci/run`` installs all three).
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def _installed(variable: str, *candidates: str) -> Path:
    """The path in ``variable`` if set, else the first candidate that exists (else the
    first, for the message)."""
    if os.environ.get(variable):
        return Path(os.environ[variable])
    return next((Path(c) for c in candidates if Path(c).exists()), Path(candidates[0]))


CHROMIUM = _installed("CHROMIUM_BINARY", "/usr/bin/chromium", "/snap/bin/chromium")
CHROMEDRIVER = _installed("CHROMEDRIVER", "/usr/bin/chromedriver",
                          "/snap/bin/chromium.chromedriver")
AXE_CANDIDATES = (
    *((Path(os.environ["AXE_CORE_JS"]),) if os.environ.get("AXE_CORE_JS") else ()),
    REPO / "node_modules" / "axe-core" / "axe.min.js",
    Path.home() / ".cache" / "hcc-prognosis" / "axe" / "node_modules" / "axe-core" / "axe.min.js",
)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--lang=en-GB")
URL_LINE = re.compile(r"(http://127\.0\.0\.1:\d+/)")
SERVER_START_SECONDS = 20.0
#: A page title that a script would change: it stays the first when JavaScript is off.
JS_PROBE = ("script-did-not-run", "script-ran")
#: A small phone's viewport in CSS pixels (iPhone SE, and many Android phones' width).
PHONE_WIDTH, PHONE_HEIGHT = 375, 667


def _missing(what: str, how: str) -> None:
    where = "in CI (CI is set)" if os.environ.get("CI") else "on this machine"
    pytest.fail(f"{what} is missing {where}: {how}. The browser tests do not skip.",
                pytrace=False)


@pytest.fixture(scope="session")
def server_log() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hcc-serve-") as folder:
        yield Path(folder) / "server.log"


@pytest.fixture(scope="session")
def live_server(server_log: Path) -> Iterator[str]:
    """``hcc-prognosis serve --port 0`` in a subprocess; yields the URL it prints."""
    with server_log.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "calculator.cli", "serve", "--host", "127.0.0.1",
             "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
    try:
        url = _read_url(process)
        _wait_until_healthy(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def _read_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if found := URL_LINE.search(line):
                return found.group(1)
        if process.poll() is not None:
            pytest.fail(f"hcc-prognosis serve exited with status {process.returncode}")
    pytest.fail("hcc-prognosis serve printed no URL within "
                f"{SERVER_START_SECONDS:.0f} s")
    raise AssertionError  # unreachable: pytest.fail raises


def _wait_until_healthy(url: str) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def _chrome(javascript: bool, profile: str) -> WebDriver:
    if not CHROMIUM.exists():
        _missing(f"Chromium ({CHROMIUM})", "run tests/install-deps.sh as root (Debian: "
                 "apt-get install chromium; Ubuntu: apt-get install chromium-browser), or "
                 "set CHROMIUM_BINARY")
    if not CHROMEDRIVER.exists():
        _missing(f"chromedriver ({CHROMEDRIVER})", "run tests/install-deps.sh as root "
                 "(Debian: apt-get install chromium-driver; Ubuntu: apt-get install "
                 "chromium-chromedriver), or set CHROMEDRIVER")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium with JavaScript on (needed only to inject axe-core)."""
    with tempfile.TemporaryDirectory(prefix="hcc-chromium-") as profile:
        driver = _chrome(javascript=True, profile=profile)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="session")
def browser_without_js() -> Iterator[WebDriver]:
    """Headless Chromium with JavaScript switched off, as some hospital PCs run it."""
    with tempfile.TemporaryDirectory(prefix="hcc-chromium-nojs-") as profile:
        driver = _chrome(javascript=False, profile=profile)
        try:
            driver.get(f"data:text/html,<title>{JS_PROBE[0]}</title>"
                       f"<script>document.title='{JS_PROBE[1]}'</script>")
            assert driver.title == JS_PROBE[0], "JavaScript is still on"
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="session")
def axe_source() -> str:
    for candidate in AXE_CANDIDATES:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    _missing("axe-core (axe.min.js)",
             "npm install --prefix ~/.cache/hcc-prognosis/axe axe-core, or set AXE_CORE_JS "
             f"(looked in {', '.join(map(str, AXE_CANDIDATES))})")
    raise AssertionError  # unreachable


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def phone_screen(driver: WebDriver) -> Iterator[None]:
    """The driver's viewport set to a phone's (375 x 667 CSS px, touch), then restored."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 1, "mobile": True})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def record_measure(artifacts: Path, what: str, value: float) -> None:
    """Keep a measured value (a page height, say) in ``test-artifacts/measures.json``."""
    path = artifacts / "measures.json"
    measures = json.loads(path.read_text()) if path.is_file() else {}
    measures[what] = value
    path.write_text(json.dumps(measures, indent=1, sort_keys=True) + "\n")

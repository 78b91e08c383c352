"""The real server in headless Chromium: fill in the form, read the result, find the hints.

Screenshots of the form, a result and an error page (desktop and 375 px wide) and the
printed result (PDF) are written to ``test-artifacts/``.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from calculator import InputError, score
from tests.browser.conftest import PHONE_WIDTH, phone_screen, record_measure
from tests.log_privacy import leaked, searchable
from webui.presentation import significant

pytestmark = pytest.mark.browser

#: Albumin in g/dL (with a decimal comma) and lymphocytes in cells/uL, as a lab prints them.
TYPICAL = {"albumin": "3,47", "albumin_unit": "g/dL", "lymphocytes": "1163",
           "lymphocytes_unit": "cells/uL", "afp": "263.5", "afp_unit": "ng/mL",
           "extrahepatic_spread": "yes"}
#: Albumin copied from a g/L report while the selector still shows g/dL.
UNIT_SLIP = {"albumin": "35", "albumin_unit": "g/dL", "lymphocytes": "1.1",
             "lymphocytes_unit": "10^3/uL", "afp": "250", "afp_unit": "ng/mL",
             "extrahepatic_spread": "no"}
#: The longest result page: Child-Pugh items, AFP in IU/mL and values outside the study's
#: ranges, each of which adds a warning.
LONGEST = {"albumin": "5,5", "albumin_unit": "g/dL", "lymphocytes": "12",
           "lymphocytes_unit": "10^9/L", "afp": "150000", "afp_unit": "IU/mL",
           "extrahepatic_spread": "yes", "bilirubin": "70", "bilirubin_unit": "mg/dL",
           "inr": "6", "ascites": "moderate-severe", "encephalopathy": "grade-3-4"}
#: A patient with none of the three factors: the reference group.
NO_FACTOR = {"albumin": "4,5", "albumin_unit": "g/dL", "lymphocytes": "2,1",
             "lymphocytes_unit": "10^3/uL", "afp": "12", "afp_unit": "ng/mL",
             "extrahepatic_spread": "no"}
A4_CM = (21.0, 29.7)
#: CSS pixels across A4 inside the print stylesheet's 11 mm side margins.
A4_PRINTABLE_PX = round((210 - 2 * 11) / 25.4 * 96)


def full_page_screenshot(driver: WebDriver, path: Path) -> Path:
    """A PNG of the whole page, not only the viewport."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                 "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def submit(driver: WebDriver, url: str, values: dict[str, str]) -> None:
    """Open the form, enter ``values`` as a person would, press Calculate, wait."""
    driver.get(url)
    for key, value in values.items():
        element = driver.find_element(By.ID, key if key != "extrahepatic_spread" else
                                      ("extrahepatic_spread" if value == "yes"
                                       else "extrahepatic_spread-no"))
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        elif element.get_attribute("type") == "radio":
            element.click()
        else:
            element.clear()
            element.send_keys(value)
    press_and_wait(driver, "button[value=calculate]")


#: Set on the old page's window; a newly loaded document does not have it.
_OLD_PAGE_MARK = "window.__hccOldPage"


def press_and_wait(driver: WebDriver, button: str) -> None:
    """Click ``button`` and wait until the next page has loaded.

    A mark on the old page's ``window`` tells the pages apart. Waiting for the old element
    to go stale is not enough: Chromium may answer that probe mid-navigation with a bare
    "unknown error" (node no longer in the document), so script errors during the switch
    are waited through.
    """
    driver.execute_script(f"{_OLD_PAGE_MARK} = true;")
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            f"return !{_OLD_PAGE_MARK} && document.readyState === 'complete';"))


def text_of(driver: WebDriver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def core_hint(values: dict[str, str], field: str) -> str:
    """The hint the scoring core gives for ``field`` on these values."""
    with pytest.raises(InputError) as caught:
        score(values)
    hints = [p.hint for p in caught.value.errors if p.field == field and p.hint]
    assert hints, f"the core gives no hint for {field}"
    return hints[0]


def run_axe(driver: WebDriver, axe_source: str) -> list[dict[str, object]]:
    """axe-core's violations on the current page (injected through WebDriver, which the
    page's CSP does not govern)."""
    driver.execute_script(axe_source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', help: String(e)}]));")
    return list(result)


def describe(violations: list[dict[str, object]]) -> str:
    return json.dumps([{"id": v.get("id"), "help": v.get("help"),
                        "nodes": [n.get("html") for n in v.get("nodes", [])][:3]}  # type: ignore[union-attr]
                       for v in violations], indent=1)


def test_form_to_result_with_javascript_off(live_server: str, browser_without_js: WebDriver,
                                            artifacts: Path) -> None:
    driver = browser_without_js
    driver.get(live_server)
    assert driver.find_element(By.ID, "albumin_unit").get_attribute("value") == "g/dL"
    full_page_screenshot(driver, artifacts / "form.png")

    submit(driver, live_server, TYPICAL)

    expected = score(TYPICAL).to_dict()
    headline = driver.find_element(By.TAG_NAME, "h1").text
    assert headline.startswith("Overall survival on second-line therapy after atezolizumab")
    assert "Relative hazard 20.0 (95% CI 5.00–80.2)" in headline
    assert text_of(driver, "pni-value") == expected["pni"]["display"] == "40.5"
    assert expected["pni"]["category"] in text_of(driver, "pni-category")
    assert text_of(driver, "rh-value") == significant(expected["relative_hazard"]["value"])
    for factor in expected["factors"]:
        row = text_of(driver, f"factor-{factor['name']}")
        assert ("present" if factor["adverse"] else "absent") in row
        assert significant(factor["hr"]) in row
    albumin_row = text_of(driver, "input-albumin")
    assert "3,47 g/dL" in albumin_row and "34.7 g/L" in albumin_row
    lymphocyte_row = text_of(driver, "input-lymphocytes")
    assert "1163 cells/µL" in lymphocyte_row and "1.163 ×10⁹/L" in lymphocyte_row
    assert driver.find_element(By.CSS_SELECTOR, "#chart svg.forest").is_displayed()
    assert "not a substitute for clinical judgement" in driver.page_source
    # without JavaScript: no dead buttons, the note is a visible block to copy from
    assert not driver.find_element(By.CSS_SELECTOR, "[data-action=copy]").is_displayed()
    assert not driver.find_element(By.CSS_SELECTOR, "[data-action=print]").is_displayed()
    assert driver.find_element(By.CSS_SELECTOR, "a[href='#note']").is_displayed()
    assert driver.find_element(By.ID, "note-text").is_displayed()
    assert not driver.find_element(By.ID, "evidence").get_attribute("open")
    assert not driver.find_element(By.CSS_SELECTOR, "#inconsistency-1").is_displayed()
    driver.find_element(By.CSS_SELECTOR, "#inconsistencies summary").click()  # no JS needed
    assert driver.find_element(By.CSS_SELECTOR, "#inconsistency-1").is_displayed()
    full_page_screenshot(driver, artifacts / "result.png")

    press_and_wait(driver, "button[value=edit]")
    assert driver.find_element(By.ID, "albumin").get_attribute("value") == "3,47"
    assert driver.find_element(By.ID, "lymphocytes_unit").get_attribute("value") == "cells/uL"


def test_unit_slip_shows_the_hint_next_to_its_field(live_server: str,
                                                    browser_without_js: WebDriver,
                                                    artifacts: Path) -> None:
    driver = browser_without_js
    submit(driver, live_server, UNIT_SLIP)

    hint = core_hint(UNIT_SLIP, "albumin")
    assert "g/L" in hint
    field = driver.find_element(By.ID, "albumin-field")
    assert hint in field.find_element(By.ID, "albumin-error").text
    albumin = driver.find_element(By.ID, "albumin")
    assert "albumin-error" in (albumin.get_attribute("aria-describedby") or "").split()
    assert albumin.get_attribute("aria-invalid") == "true"
    assert albumin.get_attribute("value") == "35"
    assert driver.switch_to.active_element.get_attribute("id") == "albumin"
    assert driver.find_element(By.ID, "lymphocytes").get_attribute("value") == "1.1"
    assert driver.find_element(By.ID, "extrahepatic_spread-no").is_selected()
    assert driver.find_elements(By.ID, "lymphocytes-error") == []
    full_page_screenshot(driver, artifacts / "error.png")


@pytest.mark.parametrize("page", ["form", "result", "error", "evidence"])
def test_pages_pass_axe_core(live_server: str, browser: WebDriver, axe_source: str,
                             page: str) -> None:
    driver = browser
    browser.get_log("browser")  # drop earlier messages
    if page == "form":
        driver.get(live_server)
    elif page == "evidence":
        driver.get(live_server + "evidence")
    else:
        submit(driver, live_server, TYPICAL if page == "result" else UNIT_SLIP)
    violations = run_axe(driver, axe_source)
    assert violations == [], describe(violations)
    console = [entry["message"] for entry in driver.get_log("browser")
               if "Content Security Policy" in entry["message"]]
    assert console == [], "the page broke its own CSP"


def test_usable_375_px_wide(live_server: str, browser: WebDriver, artifacts: Path) -> None:
    driver = browser
    with phone_screen(driver):
        for page, values in (("form", None), ("result", LONGEST), ("error", UNIT_SLIP),
                             ("evidence", None)):
            if page == "evidence":
                driver.get(live_server + "evidence")
            elif values is None:
                driver.get(live_server)
            else:
                submit(driver, live_server, values)
            width = driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, f"{page} page scrolls sideways ({width} px)"
            for control in driver.find_elements(By.CSS_SELECTOR, "input, select, button"):
                if control.get_attribute("type") == "hidden" or not control.is_displayed():
                    continue
                box = control.rect
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH, \
                    f"{control.get_attribute('id')} sticks out on the {page} page"
                assert box["height"] >= 20, f"{control.get_attribute('id')} is too small"
            full_page_screenshot(driver, artifacts / f"{page}-375px.png")


@pytest.mark.parametrize("name", ["typical", "longest", "no-factor"])
def test_headline_and_actions_on_the_first_phone_screen(live_server: str, browser: WebDriver,
                                                         artifacts: Path, name: str) -> None:
    """At 375 x 667 px the endpoint, the number and the actions (change values, print,
    copy) are visible without scrolling, however many warnings follow."""
    values = {"typical": TYPICAL, "longest": LONGEST, "no-factor": NO_FACTOR}[name]
    driver = browser
    with phone_screen(driver):
        submit(driver, live_server, values)
        screen = driver.execute_script("return window.innerHeight")
        for selector in ("#rh-endpoint", "#rh-value", "#rh-meaning", "button[value=edit]",
                         "[data-action=print]", "[data-action=copy]"):
            element = driver.find_element(By.CSS_SELECTOR, selector)
            assert element.is_displayed(), selector
            box = element.rect
            assert box["y"] + box["height"] <= screen, \
                f"{selector} ends at {box['y'] + box['height']:.0f} px, below the first screen"
        height = driver.execute_script("return document.documentElement.scrollHeight")
        record_measure(artifacts, f"result page height at {PHONE_WIDTH} px, {name}", height)
        driver.save_screenshot(str(artifacts / f"first-screen-375px-{name}.png"))


def test_copy_note_button(live_server: str, browser: WebDriver) -> None:
    driver = browser
    submit(driver, live_server, TYPICAL)
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href='#note']:not([hidden])")
    driver.find_element(By.CSS_SELECTOR, "[data-action=copy]").click()
    WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "copy-status").text)
    status = driver.find_element(By.ID, "copy-status").text
    assert status in ("Note copied.", "Note selected: press Ctrl+C (or \u2318+C) to copy it.")
    note = driver.find_element(By.ID, "note-text").text
    assert note.startswith("HCC second-line prognosis") and "Calculated: " in note


def test_result_prints_on_one_a4_page(live_server: str, browser: WebDriver,
                                      artifacts: Path) -> None:
    driver = browser
    submit(driver, live_server, LONGEST)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#warnings li")) >= 5
    calculated = text_of(driver, "calculated")
    assert re.match(r"Calculated \d{4}-\d\d-\d\d \d\d:\d\d", calculated)
    assert calculated.split(" · ")[0].removeprefix("Calculated ") in text_of(driver, "note-text")

    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": A4_PRINTABLE_PX, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    try:
        full_page_screenshot(driver, artifacts / "result-print.png")
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    printed_time = driver.find_element(By.ID, "calculated")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert printed_time.is_displayed()  # the printed page carries the time
        assert not driver.find_element(By.ID, "note").is_displayed()
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    options = PrintOptions()
    options.page_width, options.page_height = A4_CM
    options.shrink_to_fit = False
    options.background = True
    pdf = base64.b64decode(driver.print_page(options))
    (artifacts / "result-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert pages == 1, f"the printed result takes {pages} A4 pages"


def test_server_logs_no_patient_value(live_server: str, browser_without_js: WebDriver,
                                      server_log: Path) -> None:
    body = json.dumps({**TYPICAL, "afp": "7919.3"}).encode()
    request = urllib.request.Request(live_server + "api/v1/score", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    submit(browser_without_js, live_server, {**TYPICAL, "afp": "7919.3"})
    submit(browser_without_js, live_server, UNIT_SLIP)

    raw = server_log.read_text()
    assert "POST /api/v1/score 200" in raw and "POST / 422" in raw  # the log is being read
    # Timestamps and access-log timings ("POST / 200 34.7 ms") are the server's own
    # numbers; every access line is checked to have exactly that form, then they are set
    # aside, so albumin 34.7 g/L cannot collide with a 34.7 ms timing.
    log = searchable(raw)
    values = ("3,47", "3.47", "34.7", "1163", "1.163", "263.5", "7919.3")
    assert leaked(log, values) == []

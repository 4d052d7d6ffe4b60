"""The dashboard in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``): a regulator signs in through the admin's login form, opens the
park's overview and finds every chart drawn by ECharts with data, in Chinese and in
English, with no request leaving 127.0.0.1 and no Content-Security-Policy violation.

Without the browser the test is skipped, unless ``PARKSHARE_BROWSER_REQUIRED=1`` (CI,
``.ci/run``): then it fails.
"""

import json
import os
import shutil
from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "browser-test-Pa55word"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

CHARTS = """
return Array.from(document.querySelectorAll('.chart[data-chart]')).map(function (el) {
  var chart = window.echarts && echarts.getInstanceByDom(el);
  if (!chart) { return {id: el.getAttribute('data-chart'), drawn: false}; }
  var option = chart.getOption();
  return {
    id: el.getAttribute('data-chart'),
    drawn: true,
    canvas: el.querySelectorAll('canvas').length,
    series: option.series.map(function (s) { return (s.data || []).length; }),
    names: option.series.map(function (s) { return s.name || ''; })
  };
});
"""


def _missing() -> str | None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium and chromium-driver are missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("PARKSHARE_BROWSER_REQUIRED") == "1":
            pytest.fail(f"PARKSHARE_BROWSER_REQUIRED=1 but {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager downloads nothing
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        "--lang=zh-CN",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked for since the last call (CDP Network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def assert_all_local(urls: list[str]) -> None:
    assert urls, "no request was recorded"
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("data", "blob") or parts.hostname in LOCAL_HOSTS, url


def page_language_is(language: str, driver: Any) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == language)


def charts_drawn(driver: Any) -> list[dict[str, Any]]:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d: Any) -> Any:
        found = d.execute_script(CHARTS)
        return found if found and all(c["drawn"] and c["canvas"] for c in found) else False

    try:
        result: list[dict[str, Any]] = WebDriverWait(driver, 30).until(ready)
    except TimeoutException:
        pytest.fail(
            f"charts not drawn on {driver.current_url}: {driver.execute_script(CHARTS)}; "
            f"console: {driver.get_log('browser')}"
        )
    return result


#: The charts of each page (the tables without a chart left out), over the first half of 2026
#: (the energy and safety figures of ``energy_safety_world``).
PAGES = {
    "": {"chart-trade", "chart-hazardous-stock", "chart-pools"},
    "energy/": {
        "chart-energy-trend",
        "chart-energy-share",
        "chart-energy-intensity",
        "chart-energy-yoy",
    },
    "safety/": {
        "chart-safety-hazards",
        "chart-safety-closure",
        "chart-safety-incidents",
        "chart-safety-stock-capacity",
    },
}
PERIOD = "?start=2026-01&end=2026-06"


def test_a_regulator_sees_the_charts_drawn_in_chinese_and_in_english(
    energy_safety_world: dict[str, Any], live_server: Any, browser: Any
) -> None:
    report_world = energy_safety_world
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    regulator = report_world["users"]["regulator"]
    regulator.set_password(PASSWORD)
    regulator.is_staff = True  # the admin's login admits staff (as the demo's regulators)
    regulator.save()
    park = report_world["parks"]["a"]
    overview = f"/reports/parks/{park.pk}/"

    # Anonymous: the admin's login form, then back to the overview.
    browser.get(f"{live_server.url}{overview}")
    assert "/admin/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys(regulator.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form#login-form [type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: urlsplit(d.current_url).path == overview)

    for language in ("zh-hans", "en"):
        if browser.find_element(By.TAG_NAME, "html").get_attribute("lang") != language:
            Select(browser.find_element(By.ID, "language-select")).select_by_value(language)
            browser.find_element(By.CSS_SELECTOR, "form.language [type=submit]").click()
            WebDriverWait(browser, 30).until(partial(page_language_is, language))
        for page, expected_charts in PAGES.items():
            requested_urls(browser)  # what came before this page (the admin's login too)
            browser.get_log("browser")
            browser.get(f"{live_server.url}{overview}{page}{PERIOD}")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
            charts = charts_drawn(browser)
            assert {c["id"] for c in charts} == expected_charts, (page, charts)
            for chart in charts:
                assert chart["series"] and all(n > 0 for n in chart["series"]), chart
            if language == "en" and not page:  # Chinese words are translated on main (locale/)
                assert "Trade by month" in browser.page_source
            assert_all_local(requested_urls(browser))
            violations = [
                entry["message"]
                for entry in browser.get_log("browser")
                if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"
            ]
            assert violations == [], (page, violations)

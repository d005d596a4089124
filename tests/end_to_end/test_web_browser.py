"""The status page in a real browser: Debian's chromium, headless, driven by selenium
through the system chromedriver (nothing downloaded: the driver's path is given and
selenium-manager is made to fail if anything calls it), on a real tree made by the
commands. Screenshots are saved in the test's tmp directory."""

import os
import shutil

import pytest

from webserver import WebServer
from builttree import build

# a browser, a real tree uploaded to an rclone remote served on loopback
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("remote", ["sftp"], indirect=True)]

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def web(tmp_path_factory, pg_cluster, remote):
    env = build(str(tmp_path_factory.mktemp("webbrowser")), pg_cluster, remote)
    with WebServer(env) as server:
        yield server


@pytest.fixture
def browser(monkeypatch, tmp_path):
    if not (os.access(CHROMEDRIVER, os.X_OK) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def no_download(*args, **kwargs):
        raise AssertionError("selenium-manager was asked for a driver: nothing may be downloaded")

    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setattr(SeleniumManager, "binary_paths", no_download)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_page_shows_verdict_states_and_the_failure_s_log(web, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(web.url)
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.find_element(By.TAG_NAME, "h1").text == "CRITICAL"
    assert "1 set FAILED" in verdict.text and "rex-pgdump failed" in verdict.text
    rows = browser.find_elements(By.CSS_SELECTOR, "#sets tbody tr")
    states = [row.find_element(By.CSS_SELECTOR, "span.state").text for row in rows]
    assert states == ["FAILED", "STALE", "UNVERIFIED", "OK", "OK", "OK"]
    assert "checksum mismatch" in rows[0].text
    cells = {row.find_elements(By.TAG_NAME, "td")[1].text.split("\n")[0]: row.find_elements(By.TAG_NAME, "td")
             for row in rows}
    demo = cells["Demo.drp"]                                    # exported twice, deduplicated, uploaded
    assert demo[3].text == "2" and demo[5].text != "0 B" and demo[5].text == demo[4].text
    assert demo[7].text.startswith("20") and cells["Resolve Projects.backup"][7].text.startswith("20")
    assert cells["grade-stills.txt"][7].text == "never"         # off site: never
    tail = browser.find_element(By.CSS_SELECTOR, "#jobs details.failure pre")
    assert tail.is_displayed() and "pg_dump: error: connection to server on socket lost" in tail.text
    for section in ("standby", "farm"):
        assert "not configured" in browser.find_element(By.ID, section).text
    browser.save_screenshot(str(tmp_path / "rex-web.png"))
    assert (tmp_path / "rex-web.png").stat().st_size > 10_000


def test_filter_and_sort_work_without_javascript(web, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.get(web.url)
    Select(browser.find_element(By.NAME, "state")).select_by_visible_text("STALE")
    browser.find_element(By.CSS_SELECTOR, "#sets form button").click()
    names = [row.find_elements(By.TAG_NAME, "td")[1].text for row in
             browser.find_elements(By.CSS_SELECTOR, "#sets tbody tr")]
    assert len(names) == 1 and names[0].startswith("handover-notes.txt")
    browser.get(web.url)
    search = browser.find_element(By.NAME, "q")
    search.send_keys("commercials")
    search.submit()
    rows = browser.find_elements(By.CSS_SELECTOR, "#sets tbody tr")
    assert len(rows) == 1 and "Commercials 2026" in rows[0].text
    browser.get(web.url)
    browser.find_element(By.LINK_TEXT, "Backups").click()           # sort by count, then reversed
    assert "sort=count" in browser.current_url
    browser.find_element(By.PARTIAL_LINK_TEXT, "Backups").click()
    assert "sort=-count" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "#sets tbody tr")) == 6


def test_readable_on_a_phone(web, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    browser.get(web.url)
    assert browser.find_element(By.ID, "verdict").is_displayed()
    # the page itself never scrolls sideways: wide tables scroll inside their own box
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    browser.save_screenshot(str(tmp_path / "rex-web-phone.png"))

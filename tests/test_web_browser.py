"""The console's main flows in a real browser: Debian's Chromium, driven by chromedriver (Selenium).

- a coordinator logs in and approves a request;
- a unit opens the link from a notice file, reports progress with an attachment and asks for an
  extension;
- the unit's page at 375 px wide has no horizontal scrolling.

scripts/test.sh installs chromium and chromium-driver; without them these tests are skipped,
except on CI, where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from support.web import COORDINATOR, PASSWORD, PLAN, WebSite

from engine.actions.tasks import request_transition
from engine.actions.views import pending_request_rows, task_detail
from engine.model.plan import Status
from engine.notify.dispatcher import dispatch_due
from engine.notify.queue import notify_unit

DRIVER = os.environ.get("DUBAN_TEST_CHROMEDRIVER") or shutil.which("chromedriver")
if not DRIVER or not shutil.which("chromium"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI needs chromium and chromium-driver (scripts/browser.sh)")
    pytest.skip("chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

UNIT = "市发改局"  # leads task 1 of the seed plan


@contextmanager
def _chrome(width: int, height: int) -> Iterator[WebDriver]:
    """A headless Chromium of that window size, quit at the end, its profile folder removed
    (a few MB each: a test run must not leave them in /tmp)."""
    with tempfile.TemporaryDirectory(prefix="duban-chrome-", ignore_cleanup_errors=True) as profile:
        driver = _started(width, height, profile)
        try:
            yield driver
        finally:
            driver.quit()


def _started(width: int, height: int, profile: str) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    if width < 500:  # a headless window is never narrower than 500 px: emulate the phone
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
        )
    return driver


def _open(driver: WebDriver, url: str) -> None:
    """Go to a page and wait until it is there: under load, chromedriver's `get` has returned
    before the document was (an empty page source)."""
    driver.get(url)

    def loaded(_driver: WebDriver) -> bool:
        ready = _driver.execute_script("return document.readyState") == "complete"
        return ready and bool(_driver.find_elements(By.CSS_SELECTOR, "body *"))

    WebDriverWait(driver, 30).until(loaded)


def _submit(driver: WebDriver, button) -> None:
    """Click a submit button and wait until the answer to the form has replaced the page."""
    old = driver.find_element(By.TAG_NAME, "html")
    button.click()

    def replaced(_driver: WebDriver) -> bool:
        try:
            old.tag_name  # noqa: B018  # raises once the old page is gone
        except Exception:
            return _driver.execute_script("return document.readyState") == "complete"
        return False

    WebDriverWait(driver, 30).until(replaced)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[WebSite]:
    with WebSite(tmp_path) as running:
        yield running


@pytest.fixture
def chrome() -> Iterator[WebDriver]:
    with _chrome(1280, 900) as driver:
        yield driver


@pytest.fixture
def phone() -> Iterator[WebDriver]:
    with _chrome(375, 812) as driver:
        yield driver


def _button(driver: WebDriver, text: str, scope: object | None = None):
    root = scope or driver
    return root.find_element(By.XPATH, f".//button[normalize-space()='{text}']")  # type: ignore[attr-defined]


def test_a_coordinator_logs_in_and_approves_a_request(site: WebSite, chrome: WebDriver):
    assert site.db is not None and site.settings is not None
    request_id = request_transition(
        site.db,
        plan_id=PLAN,
        no=1,
        unit=UNIT,
        to=Status.IN_PROGRESS,
        reason="方案已起草，申请启动",
        now=site.clock.now(),
        settings=site.settings,
    )
    _open(chrome, site.url + "/")
    assert "/login" in chrome.current_url  # not logged in: sent to the login page
    chrome.find_element(By.NAME, "username").send_keys("sfj")
    chrome.find_element(By.NAME, "password").send_keys(PASSWORD)
    _submit(chrome, _button(chrome, "登录"))
    assert "退出" in chrome.page_source

    _open(chrome, site.url + "/requests")
    form = chrome.find_element(
        By.XPATH, "//form[.//textarea[@name='reason']][contains(., '方案已起草')]"
    )
    form.find_element(By.NAME, "reason").send_keys("同意启动")
    _submit(chrome, _button(chrome, "批准", form))

    assert pending_request_rows(site.db) == []
    detail = task_detail(site.db, plan_id=PLAN, no=1, now=site.clock.now(), settings=site.settings)
    assert detail.row["status"] == "in_progress"
    approval = [h for h in detail.history if h["action"] == "approve"]
    assert [(h["actor"], h["person"], h["via"]) for h in approval] == [(COORDINATOR, "sfj", "web")]
    assert f"#{request_id}" in chrome.page_source or "已批准" in chrome.page_source


def _notice_link(site: WebSite) -> str:
    """A reminder to the unit, dispatched to the file channel; the link read from its file."""
    assert site.db is not None and site.settings is not None
    with site.db.transaction() as session:
        notify_unit(
            session,
            site.settings,
            plan_id=PLAN,
            unit=UNIT,
            kind="reminder",
            tasks=(1,),
            occurrence="browser-test",
            now=site.clock.now(),
            context={},
        )
    summary = dispatch_due(site.db, site.settings, site.clock.now(), workers=1)
    assert summary.sent == 1, summary
    files = sorted((site.folder / "outbox").rglob("*.txt"))
    assert files, "the notice was written to a file"
    found = re.search(r"(http://127\.0\.0\.1:\d+/u/[A-Za-z0-9._-]+)", files[-1].read_text("utf-8"))
    assert found, files[-1].read_text("utf-8")
    return found.group(1)


def test_a_unit_reports_with_an_attachment_and_asks_for_an_extension(
    site: WebSite, chrome: WebDriver, tmp_path: Path
):
    link = _notice_link(site)
    _open(chrome, link)
    assert UNIT in chrome.page_source

    evidence = tmp_path / "会议纪要.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    progress_form = chrome.find_element(
        By.XPATH, "//form[.//textarea[@name='text']][.//input[@name='evidence']]"
    )
    progress_form.find_element(By.NAME, "text").send_keys("已完成调研并形成初稿，附会议纪要。")
    progress_form.find_element(By.NAME, "evidence").send_keys(str(evidence))
    _submit(chrome, _button(chrome, "提交进展", progress_form))
    assert "Traceback" not in chrome.page_source

    extend_form = chrome.find_element(By.XPATH, "//form[.//input[@name='until']]")
    # the extension form may be folded in a <details>: open it as a person would
    for summary in chrome.find_elements(By.XPATH, "//details[.//input[@name='until']]/summary"):
        if not extend_form.find_element(By.NAME, "until").is_displayed():
            summary.click()
    until = extend_form.find_element(By.NAME, "until")
    chrome.execute_script("arguments[0].value = arguments[1]", until, "2021-12-31")
    extend_form.find_element(By.NAME, "reason").send_keys("需等待省级配套政策出台")
    _submit(chrome, _button(chrome, "申请延期", extend_form))
    assert "Traceback" not in chrome.page_source

    assert site.db is not None and site.settings is not None
    detail = task_detail(site.db, plan_id=PLAN, no=1, now=site.clock.now(), settings=site.settings)
    assert detail.row["progress"] == "已完成调研并形成初稿，附会议纪要。"
    report = [h for h in detail.history if h["action"] == "progress"][-1]
    assert (report["actor"], report["person"], report["via"]) == (UNIT, None, "link")
    assert "会议纪要.pdf" in report["reason"]
    (asked,) = [r for r in pending_request_rows(site.db) if r["type"] == "extension"]
    assert (asked["unit"], asked["until"], asked["no"]) == (UNIT, date(2021, 12, 31).isoformat(), 1)


def test_the_unit_page_on_a_phone_has_no_horizontal_scrolling(site: WebSite, phone: WebDriver):
    _open(phone, site.link_for(UNIT))
    assert UNIT in phone.page_source
    widths = phone.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " window.innerWidth]"
    )
    scroll, client, inner = widths
    assert inner <= 400, widths  # the window is a phone's
    assert scroll <= client, f"the page scrolls sideways: {scroll} > {client}"
    # every form control fits the screen too
    overflow = phone.execute_script(
        "return [...document.querySelectorAll('input,textarea,select,button,table,pre')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".map(e => e.outerHTML.slice(0, 80))"
    )
    assert overflow == [], overflow

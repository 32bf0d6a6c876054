"""The web page in headless Debian Chromium, served by a live uvicorn over a seeded copy.

Asks in Persian and in English and checks the cited quote is highlighted inside its
paragraph, uploads a document through the page and gets an answer from it, deletes it,
and checks the page at phone width. Screenshots land in test-artifacts/ for a person.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import serve_seeded_copy
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from embeddings.e5 import E5Embedder
from qa.settings import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO_ROOT / "test-artifacts"
WAIT_SECONDS = 30
PERSIAN_QUESTION = "بشار اسد با چه کسی تلفنی گفتگو کرد؟"
ENGLISH_QUESTION = "How many safe zones did the 2017 agreement create in Syria?"
ZAYANDEH = "The Zayandeh River flows through Isfahan and is crossed by the Si-o-se-pol bridge, built in 1602."

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, "
    "/usr/bin/chromedriver): `make browser` installs them",
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path, embedder: E5Embedder) -> Iterator[str]:
    with serve_seeded_copy(seeded_dir, tmp_path_factory.mktemp("web"), embedder) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(browser: WebDriver, condition: object, message: str) -> object:
    return WebDriverWait(browser, WAIT_SECONDS).until(condition, message)


def open_page(browser: WebDriver, base_url: str) -> None:
    browser.get(base_url + "/")
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#documents li.document"), "no documents listed")


def ask(browser: WebDriver, question: str) -> None:
    box = browser.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    browser.find_element(By.ID, "ask").click()
    wait_for(
        browser,
        lambda b: b.find_element(By.ID, "result").get_attribute("data-question") == question,
        f"no answer rendered for {question!r}",
    )


def direction(browser: WebDriver, element: WebElement) -> str:
    return browser.execute_script("return getComputedStyle(arguments[0]).direction", element)


def assert_cited_and_highlighted(browser: WebDriver) -> WebElement:
    """The answer carries [1], and citation 1 shows its paragraph with the quote in <mark>."""
    answer = browser.find_element(By.ID, "answer")
    assert answer.is_displayed() and answer.text.strip()
    assert browser.find_element(By.CSS_SELECTOR, "#answer a.cite-link").text == "[1]"
    citation = browser.find_element(By.ID, "cite-1")
    mark = citation.find_element(By.CSS_SELECTOR, ".cited-paragraph mark")
    assert mark.text.strip() and answer.text.replace("[1]", "").strip() in mark.text, "the answer is in its quote"
    assert len(citation.find_element(By.CSS_SELECTOR, ".cited-paragraph").text) >= len(mark.text)
    assert browser.find_elements(By.CSS_SELECTOR, "#passages li.passage")
    return citation


def assert_no_console_errors(browser: WebDriver) -> None:
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_persian_question_shows_the_highlighted_citation(browser: WebDriver, base_url: str) -> None:
    open_page(browser, base_url)
    ask(browser, PERSIAN_QUESTION)
    citation = assert_cited_and_highlighted(browser)
    assert direction(browser, browser.find_element(By.ID, "answer")) == "rtl"
    assert direction(browser, citation.find_element(By.CSS_SELECTOR, ".cited-paragraph")) == "rtl"
    browser.save_screenshot(str(ARTIFACTS / "web-persian.png"))
    browser.find_element(By.CSS_SELECTOR, "#answer a.cite-link").click()
    wait_for(browser, lambda b: "flash" in citation.get_attribute("class"), "citation not flashed")
    assert_no_console_errors(browser)


def test_english_question_shows_the_highlighted_citation(browser: WebDriver, base_url: str) -> None:
    open_page(browser, base_url)
    ask(browser, ENGLISH_QUESTION)
    assert direction(browser, browser.find_element(By.ID, "question")) == "ltr"
    assert_cited_and_highlighted(browser)
    browser.save_screenshot(str(ARTIFACTS / "web-english.png"))


def test_answer_or_not_in_the_documents_state(browser: WebDriver, base_url: str) -> None:
    open_page(browser, base_url)
    ask(browser, "What is the capital of Australia?")
    answered = browser.find_element(By.ID, "answer-box").is_displayed()
    not_found = browser.find_element(By.ID, "not-found")
    assert answered != not_found.is_displayed()
    if not answered:
        assert "Not in the documents" in not_found.text and "در اسناد نیست" in not_found.text
    browser.save_screenshot(str(ARTIFACTS / "web-not-found.png"))


def test_upload_through_the_page_then_ask_and_delete(browser: WebDriver, base_url: str, tmp_path: Path) -> None:
    path = tmp_path / "zayandeh.txt"
    path.write_text(ZAYANDEH, encoding="utf-8")
    open_page(browser, base_url)
    browser.find_element(By.ID, "upload-file").send_keys(str(path))
    browser.find_element(By.ID, "upload-button").click()
    wait_for(browser, lambda b: "zayandeh" in b.find_element(By.ID, "upload-status").text, "upload failed")
    wait_for(
        browser,
        lambda b: b.find_elements(By.CSS_SELECTOR, '#documents li[data-doc-id="zayandeh"]'),
        "the uploaded document is not listed",
    )

    ask(browser, "Which bridge crosses the Zayandeh River?")
    citation = assert_cited_and_highlighted(browser)
    assert "zayandeh ¶0" in citation.text
    assert "Si-o-se-pol" in citation.find_element(By.TAG_NAME, "mark").text
    assert direction(browser, browser.find_element(By.ID, "answer")) == "ltr"
    browser.save_screenshot(str(ARTIFACTS / "web-upload.png"))

    browser.find_element(By.CSS_SELECTOR, '[data-testid="delete-zayandeh"]').click()
    wait_for(browser, lambda b: b.switch_to.alert, "no confirmation asked").accept()
    wait_for(
        browser,
        lambda b: not b.find_elements(By.CSS_SELECTOR, '#documents li[data-doc-id="zayandeh"]'),
        "the deleted document is still listed",
    )
    assert_no_console_errors(browser)


def test_phone_width(browser: WebDriver, base_url: str) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )
    try:
        open_page(browser, base_url)
        ask(browser, PERSIAN_QUESTION)
        assert_cited_and_highlighted(browser)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        browser.save_screenshot(str(ARTIFACTS / "web-phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

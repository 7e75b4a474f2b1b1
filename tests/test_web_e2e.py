"""The pages in a real headless browser (Debian's Chromium, driven by Playwright).

The app runs as `kvp serve` in a child process on 127.0.0.1 and a free port, over the
statute index. Tests of how an answer looks run against a second server, in this process
(`fake_server`), whose `ask` gives the constructed answer of tests/test_web_answer.py, as
slowly as a test wants. Screenshots go to tests/artifacts/ (kept out of git) for a person
to look at.
Chromium must be installed (`apt-get install -y chromium chromium-driver`, as .ci/run does):
without it these tests fail rather than skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.request import urlopen

import pytest

from .helpers import HashingEncoder
from .test_web_answer import OLD_RULE, RULE, fake_answer, report_index  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from pipeline.embed import Encoder
    from pipeline.model import Answer
    from pipeline.search import Index

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
QUESTION = "Hvor lenge kan programmet vare?"
START_TIMEOUT = 180  # seconds: the server loads the index, encoder and theme model first


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(index: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`kvp serve` over an index in a child process; its base URL, stopped afterwards."""
    port = free_port()
    command = [sys.executable, "-c", "from pipeline.cli import app; app()", "serve",
               "--index", str(index), "--port", str(port)]  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env=env or dict(os.environ))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"kvp serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urlopen(f"{base}/api/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"kvp serve did not answer within {START_TIMEOUT} s:\n{log.read_text()}"
                )
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server(statute_index: Path) -> Iterator[str]:
    """`kvp serve` over the statute index; yields its base URL and stops it afterwards."""
    with served(statute_index, ARTIFACTS / "server.log") as base:
        yield base


class FakeServer:
    """The app in a thread of this process, answering every question with `fake_answer`
    after `delay` seconds."""

    def __init__(self, index_dir: Path) -> None:
        import uvicorn

        from pipeline.web import create_app

        app = create_app(index_dir, encoder=cast("Encoder", HashingEncoder()))
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.delay = 0.0
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="fake-server", daemon=True)

    def ask(self, index: Index, question: str, **kwargs: Any) -> Answer:
        time.sleep(self.delay)
        return fake_answer(index, question)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                pytest.fail("the in-process server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def fake_server(report_index: Path) -> Iterator[FakeServer]:  # noqa: F811
    served = FakeServer(report_index)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.answer.ask", served.ask)
        served.start()
        try:
            yield served
        finally:
            served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file() or shutil.which("chromium") is None:
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM} is missing): run "
            "`apt-get update && apt-get install -y chromium chromium-driver` (as .ci/run does)."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail('Playwright is not installed: run `pip install -e ".[dev]"`.')
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    opened.set_default_timeout(60_000)  # an answer embeds the question and its candidates
    yield opened
    context.close()


def shot(page: Page, name: str, *, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def ask(page: Page, base: str, question: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Spørsmål").fill(question)
    page.get_by_role("button", name="Spør", exact=True).click()
    page.wait_for_selector("#svar-tittel")


def test_ask_shows_an_answer_with_citations(server: str, page: Page) -> None:
    from playwright.sync_api import expect

    ask(page, server, QUESTION)
    expect(page.locator("#svar-tittel")).to_have_text("Svar")
    expect(page.locator(".answer-text .cite-link").first).to_be_visible()
    cards = page.locator("#kilder-tittel ~ article.card")
    assert cards.count() >= 1
    first = cards.first
    expect(first.locator("mark.quote")).to_be_visible()
    expect(first.locator(".meta")).to_contain_text("§")
    expect(first.locator(".citation-text")).to_contain_text("«")
    shot(page, "ask")
    shot(page, "ask-full", full=True)
    button = first.get_by_role("button", name="Kopier kilde")
    expect(button).to_be_visible()  # shown by the script; the citation text is there without it
    button.click()
    expect(first.locator(".copy-status")).to_have_text("Kopiert.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == first.locator(".citation-text").inner_text().strip()


def test_abstains_and_lists_the_nearest_sources(server: str, page: Page) -> None:
    from playwright.sync_api import expect

    ask(page, server, "Hva er månens masse i kilo?")
    expect(page.locator("#svar-tittel")).to_have_text("Kildene svarer ikke på dette")
    expect(page.locator("#treff-tittel")).to_have_text("Nærmeste kilder")
    shot(page, "abstain")


def test_a_source_opens_the_document_at_the_passage(server: str, page: Page) -> None:
    from playwright.sync_api import expect

    ask(page, server, QUESTION)
    source = page.locator("#kilder-tittel ~ article.card").first
    source.locator("h3 a").click()
    page.wait_for_url("**/dokument/**")
    assert "passasje=" in page.url and "#p-" in page.url
    current = page.locator("mark.passage.current").first
    expect(current).to_be_visible()
    expect(current).to_be_in_viewport()
    passage_id = page.url.split("#p-", 1)[1]
    assert current.get_attribute("data-passage") == passage_id.replace("%3A", ":")
    shot(page, "document")
    # a § reference in the text leads to the § page
    page.locator("article.document a[href^='/paragraf']").first.click()
    page.wait_for_url("**/paragraf?ref=**")
    expect(page.locator("h1")).to_contain_text("§")


def test_paragraph_page(server: str, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(server + "/paragraf")
    page.get_by_label("Paragraf").fill("sotjl § 35")
    page.get_by_role("button", name="Slå opp").click()
    expect(page.locator("h1")).to_have_text("§ 35. Kvalifiseringsstønad")
    expect(page.locator("#viser-til")).to_contain_text("Kilder som viser til sotjl § 35")
    expect(page.locator("mark.ref-hit").first).to_be_visible()
    shot(page, "paragraph", full=True)
    page.locator("#viser-til ~ article.card h3 a").first.click()
    expect(page.locator("mark.passage.current").first).to_be_visible()


def test_themes_page(server: str, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(server + "/temaer")
    expect(page.locator("table.theme-table").first).to_be_visible()
    assert page.locator(".chart svg.bar").count() == 4
    expect(page.get_by_role("heading", name="Temaer per år")).to_be_visible()
    expect(page.locator("table.heat-table")).to_be_visible()
    page.get_by_label("Tema", exact=True).select_option("funding")
    page.get_by_role("button", name="Vis passasjer").click()
    expect(page.locator(".result-count")).to_contain_text("Økonomi og finansiering")
    expect(page.locator(".theme-passages .probability").first).to_contain_text("Sannsynlighet")
    shot(page, "themes")
    shot(page, "themes-full", full=True)


def test_keyboard_reaches_the_search_box_and_button(server: str, page: Page) -> None:
    page.goto(server + "/")
    focused: list[str] = []
    for _ in range(15):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if focused[-1] == "q":
            break
    assert focused[0] == "A", focused  # the skip link comes first
    assert "q" in focused, f"Tab never reached the search box: {focused}"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused search box shows no focus outline"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "spor"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    shot(page, "keyboard-focus")
    page.keyboard.press("Enter")
    page.wait_for_selector("#svar-tittel")


def test_phone_layout_does_not_scroll_sideways(server: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(60_000)
    try:
        for path, name in (("/?q=" + QUESTION, "phone-ask"), ("/paragraf?ref=sotjl § 32",
                           "phone-paragraph"), ("/temaer", "phone-themes")):  # fmt: skip
            phone.goto(server + path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width}px wide on a 390px screen"
            shot(phone, name, full=True)
    finally:
        context.close()


# The answer's layout, over the fake server ------------------------------------------------


def no_sideways_scroll(page: Page, width: int) -> None:
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, f"{page.url} is {scrolled}px wide on a {width}px screen"


# Half a second after the submit, the waiting page notes what it shows. Playwright's locators,
# scripts and screenshots all wait for a pending navigation to finish, so the note is read
# on the next page, and the screenshot of the waiting page is taken through CDP.
RECORD_WAITING = """() => document.getElementById("sporsmal").addEventListener("submit", () =>
  setTimeout(() => {
    const button = document.getElementById("spor");
    sessionStorage.setItem("waiting", JSON.stringify({
      text: button.textContent, disabled: button.disabled,
      form: document.getElementById("sporsmal").getAttribute("aria-busy"),
      region: document.getElementById("svar-omrade").getAttribute("aria-busy"),
      status: document.getElementById("spor-status").textContent}));
  }, 500))"""


def cdp_shot(page: Page, name: str) -> None:
    import base64

    session = page.context.new_cdp_session(page)
    data = session.send("Page.captureScreenshot", {"format": "png"})["data"]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(base64.b64decode(data))


def test_the_button_says_it_is_fetching_and_focus_lands_on_the_answer(
    fake_server: FakeServer, page: Page
) -> None:
    from playwright.sync_api import expect

    page.goto(fake_server.base + "/")
    page.get_by_label("Spørsmål").fill(QUESTION)
    page.evaluate(RECORD_WAITING)
    fake_server.delay = 3.0
    try:
        page.locator("#spor").click(no_wait_after=True)
        time.sleep(1)
        cdp_shot(page, "ask-waiting")
        page.wait_for_selector("#svar-tittel")
    finally:
        fake_server.delay = 0.0
    waiting = json.loads(page.evaluate("sessionStorage.getItem('waiting')") or "{}")
    assert waiting == {"text": "Henter svar …", "disabled": True, "form": "true",
                       "region": "true", "status": "Henter svar. Det kan ta noen sekunder."}  # fmt: skip
    heading = page.locator("#svar-tittel")
    expect(heading).to_be_focused()
    assert heading.get_attribute("tabindex") == "-1"
    expect(page.locator("#spor")).to_have_text("Spør")
    expect(page.locator("#spor")).to_be_enabled()


def test_back_to_the_form_is_not_left_waiting(fake_server: FakeServer, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(fake_server.base + "/")
    page.get_by_label("Spørsmål").fill(QUESTION)
    page.locator("#spor").click()
    page.wait_for_selector("#svar-tittel")
    page.go_back()
    expect(page.locator("#spor")).to_have_text("Spør")
    expect(page.locator("#spor")).to_be_enabled()


def test_a_blank_question_says_what_to_do(fake_server: FakeServer, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(fake_server.base + "/")
    page.get_by_label("Spørsmål").fill("   ")  # passes `required`; the server says so
    page.locator("#spor").click()
    page.wait_for_selector("#feil-tittel")
    expect(page.locator("#feil-tittel")).to_have_text("Skriv et spørsmål")
    expect(page.locator("#feil-tittel")).to_be_focused()
    shot(page, "error-blank-question")


def test_answer_with_sections_and_a_superseded_rule(fake_server: FakeServer, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{fake_server.base}/?q={QUESTION}")
    answer = page.locator("section.answer")
    expect(answer.locator("h3")).to_have_text(["Regelverket", "Fra rapportene"])
    expect(page.locator(".notice.note")).to_have_text("Kildene er på norsk.")
    expect(answer.locator(".question-type")).to_have_text("Spørsmål om regelverket")
    expect(answer.locator(".confidence")).to_contain_text("Sikkerhet: 82 %")
    expect(answer.locator(".outdated-quote")).to_have_text(OLD_RULE)
    badge = answer.locator("a.tag.outdated")
    expect(badge).to_have_accessible_name("Utdatert: se gjeldende regel under kilde 2")
    card = page.locator("#kilde-2")
    expect(card.locator("h3 .tag.outdated")).to_have_text("Utdatert")
    expect(card.locator(".current-rule")).to_contain_text(f"Gjeldende regel: «{RULE}»")
    expect(card.locator(".current-rule")).to_contain_text("(endret, i kraft fra 1. juli 2024)")
    expect(page.locator("#kilde-1 .superseded")).to_have_count(0)
    no_sideways_scroll(page, 1280)
    shot(page, "answer-sections")
    shot(page, "answer-sections-full", full=True)
    badge.click()  # leads to the current rule on the card …
    expect(page.locator("#kilde-2-gjeldende")).to_be_in_viewport()
    card.locator(".current-rule a").click()  # … and from there to the § page
    page.wait_for_url("**/paragraf?ref=**")
    expect(page.locator("h1")).to_contain_text("§ 35")


def test_answer_and_error_pages_on_a_phone(fake_server: FakeServer, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    try:
        for path, name in ((f"/?q={QUESTION}", "phone-answer-sections"),
                           ("/dokument/finnes-ikke", "phone-error"),
                           ("/?q=", "phone-error-blank-question")):  # fmt: skip
            phone.goto(fake_server.base + path)
            no_sideways_scroll(phone, 390)
            shot(phone, name, full=True)
    finally:
        context.close()


def test_error_page(fake_server: FakeServer, page: Page) -> None:
    from playwright.sync_api import expect

    response = page.goto(fake_server.base + "/dokument/finnes-ikke")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Fant ikke siden")
    expect(page.get_by_role("alert")).to_contain_text("Dokumentet «finnes-ikke» finnes ikke")
    expect(page.get_by_role("link", name="alle dokumentene")).to_be_visible()
    shot(page, "error-404")
    response = page.goto(fake_server.base + "/paragraf?ref=sotjl § 999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("§ 999 finnes ikke i sosialtjenesteloven")
    shot(page, "error-paragraph")


def test_the_form_works_without_javascript(fake_server: FakeServer, browser: Browser) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    try:
        plain.goto(fake_server.base + "/")
        plain.get_by_label("Spørsmål").fill(QUESTION)
        plain.locator("#spor").click()
        plain.wait_for_selector("#svar-tittel")
        expect(plain.locator("section.answer h3").first).to_have_text("Regelverket")
    finally:
        context.close()

"""End to end in a real browser: the real server, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from guideqa.api.settings import Settings
from tests.api.chat_stub import Stub

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


READ_TOKEN = "browser-read-token-0123456789"


def _serve(
    index_settings: Settings, records: Path, extra: dict[str, str] | None = None
) -> Iterator[str]:
    """`guideqa serve` over an index, with recording on (and `extra` settings), until the
    test module ends."""
    port = _free_port()
    env = {
        **os.environ,
        "GUIDEQA_INDEX_DIR": str(index_settings.index.directory),
        "GUIDEQA_EMBEDDING__CACHE_DIR": str(index_settings.embedding.cache_dir),
        "GUIDEQA_RECORDS__ENABLED": "true",
        "GUIDEQA_RECORDS__PATH": str(records / "answers.sqlite"),
        "GUIDEQA_RECORDS__READ_TOKEN": READ_TOKEN,
        **(extra or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "guideqa.api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the server exited early:\n{output}")
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the server did not become ready within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(
    real_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from _serve(real_index_settings, tmp_path_factory.mktemp("records"))


@pytest.fixture(scope="module")
def discrepancy_server(
    discrepancy_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from _serve(discrepancy_index_settings, tmp_path_factory.mktemp("records"))


def _launch(playwright: object) -> object:
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


def test_ask_hover_citation_and_follow_up(server: str) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (apt-get install chromium)"
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.goto(server)
        page.fill("#question", "Should women 65 and older be screened for osteoporosis?")
        page.click("#ask-button")
        page.wait_for_selector(".turn .references li")
        assert page.locator(".turn .bottom-line").first.inner_text().strip()
        assert page.locator(".answer-section h3").first.inner_text() == "From the Guidelines"
        citation = page.locator(".answer-section .cite").first
        citation.hover()
        passage = page.locator("#passage")
        passage.wait_for(state="visible")
        assert "bone measurement testing" in passage.inner_text()
        assert "U.S. Preventive Services Task Force" in passage.inner_text()

        # Shift+Enter is a new line; Enter asks (as in chat tools)
        page.fill("#followup", "What about")
        page.press("#followup", "Shift+Enter")
        assert page.input_value("#followup") == "What about\n"
        page.fill("#followup", "What about in men?")
        page.press("#followup", "Enter")
        page.wait_for_selector(".turn:nth-of-type(2) .interpreted")
        interpreted = page.locator(".turn:nth-of-type(2) .interpreted").inner_text()
        assert "men" in interpreted and "osteoporosis" in interpreted
        assert page.locator("#disclaimer").is_visible()
        page.screenshot(path=str(ARTIFACTS / "browser_followup.png"), full_page=True)

        page.click("#new-conversation")
        assert page.locator(".turn").count() == 0
        page.fill("#question", "Can warfarin be used during pregnancy?")
        page.press("#question", "Enter")
        page.wait_for_selector(".turn .answer-section .tag")
        assert page.locator(".answer-section .tag").first.inner_text() == "pregnancy"
        page.screenshot(path=str(ARTIFACTS / "browser_population_tag.png"), full_page=True)
        browser.close()


def test_feedback_controls_and_the_permalink_page(server: str) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})  # type: ignore[attr-defined]
        page.goto(server)
        page.wait_for_selector("#index-status:not(:empty)")  # readyz said recording is on
        page.fill("#question", "Should women 65 and older be screened for osteoporosis?")
        page.click("#ask-button")
        page.wait_for_selector(".turn .feedback")
        page.click(".feedback .not-helpful")
        status = page.locator(".feedback-status").first
        page.wait_for_selector(".feedback-status:has-text('Thank you')")
        page.once("dialog", lambda dialog: dialog.accept("the age is wrong"))
        page.locator(".answer-section .report").first.click()
        page.wait_for_timeout(300)
        assert "Thank you" in status.inner_text()
        permalink = page.locator(".feedback .permalink").get_attribute("href")
        assert permalink and permalink.startswith("a/")

        page.goto(f"{server}/{permalink}")
        page.wait_for_selector("#token-form:not([hidden])")
        assert page.locator(".turn").count() == 0  # nothing shown without the token
        page.fill("#token", READ_TOKEN)
        page.click("#token-form button")
        page.wait_for_selector("#banner:not([hidden])")
        banner = page.locator("#banner").inner_text()
        assert "This answer was given on" in banner and "from index v000001" in banner
        assert "osteoporosis" in page.locator(".turn .bottom-line").inner_text().lower()
        assert page.locator(".feedback").count() == 0  # read-only
        page.screenshot(path=str(ARTIFACTS / "browser_permalink.png"), full_page=True)
        browser.close()  # type: ignore[attr-defined]


def test_where_sources_differ_is_a_table_under_the_bottom_line(discrepancy_server: str) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})  # type: ignore[attr-defined]
        page.goto(discrepancy_server)
        page.fill(
            "#question",
            "What blood pressure target should I aim for in a 55-year-old with hypertension and "
            "stage 3 chronic kidney disease?",
        )
        page.click("#ask-button")
        page.wait_for_selector(".turn:not(.draft) .discrepancy table")
        # right under the bottom line, before the sections
        assert (
            page.evaluate(
                "document.querySelector('.turn .bottom-line').nextElementSibling.className"
            )
            == "discrepancy"
        )
        title = page.locator(".discrepancy h3").inner_text()
        assert title == "Where sources differ: blood pressure treatment goal (systolic)"
        rows = page.locator(".discrepancy tbody tr")
        assert rows.count() == 2
        cells = [rows.nth(i).inner_text() for i in range(2)]
        assert any("less than 140/90 mmHg" in c and "renal impairment" in c for c in cells)
        assert any("<150 mmHg" in c and "2014" in c for c in cells)
        page.locator(".discrepancy .cite").first.hover()
        page.locator("#passage").wait_for(state="visible")
        assert "mmHg" in page.locator("#passage").inner_text()
        page.screenshot(path=str(ARTIFACTS / "browser_discrepancy.png"), full_page=True)
        browser.close()


def test_prose_from_a_chat_model_appears_part_by_part(
    discrepancy_index_settings: Settings, stub: tuple[Stub, str], tmp_path: Path
) -> None:
    """The page shows the verified bottom line (and where sources differ) while the model is
    still writing the sections, then the whole answer."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    state, url = stub
    state.mode = "echo"  # the stub writes from the first sentences of the passages it is sent
    state.gate = threading.Event()  # and stops after the bottom line until the test says so
    llm = {
        "GUIDEQA_LLM__PROVIDER": "openai-compatible",
        "GUIDEQA_LLM__MODEL": "stub-model",
        "GUIDEQA_LLM__BASE_URL": url,
        "GUIDEQA_LLM__API_KEY": "stub-key-0123",
    }
    server = _serve(discrepancy_index_settings, tmp_path, llm)
    base = next(server)
    with playwright_api.sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})  # type: ignore[attr-defined]
        page.goto(base)
        page.fill(
            "#question",
            "What blood pressure target should I aim for in a 55-year-old with hypertension and "
            "stage 3 chronic kidney disease?",
        )
        page.click("#ask-button")
        page.wait_for_selector(".turn.draft .bottom-line")
        # the model has not written the sections yet: the page shows what is verified so far
        assert not state.gate.is_set()
        assert page.locator(".turn.draft .answer-section").count() == 0
        assert page.locator(".turn.draft .discrepancy").count() == 1
        assert "checked against its passage" in page.locator(".turn.draft .writing").inner_text()
        partial = page.locator(".turn.draft .bottom-line").inner_text()
        page.screenshot(path=str(ARTIFACTS / "browser_streaming_partial.png"), full_page=True)
        state.gate.set()
        page.wait_for_selector(".turn:not(.draft) .references li")
        assert page.locator(".turn .bottom-line").inner_text() == partial
        verified = page.locator(".answer-section .verified").first
        verified.hover()
        page.locator("#passage mark").wait_for(state="visible")
        assert page.locator("#passage mark").inner_text().strip()
        page.screenshot(path=str(ARTIFACTS / "browser_streaming_done.png"), full_page=True)
        browser.close()
    next(server, None)

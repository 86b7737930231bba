"""A Spanish- and an Arabic-speaking person in a real Chromium: the form to the results, the
crisis help and the printed checklist in their language, right-to-left mirrored, axe-core clean."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import SCREENSHOTS, axe_violations

pytestmark = pytest.mark.slow


@pytest.fixture()
def speaking(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Open pages in a browser set to a language: speaking('es') gives a page."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def open_in(language: str) -> Any:
        context = browser.new_context(locale=language, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        pages.append(tab)
        return tab

    yield open_in
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for number, tab in enumerate(pages):
        tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-{number}.png"), full_page=True)
    for context in contexts:
        context.close()


def test_a_spanish_speaker_goes_from_the_form_to_explained_matches(
    server: str, speaking: Any
) -> None:
    page = speaking("es-ES")
    page.goto(f"{server}/form")
    assert page.title() == "Buscar terapeuta · matcher"
    assert page.locator("html").get_attribute("lang") == "es"
    assert axe_violations(page) == []
    page.get_by_label("Después de un hecho traumático (TEPT)").check()
    page.get_by_label("Ánimo bajo y depresión").check()
    # The browser's Spanish comes ticked, and the clinic's English: this person unticks it.
    assert page.locator("#language-es").is_checked()  # "Español (español)"
    page.locator("#language-en").uncheck()
    page.get_by_label("En línea (videollamada)").check()
    page.get_by_label("Lo máximo que puede pagar por sesión (EUR)").fill("90")
    page.get_by_role("button", name="Mostrar mis resultados").click()
    page.wait_for_url(f"{server}/results")
    assert page.locator("h1").inner_text() == "Sus resultados"
    modalities = page.locator(".modalities > li > h3").all_inner_texts()
    assert modalities[:2] == ["TCC centrada en el trauma", "EMDR"]
    first = page.locator("article.card").first
    assert "Habla español, como pidió" in (first.text_content() or "")
    assert "por sesión" in first.locator(".facts").inner_text()
    assert axe_violations(page) == []


def test_switching_language_in_the_browser_keeps_the_answers(server: str, speaking: Any) -> None:
    page = speaking("es-ES")
    page.goto(f"{server}/form")
    page.get_by_label("Duelo y pérdida").check()
    page.get_by_label("Ciudad").fill("Rotterdam")
    page.get_by_role("button", name="Nederlands").click()
    assert page.locator("html").get_attribute("lang") == "nl"
    assert page.get_by_label("Rouw en verlies").is_checked()
    assert page.get_by_label("Plaats").input_value() == "Rotterdam"
    assert axe_violations(page) == []


def test_an_arabic_speaker_gets_the_crisis_help_first_right_to_left(
    server: str, speaking: Any
) -> None:
    page = speaking("ar")
    page.goto(f"{server}/form")
    html = page.locator("html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
    # Mirrored: the site's name starts on the right, the form controls sit right of their text.
    width = page.viewport_size["width"]
    assert page.locator(".site-name").bounding_box()["x"] > width / 2
    box = page.locator("#difficulty-depression").bounding_box()
    label = page.locator("label[for=difficulty-depression]").bounding_box()
    assert box["x"] > label["x"]
    assert axe_violations(page) == []
    page.get_by_label("تدنّي المزاج والاكتئاب").check()
    page.locator("#field-self_harm_thoughts").get_by_label("نعم").check()
    page.get_by_role("button", name="اعرض نتائجي").click()
    page.wait_for_url(f"{server}/results")
    crisis = page.locator("#crisis")
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "crisis"
    assert crisis.get_by_role("heading").inner_text() == "دعم لك، الآن"
    message = crisis.locator(".crisis-message").inner_text()
    assert message.startswith("أخبرتنا أنه راودتك أفكار بإيذاء نفسك")
    assert "999" in message  # the clinic's country (GB) numbers, in Arabic words
    assert crisis.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # The list of services is indented from the right, as Arabic reads.
    resources = crisis.locator(".crisis-resources")
    padding = resources.evaluate(
        "el => [getComputedStyle(el).paddingRight, getComputedStyle(el).paddingLeft]"
    )
    assert padding[0] != "0px" and padding[1] == "0px"
    assert axe_violations(page) == []


def test_an_arabic_speaker_prints_a_mirrored_checklist(server: str, speaking: Any) -> None:
    page = speaking("ar")
    page.goto(f"{server}/checklist?modalities=emdr")
    assert page.locator("h1").inner_text() == "أسئلة تطرحها على المعالج"
    assert axe_violations(page) == []
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    question = page.locator(".questions li").first
    # The box to tick is drawn on the right of each question (inline start in Arabic).
    box = question.locator("input.tick").bounding_box()
    words = question.locator(".question").bounding_box()
    assert box is not None and words is not None and box["x"] > words["x"]
    page.emulate_media(media="screen")

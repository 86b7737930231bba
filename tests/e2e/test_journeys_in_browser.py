"""Both journeys in Chromium, on a phone (390x844) and a laptop (1280x900), with screenshots.

A person goes through every step of the form, goes back, changes an answer, sees the results and
asks the clinic about one therapist; a receptionist takes a call, asks why not, saves the
referral, finds it in the queue, books it with an offered therapist and writes a note. Beside
them, the checks of issue 16: the focus ring's contrast, no sideways scrolling at 320 px, an
error link that focuses the first choice of its group, Back keeping age and budget.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import (
    EVERY_IMPACT,
    SCREENSHOTS,
    STAFF_PASSWORD,
    STAFF_USERNAME,
    axe_violations,
)

# Chromium against gunicorn.
pytestmark = pytest.mark.slow

SIZES = {"phone": (390, 844), "laptop": (1280, 900)}


def shot(page: Any, name: str) -> None:
    """Keep a screenshot of this moment in test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sized(page: Any, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})


def no_sideways_scroll(page: Any) -> bool:
    """Whether the page fits its viewport's width (WCAG 1.4.10 reflow)."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_a_person_goes_from_the_first_question_to_a_confirmation(
    server: str, page: Any, size: str
) -> None:
    sized(page, size)
    page.context.clear_cookies()
    page.goto(f"{server}/")
    page.wait_for_url(f"{server}/find/where")
    assert page.locator("#progress").inner_text() == "Step 1 of 6"
    assert axe_violations(page, EVERY_IMPACT) == []
    shot(page, f"person-{size}-1-where")
    page.get_by_label("In person").check()
    page.get_by_label("Which city would you go to sessions in?").fill("Madrid")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{server}/find/help")
    page.get_by_label("After a traumatic event (PTSD)").check()
    page.locator("#field-self_harm_thoughts").get_by_label("No").check()
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{server}/find/questionnaires")
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{server}/find/preferences")
    # The browser's language and the clinic's come ticked (English, for a London clinic): a
    # Spanish speaker ticks Spanish and unticks English.
    assert page.locator("#language-en").is_checked()
    page.locator("#language-es").check()
    page.locator("#language-en").uncheck()
    page.get_by_label("Your age").fill("34")
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{server}/find/payment")
    page.get_by_label("I will pay myself").check()
    page.get_by_label("Most you can pay per session (EUR)").fill("90")
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{server}/find/check")

    # Back: every answer is still there (from the server), and no "Confirm form resubmission".
    page.go_back()
    page.wait_for_url(f"{server}/find/payment")
    assert page.get_by_label("Most you can pay per session (EUR)").input_value() == "90"
    page.go_back()
    page.wait_for_url(f"{server}/find/preferences")
    assert page.get_by_label("Your age").input_value() == "34"
    assert not page.locator("#language-en").is_checked()  # unticked stays unticked
    page.go_forward()
    page.go_forward()
    page.wait_for_url(f"{server}/find/check")
    assert page.locator("h1").inner_text() == "Check your answers"
    assert axe_violations(page, EVERY_IMPACT) == []
    shot(page, f"person-{size}-2-check")

    # Change one answer: back to the check page, changed.
    page.locator("#answer-age").get_by_role("link", name="Change").click()
    page.get_by_label("Your age").fill("35")
    page.get_by_role("button", name="Save and go back to your answers").click()
    page.wait_for_url(f"{server}/find/check")
    assert page.locator("#answer-age dd").first.inner_text() == "35"

    page.get_by_role("button", name="Show my matches").click()
    page.wait_for_url(f"{server}/find/results")
    # Therapists first: the first card starts within the first screen.
    first = page.locator("article.card").first
    assert first.locator(".card-title").inner_text() == "Lucía Fernández Ortega (she/her)"
    assert first.bounding_box()["y"] < SIZES[size][1]
    assert first.locator(".fit").inner_text() == "Strong fit"
    assert no_sideways_scroll(page)
    assert axe_violations(page, EVERY_IMPACT) == []
    shot(page, f"person-{size}-3-results")

    # Back from the results to the check page and forward again: plain GETs, no resubmission.
    page.go_back()
    page.wait_for_url(f"{server}/find/check")
    page.go_forward()
    page.wait_for_url(f"{server}/find/results")

    page.get_by_role("button", name="Ask the clinic about Lucía Fernández Ortega").click()
    page.wait_for_url(f"{server}/ask")
    assert page.locator("h1").inner_text() == "Ask the clinic about Lucía Fernández Ortega"
    page.get_by_role("button", name="Send my request").click()
    assert page.locator("#error-summary").is_visible()
    assert page.title().startswith("Error: ")
    page.get_by_label("Your name").fill(f"Noa {size}")
    page.get_by_label("E-mail", exact=True).fill("noa@example.org")
    page.get_by_label("By e-mail").check()
    page.get_by_label("Keep my answers and this request").check()
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_url(f"{server}/ask/sent")
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", page.locator("#reference").inner_text())
    assert re.match(
        r"The clinic will contact you about Lucía Fernández Ortega by "
        r"(Monday|Tuesday|Wednesday|Thursday|Friday) \d{1,2} [A-Z][a-z]+, by email\.",
        page.locator("#next-step").inner_text(),
    )
    assert axe_violations(page, EVERY_IMPACT) == []
    shot(page, f"person-{size}-4-sent")


def test_risk_answered_on_a_step_puts_crisis_help_first_on_the_next(server: str, page: Any) -> None:
    sized(page, "phone")
    page.goto(f"{server}/find/help")
    page.get_by_label("Grief and loss").check()
    page.locator("#field-self_harm_thoughts").get_by_label("Yes").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{server}/find/questionnaires")
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "crisis"
    assert page.locator("#crisis .crisis-emergency").inner_text() == "Emergency: 999"
    page.goto(f"{server}/find/where")
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "crisis"
    shot(page, "person-phone-crisis-on-a-step")
    page.get_by_role("button", name="Clear my answers").click()
    page.wait_for_url(f"{server}/find/where?cleared=1")
    assert page.locator("#crisis").count() == 0


# --- accessibility checks of issue 16 ------------------------------------------------------------

CONTRAST = """
el => {
  const rgb = s => (s.match(/rgba?\\(([^)]+)\\)/) || [, "0,0,0,0"])[1].split(",").map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  let node = el.parentElement, bg = [255, 255, 255];
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) { bg = c.slice(0, 3); break; }
    node = node.parentElement;
  }
  const style = getComputedStyle(el);
  const ring = rgb(style.outlineColor).slice(0, 3);
  const shadow = rgb(style.boxShadow).slice(0, 3);
  return Math.max(
    style.outlineStyle === "none" ? 0 : ratio(ring, bg),
    style.boxShadow === "none" ? 0 : ratio(shadow, bg),
  );
}
"""


def test_the_focus_ring_contrasts_at_least_3_to_1_wherever_it_is(server: str, page: Any) -> None:
    page.goto(f"{server}/form")
    # Keyboard focus, so that :focus-visible applies: the header's links, then the form's.
    ratios = {}
    for _ in range(12):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "(() => { const e = document.activeElement; return e.id || e.textContent.trim().slice(0, 30) || e.tagName; })()"
        )
        ratios[label] = page.evaluate(f"({CONTRAST})(document.activeElement)")
    assert ratios and all(r >= 3 for r in ratios.values()), ratios


REFLOW_PAGES = {
    "where": "/find/where",
    "questionnaires": "/find/questionnaires",
    "one-page-form": "/form",
    "checklist": "/checklist?modalities=emdr",
    "profile": "/therapists/t-016",
}


@pytest.mark.parametrize("path", list(REFLOW_PAGES.values()), ids=list(REFLOW_PAGES))
def test_pages_reflow_at_320_px_without_scrolling_sideways(
    server: str, page: Any, path: str
) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{server}{path}")
    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")
    assert no_sideways_scroll(page), path


def test_the_results_reflow_at_320_px(server: str, page: Any) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{server}/form")
    page.get_by_label("After a traumatic event (PTSD)").check()
    page.get_by_role("button", name="Show my matches").click()
    page.wait_for_url(f"{server}/results")
    for details in page.locator("details").all():
        details.evaluate("d => d.open = true")
    assert no_sideways_scroll(page)
    shot(page, "results-320")


def test_an_error_link_focuses_the_first_choice_of_its_group(server: str, page: Any) -> None:
    page.goto(f"{server}/form")
    page.get_by_role("button", name="Show my matches").click()
    page.locator("#error-summary a").first.click()
    focused = page.evaluate("document.activeElement.id")
    first = page.locator("#field-difficulties input").first.get_attribute("id")
    assert focused == first


def test_back_after_the_results_keeps_age_and_budget_on_the_one_page_form(
    server: str, page: Any
) -> None:
    page.goto(f"{server}/form")
    page.get_by_label("Grief and loss").check()
    page.get_by_label("Your age").fill("41")
    page.get_by_label("Most you can pay per session (EUR)").fill("70")
    page.get_by_role("button", name="Show my matches").click()
    page.wait_for_url(f"{server}/results")
    page.go_back()
    page.wait_for_url(f"{server}/form")
    assert page.get_by_label("Your age").input_value() == "41"
    assert page.get_by_label("Most you can pay per session (EUR)").input_value() == "70"


def test_the_questionnaire_answers_stay_in_order_on_a_phone(server: str, page: Any) -> None:
    sized(page, "phone")
    page.goto(f"{server}/find/questionnaires")
    page.locator("#phq9-section summary").click()
    boxes = [page.locator(f"label[for='phq9-1-{n}']").bounding_box() for n in range(4)]
    tops = [b["y"] for b in boxes]
    assert tops == sorted(tops) and len(set(tops)) == 4  # one column, in order
    assert len({round(b["x"]) for b in boxes}) == 1


def test_inputs_are_16_px_and_targets_24_px(server: str, page: Any) -> None:
    page.goto(f"{server}/form")
    sizes = page.evaluate(
        "[...document.querySelectorAll('input[type=email], input[type=tel], input[type=text]')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 16
    boxes = page.evaluate(
        "[...document.querySelectorAll('input[type=checkbox], input[type=radio], button')]"
        ".filter(e => e.offsetParent).map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])"
    )
    assert boxes and all(w >= 24 and h >= 24 for w, h in boxes), boxes


# --- the front desk ---------------------------------------------------------------------------------


def staff_log_in(page: Any, server: str) -> None:
    page.goto(f"{server}/staff")
    if "/staff/login" in page.url:
        page.get_by_label("Name").fill(STAFF_USERNAME)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/staff")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_receptionist_takes_a_call_to_a_booked_referral_in_one_screen(
    server: str, page: Any, size: str
) -> None:
    sized(page, size)
    page.context.clear_cookies()
    staff_log_in(page, server)
    page.get_by_role("button", name="New call").click()
    page.get_by_label("After a traumatic event (PTSD)").check()
    page.get_by_label("Spanish").check()
    page.get_by_label("In person").check()
    page.get_by_label("Caller's city").fill("Madrid")
    page.get_by_label("Caller's age").fill("40")
    page.get_by_role("button", name="Find matches").click()
    assert (
        page.locator(".ranked .card-title").first.inner_text() == "Lucía Fernández Ortega (she/her)"
    )
    shot(page, f"desk-{size}-1-matches")

    # To the roster mid-call and back: the answers and the list come back.
    page.get_by_role("link", name="Roster").click()
    page.get_by_role("link", name="Console").click()
    assert page.get_by_label("Caller's age").input_value() == "40"
    assert page.locator(".ranked .card-title").count() > 0

    page.get_by_label("Why (not) this therapist?").select_option("t-002")
    page.get_by_role("button", name="Ask why not").click()
    assert page.locator("#why-summary").is_visible() and page.locator(".ranked").is_visible()
    assert axe_violations(page) == []
    shot(page, f"desk-{size}-2-why-not")

    save = page.locator("#save-referral")
    caller = f"Caller {size}"
    save.get_by_label("Caller's name").fill(caller)
    save.get_by_label("Caller's phone").fill("+44 20 7946 0005")
    save.get_by_label("The caller agreed").check()
    save.get_by_label("Their consent in their words").fill("Yes, ring me back")
    save.get_by_role("button", name="Save as referral").click()
    reference = page.locator("#referral-saved strong").inner_text()
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", reference)

    page.get_by_role("link", name="Referrals").click()
    page.get_by_label("Search").fill(reference)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=caller).click()
    assert page.locator("h1").inner_text() == f"Referral from {caller}"
    assert page.locator("#contact a[href^='tel:']").inner_text() == "+44 20 7946 0005"
    page.get_by_role("button", name="Assign to me").click()
    page.get_by_label("Add a note").fill("Rang, no answer")
    page.get_by_role("button", name="Add the note").click()
    assert "Rang, no answer" in page.locator("#notes").inner_text()
    page.get_by_label("New status").select_option("contacted")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("New status").select_option("booked")
    offered = page.locator("#booked-with optgroup[label='Offered to them'] option").first
    page.get_by_label("Booked with (for booked)").select_option(offered.get_attribute("value"))
    page.get_by_role("button", name="Save").click()
    assert page.locator("#status").inner_text().startswith("booked with ")
    assert axe_violations(page) == []
    shot(page, f"desk-{size}-3-booked")

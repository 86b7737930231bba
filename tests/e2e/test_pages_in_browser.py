"""A person, a receptionist and a printer, in a real headless Chromium against gunicorn."""

from __future__ import annotations

from typing import Any

import requests

from tests.e2e.conftest import STAFF_PASSWORD, STAFF_USERNAME, axe_violations


def test_a_person_fixes_a_mistake_and_gets_explained_matches(server: str, page: Any) -> None:
    page.goto(f"{server}/")
    assert page.title() == "Find a therapist · matcher"
    assert axe_violations(page) == []
    # Keyboard and labels: everything is reached by its label, as a screen reader would.
    page.get_by_label("After a traumatic event (PTSD)").check()
    page.get_by_label("Low mood and depression").check()
    page.get_by_label("Spanish").check()
    page.get_by_label("In person").check()
    page.get_by_label("Most you can pay per session (EUR)").fill("90")
    page.get_by_role("button", name="Show my matches").click()

    # Forgot the city: the message is beside the city field, and every answer is still there.
    city_error = page.locator("#city-error")
    assert (
        city_error.text_content()
        == "Error: Enter the city where you would go to sessions, or choose online."
    )
    assert page.locator("#error-summary").evaluate("el => el === document.activeElement")
    assert page.get_by_label("After a traumatic event (PTSD)").is_checked()
    assert page.get_by_label("Spanish").is_checked()
    assert page.get_by_label("In person").is_checked()
    assert page.get_by_label("Most you can pay per session (EUR)").input_value() == "90"
    assert axe_violations(page) == []

    page.get_by_label("City").fill("Madrid")
    page.get_by_role("button", name="Show my matches").click()
    page.wait_for_url(f"{server}/results")  # answers travel in the POST body, never the URL
    assert page.locator("h1").inner_text() == "Your matches"
    modalities = page.locator(".modalities > li > h3").all_inner_texts()
    assert modalities[:3] == ["Cognitive behavioural therapy (CBT)", "Trauma-focused CBT", "EMDR"]
    cards = page.locator("article.card")
    assert cards.count() == 5
    first = cards.first
    assert first.locator(".card-title").inner_text() == "Lucía Fernández Ortega (she/her)"
    assert "Speaks Spanish, as you asked" in first.locator(".reasons").inner_text()
    # The bar chart is drawn: a full bar for 40 of 40 points, a half bar for 12.5 of 25.
    bars = first.locator(".bar-fill")
    widths = [
        round(b.bounding_box()["width"] / bars.nth(0).locator("..").bounding_box()["width"], 2)
        for b in bars.all()[:2]
    ]
    assert widths[0] >= 0.97 and 0.45 <= widths[1] <= 0.55
    assert axe_violations(page) == []


def test_urgent_answers_show_crisis_resources_before_anything_else(server: str, page: Any) -> None:
    page.goto(f"{server}/")
    page.get_by_label("Low mood and depression").check()
    page.locator("#field-self_harm_thoughts").get_by_label("Yes").check()
    page.get_by_role("button", name="Show my matches").click()
    page.wait_for_url(f"{server}/results")
    crisis = page.locator("#crisis")
    assert page.evaluate("document.querySelector('main').firstElementChild.id") == "crisis"
    assert crisis.get_by_role("heading").inner_text() == "Support for you, now"
    assert crisis.bounding_box()["y"] < page.locator("#modalities-title").bounding_box()["y"]
    resources = crisis.locator(".crisis-resources li").all_inner_texts()
    assert [r.split(":")[0] for r in resources] == [
        "NHS 111 (mental health)",
        "Samaritans",
        "Shout",
        "Emergency services",
    ]
    assert crisis.locator(".crisis-emergency").inner_text() == "Emergency: 999"
    assert axe_violations(page) == []


def test_the_checklist_opens_from_the_results_and_prints_without_navigation(
    server: str, page: Any
) -> None:
    page.goto(f"{server}/")
    page.get_by_label("After a traumatic event (PTSD)").check()
    page.get_by_label("Online (video)").check()
    page.get_by_role("button", name="Show my matches").click()
    page.locator("#checklist-link").click()
    page.wait_for_url("**/checklist?**")
    assert page.url == f"{server}/checklist?modalities=tf_cbt,emdr,psychodynamic&format=online"
    assert page.locator("h1").inner_text() == "Questions to ask a therapist"
    ids = page.locator("[data-question]").evaluate_all("els => els.map(e => e.dataset.question)")
    assert ids[-6:] == [
        "tf_cbt.pacing",
        "cbt.homework",
        "emdr.preparation",
        "emdr.phases",
        "psychodynamic.length",
        "format.online",
    ]
    assert page.locator("#share-link").input_value() == page.url
    assert page.get_by_role("button", name="Print this checklist").is_visible()
    assert axe_violations(page) == []

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Print this checklist").is_visible()
    assert not page.locator("#share-link").is_visible()
    assert page.locator("[data-question='emdr.preparation']").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    page.emulate_media(media="screen")


def test_the_receptionist_logs_in_matches_a_caller_and_asks_why_not(server: str, page: Any) -> None:
    page.goto(f"{server}/staff")
    page.wait_for_url(f"{server}/staff/login?next=/staff")
    page.get_by_label("Name").fill(STAFF_USERNAME)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert (
        page.locator("#password-error").text_content()
        == "Error: That name or password is not right. Please try again."
    )
    page.get_by_label("Name").fill(STAFF_USERNAME)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_label("Password").press("Enter")  # keyboard only
    page.wait_for_url(f"{server}/staff")
    assert page.locator("h1").inner_text() == "Front-desk console"
    assert axe_violations(page) == []

    page.get_by_label("After a traumatic event (PTSD)").check()
    page.get_by_label("Spanish").check()
    page.get_by_label("In person").check()
    page.get_by_label("City").fill("Madrid")
    page.get_by_label("Most you can pay per session (EUR)").fill("90")
    page.get_by_role("button", name="Find matches").click()
    names = page.locator(".ranked .card-title").all_inner_texts()
    assert names[0] == "Lucía Fernández Ortega (she/her)"
    assert "Javier Morales Ruiz (he/him)" not in names

    page.get_by_label("Why (not) this therapist?").select_option("t-002")
    page.get_by_role("button", name="Ask why not").click()
    assert page.locator("#why-summary").inner_text() == (
        "Javier Morales Ruiz is not a match: not accepting new clients at the moment; "
        "fee 95 EUR is over your budget of 90 EUR."
    )
    assert page.get_by_label("After a traumatic event (PTSD)").is_checked()  # the call goes on
    assert axe_violations(page) == []

    page.get_by_role("link", name="Roster").click()
    page.get_by_label("Accepting new clients").check()
    page.get_by_label("Language").select_option("es")
    page.get_by_label("Kind of therapy").select_option("emdr")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#roster-count").inner_text() == "2 therapists"
    assert axe_violations(page) == []
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server}/staff/login?logged_out=1")
    page.goto(f"{server}/staff")
    page.wait_for_url(f"{server}/staff/login?next=/staff")


def test_a_person_asks_to_be_contacted_and_the_receptionist_books_them(
    queue_server: str, page: Any
) -> None:
    server = queue_server
    urgent = requests.post(
        f"{server}/api/v1/referrals",
        json={
            "intake": {"difficulties": ["depression"], "risk": {"self_harm_thoughts": True}},
            "contact": {"name": "Urgent Example", "phone": "+44 20 7946 0001"},
            "consent": True,
        },
        timeout=30,
    )
    assert urgent.status_code == 201 and urgent.json()["urgent"] is True
    page.goto(f"{server}/")
    page.get_by_label("Grief and loss").check()
    page.get_by_label("Your name").fill("Noa Example")
    page.get_by_label("Email").fill("noa@example.org")
    page.get_by_label("Keep my answers so that the clinic can contact me").check()
    page.get_by_role("button", name="Show my matches").click()
    assert page.locator("#referral-saved").inner_text() == (
        "Thank you. Someone from the clinic will contact you by email."
    )
    assert axe_violations(page) == []

    page.goto(f"{server}/staff/referrals")
    page.wait_for_url(f"{server}/staff/login?next=/staff/referrals")
    page.get_by_label("Name").fill(STAFF_USERNAME)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server}/staff/referrals")
    assert axe_violations(page) == []
    rows = page.locator("table.queue tbody tr")
    assert rows.nth(0).locator("td").all_inner_texts()[:3] == ["Urgent Example", "URGENT", "new"]
    assert rows.nth(1).locator("td").all_inner_texts()[:3] == ["Noa Example", "", "new"]
    page.get_by_role("link", name="Noa Example").click()
    assert page.locator("h1").inner_text() == "Referral from Noa Example"
    assert axe_violations(page) == []
    page.get_by_label("New status").select_option("contacted")
    page.get_by_role("button", name="Save").click()
    page.get_by_label("New status").select_option("booked")
    page.get_by_label("Booked with (for booked)").select_option("t-045")
    page.get_by_role("button", name="Save").click()
    assert page.locator("dl dd").first.inner_text() == "booked with Ruth Abernathy"

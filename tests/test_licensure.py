"""Licences, compacts, confirmations, access and affirming care: the roster's new fields.

`matcher check` refuses each bad value with one line; matching judges expiry by the clock it
is given, never the calendar; licensure and freshness can never be relaxed.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.matching import Matcher
from matcher.roster import load_roster
from matcher.rules import load_knowledge
from matcher.web import create_app
from tests.clock import TODAY
from tests.files import read_yaml, replace_first

KNOWLEDGE = load_knowledge(PROJECT_ROOT / "rules")
NEW_JERSEY_ONLINE = {
    "difficulties": ["stress"],
    "location": {"country": "US", "region": "US-NJ"},
    "preferences": {"format": "online"},
}
# Grief, which t-045 works with: her failed checks are then about her licence and availability
# only (for stress she would also be a weak fit).
NEW_YORK_GRIEF = {
    "difficulties": ["grief"],
    "location": {"country": "US", "region": "US-NY"},
    "preferences": {"format": "online"},
}
T045_LICENCE = (
    '{jurisdiction: "US-NY", register: "New York State Education Department, Office of the '
    'Professions", number: "LCSW 087654", title: "Licensed Clinical Social Worker", status: '
    '"active", expires: 2027-08-31, verified_at: 2026-11-21}'
)


def problem(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_roster(path, KNOWLEDGE.vocabulary, places=KNOWLEDGE.places)
    return str(caught.value)


def on(roster: Path, day: date = TODAY, **options: Any) -> Matcher:
    """A Matcher on the bundled rules and `roster`, whose clock says `day`."""
    return Matcher.from_files(PROJECT_ROOT / "rules", roster, today=lambda: day, **options)


def failed(matcher: Matcher, therapist: str, intake: dict[str, Any]) -> list[str]:
    return [f["text"] for f in matcher.why(therapist, intake)["failed"]]


def licensure(matcher: Matcher, therapist: str, intake: dict[str, Any]) -> tuple[bool, str]:
    """Whether the licensure check passed for this therapist and intake, and its sentence."""
    checks = matcher.why(therapist, intake)["checks"]
    found = next(c for c in checks if c["constraint"] == "licensure")
    return found["passed"], found["text"]


# --- the roster file -----------------------------------------------------------------------


def test_an_older_roster_without_licences_or_confirmations_is_refused_naming_both(
    tmp_path: Path,
) -> None:
    old = tmp_path / "therapists.yaml"
    text = (PROJECT_ROOT / "therapists.yaml").read_text(encoding="utf-8")
    without = re.sub(r"    (licences:\n(      - .*\n)+|accepting: \{.*\}\n)", "", text, count=2)
    old.write_text(without, encoding="utf-8")
    assert problem(old) == (
        "therapists.yaml: therapist 't-001': fields 'licences' and 'accepting': required, but "
        "missing (every therapist needs their licences and when their availability was last "
        "confirmed: README, 'Licences, access and availability')"
    )


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_an_older_roster_with_access_on_the_therapist_is_refused_naming_the_field(
    tmp_path: Path, suffix: str
) -> None:
    # Access is each office's: copied to every office it could send someone who needs step-free
    # access to the one with stairs, so the clinic moves it by hand.
    old = tmp_path / f"therapists.{suffix}"
    data = read_yaml(PROJECT_ROOT / "therapists.yaml")
    data["therapists"][2]["access"] = ["pubtrans"]
    text = json.dumps(data, default=str) if suffix == "json" else yaml.safe_dump(data)
    old.write_text(text, encoding="utf-8")
    assert problem(old) == (
        f"therapists.{suffix}: therapist 't-003': field 'access': access is now said per office: "
        "move it to each office that has it (offices: - {city: ..., access: [...]}; README, "
        "'Licences, access and availability')"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'jurisdiction: "US-NY"',
            'jurisdiction: "US-XX"',
            "therapist 't-045': field 'licences': licence #1: jurisdiction 'US-XX' is not an "
            "ISO 3166-1 alpha-2 country or ISO 3166-2 region code",
        ),
        (
            'status: "active", expires: 2027-08-31',
            'status: "dormant", expires: 2027-08-31',
            "therapist 't-045': field 'licences': licence #1: unknown licence status 'dormant'",
        ),
        (
            "compact: psypact",
            "compact: counseling_compact",
            "therapist 't-049': field 'compacts': compact #1: unknown compact "
            "'counseling_compact' (not in jurisdictions.yaml)",
        ),
        (
            'jurisdiction: "US-PA", register: "Pennsylvania',
            'jurisdiction: "US-NY", register: "Pennsylvania',
            "therapist 't-049': field 'compacts': compact #1: PSYPACT needs a licence in one "
            "of its members (the home state)",
        ),
        (
            "accepting: {verified_at: 2026-11-24, next_available: 2026-12-09",
            "accepting: {verified_at: 2026-11-24, next_available: 2026-11-09",
            "therapist 't-001': field 'accepting': next_available 2026-11-09 is before "
            "verified_at 2026-11-24",
        ),
        (
            "access: [handiaccess, accessible_toilet, pubtrans], name: Chamberí",
            "access: [handiaccess, lift], name: Chamberí",
            "therapist 't-001': field 'offices': #1: unknown access id 'lift'",
        ),
        (
            'postcode: "28901", lat: 40.306, lon: -3.731, access: [pubtrans]',
            'postcode: "28901", lat: 40.306, lon: -3.731, access: [pubtrans, pubtrans]',
            "therapist 't-001': field 'offices': #2: an access id is listed twice",
        ),
        (
            'affirming: ["faith_integrated:judaism"]',
            'affirming: ["faith_integrated:pastafarianism"]',
            "therapist 't-049': field 'affirming': unknown affirming id "
            "'faith_integrated:pastafarianism'",
        ),
        (
            'values: ["faith:islam", "ethnicity:south_asian"]',
            'values: ["faith:islam", "faith:islam"]',
            "therapist 't-034': field 'identity': an id is listed twice",
        ),
        (
            "verified_at: 2026-11-21}",
            "verified_at: 21/11/2026}",
            "therapist 't-045': field 'licences[0].verified_at': Invalid RFC3339 encoded date",
        ),
    ],
)
def test_each_bad_new_field_is_one_line_naming_therapist_and_field(
    roster_copy: Path, old: str, new: str, message: str
) -> None:
    replace_first(roster_copy, old, new)
    assert problem(roster_copy) == f"therapists.yaml: {message}"


def test_a_relaxation_may_never_set_licensure_aside(rules_copy: Path) -> None:
    replace_first(rules_copy / "matching.yaml", "drops: [fee]", "drops: [fee, licensure]")
    with pytest.raises(ConfigError) as caught:
        load_knowledge(rules_copy)
    assert str(caught.value) == (
        "rules/matching.yaml: relaxation 'over_budget': drops 'licensure', which is never "
        "relaxed (a person may only be matched where the therapist may lawfully and currently "
        "see them)"
    )


def test_an_outcome_the_check_cannot_give_is_refused(rules_copy: Path) -> None:
    replace_first(rules_copy / "matching.yaml", "      region_needed:", "      somewhere_else:")
    with pytest.raises(ConfigError, match="check 'licensed_where_you_are' has no outcome"):
        load_knowledge(rules_copy)


def test_a_placeholder_the_check_does_not_fill_is_refused(rules_copy: Path) -> None:
    replace_first(rules_copy / "matching.yaml", "checked {verified})", "checked {when})")
    with pytest.raises(ConfigError, match=r"unknown placeholder \{when\}"):
        load_knowledge(rules_copy)


# --- matching by the clock -----------------------------------------------------------------


def test_a_licence_expires_by_the_clock_the_matcher_is_given() -> None:
    new_york = {**NEW_JERSEY_ONLINE, "location": {"country": "US", "region": "US-NY"}}
    roster = PROJECT_ROOT / "therapists.yaml"
    assert licensure(on(roster, date(2027, 8, 31)), "t-045", new_york) == (
        True,
        "Licensed in New York (Licensed Clinical Social Worker, New York State Education "
        "Department, Office of the Professions; checked 21 November 2026)",
    )
    assert licensure(on(roster, date(2027, 9, 1)), "t-045", new_york) == (
        False,
        "Their licence in New York expired on 31 August 2027: cannot see anyone there until "
        "it is renewed",
    )


def test_a_confirmation_goes_stale_after_90_days_by_the_clock() -> None:
    new_york = NEW_YORK_GRIEF
    roster = PROJECT_ROOT / "therapists.yaml"
    # t-045 was last confirmed on 21 November 2026
    assert failed(on(roster, date(2027, 2, 19)), "t-045", new_york) == []
    assert failed(on(roster, date(2027, 2, 20)), "t-045", new_york) == [
        "Last confirmed 91 days ago that they take new clients: the clinic must check again "
        "before anyone is matched with them",
    ]


def test_a_lapsed_licence_fails_whatever_its_date(roster_copy: Path) -> None:
    replace_first(roster_copy, T045_LICENCE, T045_LICENCE.replace('"active"', '"lapsed"'))
    new_york = NEW_YORK_GRIEF
    assert failed(on(roster_copy), "t-045", new_york) == [
        "Their licence in New York is lapsed (not renewed): cannot see anyone there at the moment",
    ]


def test_a_compact_covers_online_work_only(roster_copy: Path) -> None:
    replace_first(
        roster_copy,
        "formats: [online]\n    settings: [individual]\n    groups: []\n    city: Philadelphia",
        "formats: [online, in_person]\n    settings: [individual]\n    groups: []\n    city: Philadelphia",
    )
    replace_first(
        roster_copy,
        "    offices: []\n  - id: t-050",
        "    offices:\n      - {city: Philadelphia, postcode: null, lat: 39.952, lon: -75.164}\n"
        "  - id: t-050",
    )
    in_person = {
        "difficulties": ["grief"],
        "location": {"country": "US", "region": "US-NJ"},
        "preferences": {"format": "in_person", "city": "Philadelphia"},
    }
    matcher = on(roster_copy)
    assert failed(matcher, "t-049", in_person) == [
        "Licensed in Pennsylvania only: PSYPACT lets them see you in New Jersey online, not in "
        "person",
    ]
    assert failed(matcher, "t-049", {**in_person, "preferences": {"format": "any"}}) == []


def test_without_a_place_a_licence_in_force_anywhere_passes_with_a_caveat() -> None:
    matcher = on(PROJECT_ROOT / "therapists.yaml")
    why = matcher.why("t-045", {"difficulties": ["grief"]})
    assert why["eligible"] is True
    assert {
        "rule": "constraint.licensure",
        "text": (
            "Licensed in New York only: make sure you will be there during sessions (you did not "
            "say where you will be)"
        ),
    } in why["caveats"]
    assert failed(matcher, "t-051", {"difficulties": ["stress"]}) == [
        "Holds no licence in force at the moment (the licence in New Jersey expired on 31 "
        "October 2026)",
    ]


def test_the_clinics_country_stands_in_for_where_the_person_is(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "STATE_DIR": str(tmp_path), "CLINIC_COUNTRY": "GB"})
    body = app.test_client().post("/api/v1/match", json={"difficulties": ["anxiety"], "limit": 50})
    countries = {
        lic["jurisdiction"]
        for m in body.get_json()["matches"]
        for lic in m["therapist"]["licences"]
    }
    assert countries == {"GB"}  # England-only registration counts for no one in "GB" at large
    held: Matcher = app.extensions["matcher"]
    assert failed(held, "t-001", {"difficulties": ["anxiety"]}) == [
        "Licensed in Spain only: cannot see you while you are in the United Kingdom (therapy "
        "takes place where you are during the session)",
    ]


# --- what people and staff see ---------------------------------------------------------------


def test_profiles_show_licences_and_hide_numbers_when_the_clinic_says(tmp_path: Path) -> None:
    shown = on(PROJECT_ROOT / "therapists.yaml").therapist("t-045").profile["licences"]
    assert shown == [
        {
            "jurisdiction": "US-NY",
            "register": "New York State Education Department, Office of the Professions",
            "number": "LCSW 087654",
            "title": "Licensed Clinical Social Worker",
            "status": "active",
            "expires": "2027-08-31",
            "verified_at": "2026-11-21",
        }
    ]
    app = create_app({"TESTING": True, "STATE_DIR": str(tmp_path), "HIDE_LICENCE_NUMBERS": True})
    profile = app.test_client().get("/api/v1/therapists/t-049").get_json()
    assert [set(entry) for entry in profile["licences"] + profile["compacts"]] == [
        {"jurisdiction", "register", "title", "status", "expires", "verified_at"},
        {"compact", "expires", "verified_at", "status"},
    ]


def test_identity_is_shown_only_where_the_therapist_opted_in(client: FlaskClient) -> None:
    opted_in = client.get("/api/v1/therapists/t-034").get_json()
    assert opted_in["identity"] == {
        "consent": "2026-03-02",
        "values": ["faith:islam", "ethnicity:south_asian"],
    }
    assert "identity" not in client.get("/api/v1/therapists/t-025").get_json()


def test_staff_list_who_needs_re_confirming(client: FlaskClient) -> None:
    listing = client.get("/api/v1/therapists?stale=true").get_json()
    # 112, 124 and 91 days since confirmed, and a licence that expired on 31 October
    assert [t["id"] for t in listing["therapists"]] == ["t-002", "t-021", "t-043", "t-051"]
    assert listing["needs_reconfirmation"] == ["t-002", "t-021", "t-043", "t-051"]
    fresh = client.get("/api/v1/therapists?stale=false&per_page=500").get_json()
    assert fresh["total"] == 47 and fresh["needs_reconfirmation"] == []


def test_sign_languages_are_languages(client: FlaskClient) -> None:
    for code in ("bfi", "ase", "sgn"):
        response = client.post(
            "/api/v1/match", json={"difficulties": ["grief"], "preferences": {"languages": [code]}}
        )
        assert response.status_code == 200, code
    response = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "preferences": {"interpreter": "xyz"}}
    )
    assert response.get_json()["errors"] == {
        "preferences.interpreter": ["'xyz' is not an ISO 639-1 language code."]
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "access",
            ["lift"],
            {
                "preferences.access.0": [
                    "Must be one of: handiaccess, adacomp, "
                    "pubtrans, mobility, cognitive, cultcomp, anssrvc, accessible_toilet, hearing_loop, "
                    "quiet_waiting_room."
                ]
            },
        ),
        ("affirming", ["lgbtq", "lgbtq"], {"preferences.affirming": ["'lgbtq' is listed twice."]}),
        ("identity", "faith:islam", {"preferences.identity": ["Not a valid list."]}),
    ],
)
def test_a_bad_access_affirming_or_identity_answer_is_a_422_naming_it(
    client: FlaskClient, field: str, value: Any, message: dict[str, list[str]]
) -> None:
    response = client.post(
        "/api/v1/match", json={"difficulties": ["grief"], "preferences": {field: value}}
    )
    assert (response.status_code, response.get_json()["errors"]) == (422, message)


def test_the_vocabulary_names_plan_net_and_local_access_codes(client: FlaskClient) -> None:
    access = client.get("/api/v1/vocabulary").get_json()["access"]
    assert {
        a["id"]: a["system"] for a in access if a["id"] in {"handiaccess", "accessible_toilet"}
    } == {
        "handiaccess": "plan-net",
        "accessible_toilet": "local",
    }

"""Where the person will be during sessions: the intake's `location`, checked and defaulted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from matcher.matching import Matcher
from matcher.ranking import Location
from matcher.web import create_app
from matcher.web.pages import intake_from_form
from tests.forms import form_token


def match(client: FlaskClient, location: Any) -> tuple[int, dict[str, Any]]:
    response = client.post("/api/v1/match", json={"difficulties": ["grief"], "location": location})
    return response.status_code, response.get_json()


@pytest.mark.parametrize(
    ("location", "field", "message"),
    [
        (
            {"country": "us"},
            "location.country",
            "'us' is not an ISO 3166-1 alpha-2 country code (did you mean 'US'?).",
        ),
        ({"country": "XX"}, "location.country", "'XX' is not an ISO 3166-1 alpha-2 country code."),
        (
            {"country": "USA"},
            "location.country",
            "'USA' is not an ISO 3166-1 alpha-2 country code.",
        ),
        ({"region": "US-NJ"}, "location.country", "Missing data for required field."),
        (
            {"country": "US", "region": "US-XX"},
            "location.region",
            "'US-XX' is not an ISO 3166-2 region code such as US-NJ or GB-SCT.",
        ),
        (
            {"country": "US", "region": "us-nj"},
            "location.region",
            "'us-nj' is not an ISO 3166-2 region code such as US-NJ or GB-SCT (did you mean "
            "'US-NJ'?).",
        ),
        (
            {"country": "GB", "region": "US-NJ"},
            "location.region",
            "'US-NJ' is not a region of 'GB'.",
        ),
        (
            {"country": "GB", "city": " "},
            "location.city",
            "String does not match expected pattern.",
        ),
        (
            {"country": "GB", "postcode": "SW1A<1AA"},
            "location.postcode",
            "A postcode is letters, digits, spaces and hyphens.",
        ),
        ({"country": "GB", "planet": "Earth"}, "location.planet", "Unknown field."),
    ],
)
def test_a_bad_location_is_a_422_naming_the_field(
    client: FlaskClient, location: dict[str, str], field: str, message: str
) -> None:
    status, body = match(client, location)
    assert status == 422
    assert body["errors"] == {field: [message]}


def test_a_location_that_is_not_an_object_is_a_422(client: FlaskClient) -> None:
    status, body = match(client, "New Jersey")
    assert (status, list(body["errors"])) == (422, ["location"])


def test_a_location_is_read_as_sent(matcher: Matcher) -> None:
    intake = matcher.parse_intake(
        {
            "difficulties": ["grief"],
            "location": {"country": "US", "region": "US-NJ", "city": "Newark", "postcode": "07102"},
        }
    )
    assert intake.preferences.location == Location("US", "US-NJ", "Newark", "07102")


def test_without_a_location_or_a_clinic_country_the_place_is_unknown(matcher: Matcher) -> None:
    assert matcher.parse_intake({"difficulties": ["grief"]}).preferences.location is None


def test_the_clinics_country_stands_in_for_a_location_not_given(tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "STATE_DIR": str(tmp_path), "CLINIC_COUNTRY": "GB"})
    held: Matcher = app.extensions["matcher"]
    assert held.parse_intake({"difficulties": ["grief"]}).preferences.location == Location(
        "GB", stated=False
    )
    given = held.parse_intake({"difficulties": ["grief"], "location": {"country": "ES"}})
    assert given.preferences.location == Location("ES")


def test_a_clinic_country_that_is_not_a_code_stops_start_up(tmp_path: Path) -> None:
    from matcher.errors import ConfigError

    with pytest.raises(ConfigError, match="MATCHER_CLINIC_COUNTRY: 'UK' is not an ISO 3166-1"):
        create_app({"TESTING": True, "STATE_DIR": str(tmp_path), "CLINIC_COUNTRY": "UK"})


def test_preferences_city_keeps_working_beside_a_location(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match",
        json={
            "difficulties": ["grief"],
            "location": {"country": "ES", "region": "ES-MD"},
            "preferences": {"format": "in_person", "city": "Madrid"},
        },
    )
    assert response.status_code == 200
    assert all(m["therapist"]["city"] == "Madrid" for m in response.get_json()["matches"])


GAD7 = {
    "resourceType": "QuestionnaireResponse",
    "status": "completed",
    "item": [{"linkId": f"gad7-{n}", "answer": [{"valueInteger": 1}]} for n in range(1, 8)],
}


def fhir_match(client: FlaskClient, difficulty: str = "anxiety", **codes: str) -> Any:
    """POST a FHIR Parameters intake (a difficulty, a GAD-7, and `codes` as valueCode parameters)."""
    parameters = [{"name": "difficulties", "valueCode": difficulty}]
    parameters += [{"name": name.replace("__", "."), "valueCode": v} for name, v in codes.items()]
    body = {
        "resourceType": "Parameters",
        "parameter": [*parameters, {"name": "response", "resource": GAD7}],
    }
    return client.post(
        "/api/v1/match", json=body, headers={"Content-Type": "application/fhir+json"}
    )


def test_fhir_parameters_carry_the_location(client: FlaskClient) -> None:
    response = fhir_match(client, location__country="GB", location__region="US-NJ")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "location.region": ["'US-NJ' is not a region of 'GB'."]
    }


def test_the_location_never_rides_in_a_url(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/match?location.country=GB",
        json={"resourceType": "QuestionnaireResponse", "status": "completed", "item": []},
        headers={"Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 422
    assert "location.country" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"location": "US-NY"}, {"country": "US", "region": "US-NY"}),
        ({"location": "US", "location_region": "new jersey"}, {"country": "US", "region": "US-NJ"}),
        ({"location": "GB", "location_city": "Croydon"}, {"country": "GB", "city": "Croydon"}),
        (
            {"location": "US", "location_region": "Atlantis"},
            {"country": "US", "region": "Atlantis"},
        ),
        ({}, None),
    ],
)
def test_the_form_turns_the_place_picked_and_typed_into_a_location(
    matcher: Matcher, fields: dict[str, str], location: dict[str, str] | None
) -> None:
    form = MultiDict({"difficulties": "grief", **fields})
    assert intake_from_form(form, matcher).get("location") == location


def test_the_form_asks_where_the_person_will_be_and_names_a_bad_region(
    client: FlaskClient,
) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Where will you be during sessions?" in page
    assert '<option value="ES">Spain</option>' in page
    response = client.post(
        "/results",
        data={
            "difficulties": "grief",
            "location": "US",
            "location_region": "Atlantis",
            "csrf_token": form_token(page),
        },
    )
    shown = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "&#39;Atlantis&#39; is not an ISO 3166-2 region code" in shown


def test_fhir_parameters_carry_access_interpreter_and_affirming_care(
    client: FlaskClient,
) -> None:
    # Stress: t-029 works with it (for anxiety she would be a weak fit, not a match).
    response = fhir_match(
        client,
        "stress",
        location__country="GB",
        interpreter="bfi",
        affirming="lgbtq",
        format="online",
    )
    assert response.status_code == 200
    assert [m["therapist"]["id"] for m in response.get_json()["matches"]] == ["t-029"]

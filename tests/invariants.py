"""Checks every match response must pass, whatever the intake: used by scenarios and properties."""

from __future__ import annotations

import math
import unicodedata
from datetime import date
from typing import Any

from matcher import PROJECT_ROOT
from matcher.gazetteer import load_gazetteer
from tests.clock import TODAY
from tests.contract import response_errors
from tests.files import read_yaml

# Written out here, not taken from the code under test: the statuses that let someone practise,
# the freshness limit (rules/matching.yaml) and the compacts' members (rules/jurisdictions.yaml).
PRACTISING = {"active", "provisional"}
CONFIRMED_WITHIN_DAYS = 90
COMPACTS = {
    c["id"]: (set(c["members"]), set(c["formats"]))
    for c in read_yaml(PROJECT_ROOT / "rules" / "jurisdictions.yaml")["compacts"]
}
NEVER_RELAXED = {"licensure", "confirmed"}
# The practical gates of issue 15: when one leaves nobody, a person's review is offered too.
STAFF_REVIEWED = {
    "payer",
    "currency",
    "distance",
    "reachable",
    "access",
    "interpreter",
    "affirming",
}


def _in_force(entry: dict[str, Any]) -> bool:
    expires = entry["expires"]
    return entry["status"] in PRACTISING and (
        expires is None or date.fromisoformat(expires) >= TODAY
    )


def licensure_violation(intake: dict[str, Any], therapist: dict[str, Any]) -> str | None:
    """Why this therapist may not see this person where they will be, or None."""
    in_force = [lic for lic in therapist["licences"] if _in_force(lic)]
    location = intake.get("location")
    if location is None:
        return None if in_force else "holds no licence in force"
    places = {location["country"], location.get("region")}
    if any(lic["jurisdiction"] in places for lic in in_force):
        return None
    fmt = (intake.get("preferences") or {}).get("format", "any")
    region = location.get("region")
    for held in therapist["compacts"]:
        members, formats = COMPACTS[held["compact"]]
        if in_force and region in members and fmt != "in_person" and _in_force(held):
            assert "online" in formats
            return None
    return f"not licensed for {region or location['country']}"


def freshness_violation(therapist: dict[str, Any]) -> str | None:
    """Why this therapist's availability is too old to match automatically, or None."""
    confirmed = date.fromisoformat(therapist["accepting"]["verified_at"])
    if (TODAY - confirmed).days > CONFIRMED_WITHIN_DAYS:
        return "availability not confirmed within 90 days"
    return None


# The age the clinic treats as adult when MATCHER_ADULT_AGE is not set.
ADULT_AGE = 18


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


GAZETTEER = load_gazetteer(PROJECT_ROOT / "rules" / "gazetteer.yaml", "gazetteer.yaml")
DEFAULT_MAX_KM = 25  # rules/matching.yaml default_max_distance_km
COVERED = {"in_network", "reimbursement"}  # rules/payment.yaml covered_by


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle km, written out here (haversine) rather than taken from the code under test."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def accessible_offices(intake: dict[str, Any], therapist: dict[str, Any]) -> list[dict[str, Any]]:
    """The therapist's offices that have every access need the person named (all, for none)."""
    needs = set((intake.get("preferences") or {}).get("access") or [])
    return [office for office in therapist["offices"] if needs <= set(office["access"])]


def distance_violations(intake: dict[str, Any], therapist: dict[str, Any]) -> list[str]:
    """In person, or either way for someone who works only in person: an office within reach."""
    prefs = intake.get("preferences") or {}
    fmt = prefs.get("format", "any")
    city = prefs.get("city")
    where = intake.get("location") or {}
    country = where.get("country")
    # Where the person is: their stated postcode's area, else their stated city, else prefs.city.
    place = None
    if where.get("postcode"):
        place = GAZETTEER.postcode(where["postcode"], country)
    for written in (where.get("city"), city):
        if place is None and written:
            place = GAZETTEER.find(written, country)
    if fmt == "online" or (place is None and not city):
        return []
    if place is None:
        if fmt == "in_person" and _fold(therapist["city"] or "") != _fold(city):
            return ["not in the requested city"]
        return []
    if fmt == "any" and "online" in therapist["formats"]:
        return []
    limit = prefs.get("max_distance_km", DEFAULT_MAX_KM)
    # With access needs, only an office that has every one is a way in: distance is to it.
    nearest = min(
        (
            _km(place.lat, place.lon, o["lat"], o["lon"])
            for o in accessible_offices(intake, therapist)
        ),
        default=math.inf,
    )
    return [] if nearest <= limit + 0.5 else [f"nearest office {nearest:.0f} km away"]


def _covered(paying: dict[str, Any], therapist: dict[str, Any]) -> bool:
    wanted = _fold(paying.get("payer") or "").replace(" ", "_")
    return any(
        entry["scheme"] == paying["scheme"]
        and entry["network"] in COVERED
        and (not wanted or entry["payer"] in (None, wanted))
        for entry in therapist["payers"]
    )


def hard_constraint_violations(
    intake: dict[str, Any],
    therapist: dict[str, Any],
    decision: dict[str, Any] | None = None,
) -> list[str]:
    """Every hard constraint of the intake that this therapist breaks (written out independently).

    `decision` is the answer's setting_decision: when risk or severity made it (or a rule the
    list follows), the decided setting is what every match must offer, over the request.
    """
    prefs = intake.get("preferences") or {}
    problems = []
    if therapist["accepting_new_clients"] is not True:
        problems.append("not accepting new clients")
    languages = prefs.get("languages")
    if languages and not set(languages) & set(therapist["languages"]):
        problems.append("speaks none of the requested languages")
    fmt = prefs.get("format", "any")
    if fmt != "any" and fmt not in therapist["formats"]:
        problems.append(f"does not offer format {fmt}")
    setting = prefs.get("setting", "any")
    if decision and (decision["step"] in ("risk", "severity") or decision["list_follows"]):
        setting = decision["setting"]
    abuse = "domestic_abuse" in intake.get("difficulties", [])
    if setting in ("couple", "family") and abuse:
        setting = "any"  # beside abuse, couple and family sessions are never offered
    if abuse and not set(therapist["settings"]) - {"couple", "family"}:
        problems.append("offers only couple or family sessions, beside abuse")
    if setting != "any" and setting not in therapist["settings"]:
        problems.append(f"does not offer setting {setting}")
    problems.extend(distance_violations(intake, therapist))
    age = prefs.get("age")
    if age is not None and not therapist["ages"]["min"] <= age <= therapist["ages"]["max"]:
        problems.append("age out of range")
    paying = prefs.get("payment") or {}
    max_fee = prefs.get("max_fee", paying.get("max_fee"))
    if max_fee is not None:
        sliding = therapist["sliding_scale_min"]
        scale_open = sliding is not None and sliding <= max_fee and therapist["low_fee_places"] != 0
        if therapist["fee"] > max_fee and not scale_open:
            problems.append("fee over budget")
    if paying.get("currency") and therapist["currency"] != paying["currency"]:
        problems.append("charges in another currency than the budget")
    if paying.get("method") == "insurance" and not _covered(paying, therapist):
        problems.append("does not take the person's plan")
    for problem in (licensure_violation(intake, therapist), freshness_violation(therapist)):
        if problem:
            problems.append(problem)
    needs = prefs.get("access") or []
    online_will_do = fmt != "in_person" and "online" in therapist["formats"]
    if needs and not online_will_do and not accessible_offices(intake, therapist):
        problems.append("no office has every access need")
    interpreter = prefs.get("interpreter")
    if (
        interpreter
        and not therapist["works_with_interpreters"]
        and interpreter not in therapist["languages"]
    ):
        problems.append("neither uses the language nor works with interpreters")
    if not set(prefs.get("affirming") or []) <= set(therapist["affirming"]):
        problems.append("does not offer the affirming care asked for")
    return problems


def assert_valid_match_response(intake: dict[str, Any], body: dict[str, Any]) -> None:
    """The response validates against its schema and no match breaks a hard constraint."""
    prefs = intake.get("preferences") or {}
    errors = response_errors("MatchResponse", body)
    assert errors == [], errors
    for match in body["matches"]:
        violations = hard_constraint_violations(
            intake, match["therapist"], body.get("setting_decision")
        )
        assert violations == [], (match["therapist"]["id"], violations)
    prefs = intake.get("preferences") or {}
    if prefs.get("max_fee", (prefs.get("payment") or {}).get("max_fee")) is not None:
        currencies = {m["therapist"]["currency"] for m in body["matches"]}
        assert len(currencies) <= 1, f"a budget compared in several currencies: {currencies}"
    limit = intake.get("limit", 5)
    assert len(body["matches"]) <= limit
    scores = [(-m["score"], m["therapist"]["id"]) for m in body["matches"]]
    assert scores == sorted(scores), "matches are not ranked"
    if body["matches"]:
        assert body["no_match"] is None and body["relaxed"] == []
    elif body["care_route"]["lists_matches"]:
        assert body["no_match"] is not None
    else:  # a route whose answer is a person: nothing listed, nothing relaxed (the funnel is
        # there when the route followed from nobody fitting: route.young_person_no_match)
        assert body["relaxed"] == []
    ids = [m["therapist"]["id"] for m in body["matches"]]
    for entry in body["relaxed"]:
        assert not set(ids) & {m["therapist"]["id"] for m in entry["matches"]}
        assert not NEVER_RELAXED & set(entry["relaxed"]), entry["relaxation"]
        # An alternative sets aside what it says, never licensure or freshness; online instead
        # of in person is judged for either format.
        judged = intake
        if "format" in entry["relaxed"]:
            judged = {**intake, "preferences": {**intake["preferences"], "format": "any"}}
        for match in entry["matches"]:
            therapist = match["therapist"]
            assert licensure_violation(judged, therapist) is None, therapist["id"]
            assert freshness_violation(therapist) is None, therapist["id"]
    if body["no_match"] and body["no_match"]["constraint"] in NEVER_RELAXED | STAFF_REVIEWED:
        assert body["no_match"]["staff_review"]
    for match in body["matches"]:  # a therapist's identity shows only where they opted in
        identity = match["therapist"].get("identity")
        assert identity is None or identity["consent"] <= TODAY.isoformat()
    shown = body["matches"] + [m for entry in body["relaxed"] for m in entry["matches"]]
    if body["care_route"]["level"] != "self_match":
        assert all(m["review_required"] for m in shown), "a routed intake's match skips review"
    age = prefs.get("age")
    if age is not None and age < ADULT_AGE:
        for match in shown:  # never relaxed for a child or young person
            ages = match["therapist"]["ages"]
            assert ages["min"] <= age <= ages["max"], match["therapist"]["id"]
    if "domestic_abuse" in intake.get("difficulties", []):
        assert not {"couples_therapy", "family_therapy"} & {m["id"] for m in body["modalities"]}
        assert not {"couple", "family"} & {a["setting"] for a in body["advice"]}

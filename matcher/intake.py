"""Reading an intake: from what a person sent to a validated Intake, placed where they will be.

One job: the intake's schema (its vocabulary as enums), its validation, and what the answers
mean for matching (the place and country, the budget's currency, the plan, the distance, the
care route). The Matcher holds one reader per language; only the words differ between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from marshmallow import Schema

from matcher import care_routes, risk, screening
from matcher.gazetteer import Near, Place
from matcher.payment import Budget, Plan
from matcher.ranking import Location, Preferences
from matcher.rules import COMBAT_DETAILS, Knowledge
from matcher.schemas import build_intake_schema, load_intake_part


@dataclass(frozen=True)
class Intake:
    """A validated intake: what the person struggles with, their scores and what they need."""

    difficulties: tuple[str, ...]
    preferences: Preferences
    limit: int
    scores: dict[str, screening.Score]
    risk_signals: tuple[str, ...]
    # What to do first (rules/care_routes.yaml): self-matching, or a route beyond it.
    route: care_routes.Decision
    main_difficulty: str | None = None  # which of `difficulties` matters most now
    trauma: tuple[str, ...] = ()  # trauma details: how long ago, combat-related or not


def default_currency(knowledge: Knowledge, clinic_country: str | None) -> str:
    """The currency of a budget that names none, for someone who did not say where they are
    (and of the form's budget field): the clinic's country's, else payment.yaml's default."""
    payment = knowledge.vocabulary.payment
    if payment is None:
        return "EUR"
    return payment.currencies.get(clinic_country or "", payment.default_currency)


class IntakeReader:
    """Validates intakes against the vocabulary and reads what their answers mean."""

    def __init__(
        self,
        knowledge: Knowledge,
        *,
        locale: str | None,
        clinic_country: str | None,
        today: Callable[[], date],
        youngest_seen: int,
        adult_age: int,
        schema: Schema | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.locale = locale
        # Where a person who does not say is taken to be during sessions.
        self.clinic_country = clinic_country
        self.today = today
        # Below this age nobody on the roster can help: the answer is a children's service.
        self.youngest_seen = youngest_seen
        self.adult_age = adult_age
        self.default_currency = default_currency(knowledge, clinic_country)
        self.schema = schema or self._schema()

    def speaking(self, knowledge: Knowledge) -> IntakeReader:
        """The same reader over the knowledge in another language (the same schema)."""
        return IntakeReader(
            knowledge,
            locale=self.locale,
            clinic_country=self.clinic_country,
            today=self.today,
            youngest_seen=self.youngest_seen,
            adult_age=self.adult_age,
            schema=self.schema,
        )

    def _schema(self) -> Schema:
        vocabulary = self.knowledge.vocabulary
        return build_intake_schema(
            difficulty_ids=vocabulary.difficulties,
            setting_ids=vocabulary.settings,
            format_ids=vocabulary.formats,
            time_ids=vocabulary.times,
            gender_ids=vocabulary.genders,
            is_language=vocabulary.is_language,
            instruments=[
                (i.id, i.name, len(i.items), i.difficulty_field)
                for i in self.knowledge.screening.instruments.values()
            ],
            risk_in=self.risk_in,
            trauma_since_ids=[t for t in vocabulary.trauma_details if t not in COMBAT_DETAILS],
            payment=vocabulary.payment,
            access_ids=vocabulary.access,
            affirming_ids=vocabulary.affirming,
            identity_ids=vocabulary.identities,
        )

    def risk_in(self, raw: Any) -> tuple[str, ...]:
        """The risk signals in an intake as sent, valid or not (see matcher.risk)."""
        vocabulary = self.knowledge.vocabulary
        return risk.in_intake(raw, self.knowledge.screening, vocabulary.risk_difficulties)

    def parse(self, payload: Any, declared_totals: Mapping[str, int] | None = None) -> Intake:
        """Validate a JSON intake; raise IntakeError with field paths on any problem."""
        data = load_intake_part(self.schema, payload)
        prefs = data.get("preferences") or {}
        city = (prefs.get("city") or "").strip() or None
        fmt = prefs.get("format", "any")
        location = self._location(data.get("location"))
        place = self._place(location, city)
        country = self._country(location, place)
        paying = prefs.get("payment") or {}
        max_fee = prefs.get("max_fee", paying.get("max_fee"))
        currency = paying.get("currency") or (
            self._currency_of(location.country if location and location.stated else None)
            if max_fee is not None
            else None
        )
        preferences = Preferences(
            languages=tuple(prefs.get("languages") or ()),
            format=fmt,
            setting=prefs.get("setting", "any"),
            city=city,
            age=prefs.get("age"),
            max_fee=max_fee,
            therapist_gender=prefs.get("therapist_gender"),
            times=tuple(prefs.get("times") or ()),
            budget=Budget(max_fee, currency) if max_fee is not None and currency else None,
            currency=currency,
            payment=self._plan(paying),
            near=self._near(
                place, country, fmt, prefs.get("max_distance_km"), tuple(prefs.get("access") or ())
            ),
            access=tuple(prefs.get("access") or ()),
            interpreter=prefs.get("interpreter"),
            affirming=tuple(prefs.get("affirming") or ()),
            identity=tuple(prefs.get("identity") or ()),
            location=location,
            today=self.today(),
        )
        route = self.knowledge.care_routes.decide(
            data["difficulties"], preferences.age, self.youngest_seen, self.adult_age
        )
        if preferences.setting in route.withheld_settings:
            # A route that rules a setting out (couple sessions beside abuse) overrides the
            # request: the route's text tells the person why.
            preferences = replace(preferences, setting="any")
        scores = screening.score_all(
            self.knowledge.screening, data.get("screening") or {}, declared_totals
        )
        trauma = data.get("trauma") or {}
        details = [trauma["since"]] if trauma.get("since") else []
        if "combat_related" in trauma:
            details.append(COMBAT_DETAILS[0] if trauma["combat_related"] else COMBAT_DETAILS[1])
        return Intake(
            difficulties=tuple(data["difficulties"]),
            preferences=preferences,
            limit=data["limit"],
            scores=scores,
            risk_signals=self.risk_in(payload),
            main_difficulty=data.get("main_difficulty"),
            trauma=tuple(details),
            route=route,
        )

    def _place(self, location: Location | None, city: str | None) -> Place | None:
        """The centre of where the person will be: their postcode's area, else their city's."""
        gazetteer = self.knowledge.vocabulary.gazetteer
        if gazetteer is None:
            return None
        stated = location if location is not None and location.stated else None
        country = stated.country if stated else None
        prefer = location.country if location else self.locale
        if stated and stated.postcode:
            found = gazetteer.postcode(stated.postcode, country)
            if found is not None:
                return found
        for written in (stated.city if stated else None, city):
            if written:
                found = gazetteer.find(written, country, prefer)
                if found is not None:
                    return found
        return None

    def _country(self, location: Location | None, place: Place | None) -> str | None:
        """The person's country: as they said, else their place's, else the clinic's."""
        if location is not None and location.stated:
            return location.country
        if place is not None:
            return place.country
        return location.country if location else self.locale

    def budget_currency(self, country: str | None) -> str:
        """The currency a budget that names none is in, for someone in `country` (or unsaid)."""
        return self._currency_of(country)

    def _currency_of(self, country: str | None) -> str:
        payment = self.knowledge.vocabulary.payment
        if payment is None:
            return self.default_currency
        return payment.currencies.get(country or "", self.default_currency)

    def _plan(self, paying: Mapping[str, Any]) -> Plan | None:
        payment = self.knowledge.vocabulary.payment
        if paying.get("method") != "insurance" or payment is None:
            return None
        scheme = paying["scheme"]
        payer = paying.get("payer")
        return Plan(scheme, payment.payer_id(scheme, payer) if payer else None)

    def _near(
        self,
        place: Place | None,
        country: str | None,
        fmt: str,
        max_km: int | None,
        needs: tuple[str, ...] = (),
    ) -> Near | None:
        if fmt == "online" or (place is None and country is None):
            return None
        if place is None and fmt == "in_person":
            return None  # an unplaced city is compared by name (the city constraint)
        limit = max_km or self.knowledge.matching.default_max_distance_km
        return Near(place, country, limit, needs)

    def _location(self, sent: Mapping[str, Any] | None) -> Location | None:
        """Where the person will be during sessions: as they said, else the clinic's country."""
        if sent:
            city = (sent.get("city") or "").strip() or None
            postcode = (sent.get("postcode") or "").strip().upper() or None
            return Location(sent["country"], sent.get("region"), city, postcode)
        if self.clinic_country:
            return Location(self.clinic_country, stated=False)
        return None

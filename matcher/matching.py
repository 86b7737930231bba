"""The Matcher: intake in, explained modalities and ranked therapists out."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from marshmallow import Schema

from matcher import alternatives, care_routes, explain, i18n, ranking, risk, safety, screening, why
from matcher.clinical import ClinicalEvaluation
from matcher.errors import ConfigError, UnknownTherapist
from matcher.explain import ClinicalExplanation, Renderer
from matcher.gazetteer import Near, Place
from matcher.localise import Missing, localise, translation_files
from matcher.payment import Budget, Plan
from matcher.places import is_country
from matcher.ranking import ClinicalPicture, Location, Preferences
from matcher.roster import Roster, Therapist, load_roster
from matcher.rules import (
    COMBAT_DETAILS,
    HardConstraint,
    Knowledge,
    load_knowledge,
)
from matcher.schemas import (
    build_intake_schema,
    build_therapist_query_schema,
    load_intake_part,
)

# Distinct clinical profiles (difficulties, preferences the rules read, scores) kept evaluated.
CLINICAL_CACHE_SIZE = 4096
# The age the clinic treats as adult unless MATCHER_ADULT_AGE says otherwise.
ADULT_AGE = 18
REVIEW_CAVEAT = i18n.N_("A clinician needs to review this request before booking (safety answers)")


def utc_today() -> date:
    """Today's date in UTC: the clock licences and confirmations are judged by."""
    return datetime.now(UTC).date()


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


@dataclass(frozen=True)
class Ranked:
    """One therapist who meets every active hard constraint, with their score."""

    therapist: Therapist
    lines: list[ranking.ScoreLine]
    score: float


class Matcher:
    """Holds the validated rules, the indexed roster and the compiled rules engine."""

    def __init__(
        self,
        knowledge: Knowledge,
        roster: Roster,
        locale: str | None = None,
        cache_size: int = CLINICAL_CACHE_SIZE,
        translations: Mapping[str, tuple[Mapping[str, Any], str]] | None = None,
        clinic_country: str | None = None,
        today: Callable[[], date] = utc_today,
        adult_age: int = ADULT_AGE,
    ) -> None:
        if clinic_country is not None and not is_country(clinic_country):
            raise ConfigError(
                "MATCHER_CLINIC_COUNTRY",
                f"{clinic_country!r} is not an ISO 3166-1 alpha-2 country code (such as GB)",
            )
        self.knowledge = knowledge
        self.roster = roster
        self.locale = locale
        self.language = i18n.SOURCE_LANGUAGE
        # language -> (its table from rules/translations/<language>.yaml, that file's name)
        self.translations = dict(translations or {})
        self._in_language: dict[str, Matcher] = {}
        self.cache_size = cache_size
        # Where a person who does not say is taken to be during sessions.
        self.clinic_country = clinic_country
        self.today = today
        # The age the clinic treats as adult (MATCHER_ADULT_AGE): under it, rules for children
        # and young people apply, and the age requirement is never set aside.
        self.adult_age = adult_age
        self.rules_version = hashlib.sha256(
            (knowledge.digest + roster.digest).encode()
        ).hexdigest()[:12]
        vocabulary = knowledge.vocabulary
        payment = vocabulary.payment
        # The currency of a budget that names none, for someone who did not say where they are
        # (and of the form's budget field): the clinic's country's, else payment.yaml's default.
        self.default_currency = (
            payment.currencies.get(clinic_country or "", payment.default_currency)
            if payment
            else "EUR"
        )
        self.renderer = Renderer(knowledge, adult_age=adult_age)
        self.intake_schema: Schema = build_intake_schema(
            difficulty_ids=vocabulary.difficulties,
            setting_ids=vocabulary.settings,
            format_ids=vocabulary.formats,
            time_ids=vocabulary.times,
            gender_ids=vocabulary.genders,
            is_language=vocabulary.is_language,
            instruments=[
                (i.id, i.name, len(i.items), i.difficulty_field)
                for i in knowledge.screening.instruments.values()
            ],
            risk_in=self.risk_in,
            trauma_since_ids=[t for t in vocabulary.trauma_details if t not in COMBAT_DETAILS],
            payment=payment,
            access_ids=vocabulary.access,
            affirming_ids=vocabulary.affirming,
            identity_ids=vocabulary.identities,
        )
        self.therapist_query_schema: Schema = build_therapist_query_schema(
            format_ids=vocabulary.formats,
            setting_ids=vocabulary.settings,
            modality_ids=vocabulary.modalities,
            difficulty_ids=vocabulary.difficulties,
        )
        self.clinical_rules = ClinicalEvaluation(
            knowledge, self.renderer, f"matcher_{self.rules_version}", cache_size, adult_age
        )
        self.engine = self.clinical_rules.engine
        # Below this age nobody on the roster can help: the answer is a children's service.
        self.youngest_seen = int(roster.age_min.min())

    @classmethod
    def from_files(
        cls,
        rules_dir: Path,
        roster_path: Path,
        locale: str | None = None,
        clinic_country: str | None = None,
        today: Callable[[], date] = utc_today,
        hide_licence_numbers: bool = False,
        adult_age: int = ADULT_AGE,
    ) -> Matcher:
        """Load, validate and compile rules and roster; raise ConfigError on the first problem."""
        knowledge = load_knowledge(rules_dir)
        roster = load_roster(
            roster_path,
            knowledge.vocabulary,
            places=knowledge.places,
            hide_licence_numbers=hide_licence_numbers,
        )
        return cls(
            knowledge,
            roster,
            locale,
            clinic_country=clinic_country,
            today=today,
            adult_age=adult_age,
            translations=translation_files(rules_dir),
        )

    # --- languages --------------------------------------------------------------------------

    def _(self, message: str) -> str:
        """A sentence the code builds, in this Matcher's language."""
        return self.renderer.gettext(message)

    def safety(self, signals: Sequence[str], country: str | None = None) -> dict[str, Any]:
        """The `safety` part of an answer, in this language: the numbers of the country the
        person said they are in (`country`), else the clinic's (MATCHER_LOCALE, else
        MATCHER_CLINIC_COUNTRY)."""
        where = country or self.locale or self.clinic_country
        return safety.safety_json(signals, self.knowledge.crisis, where)

    def _crisis_country(self, intake: Intake) -> str | None:
        """The country whose crisis numbers an intake gets: the person's own, when they said."""
        location = intake.preferences.location
        return location.country if location is not None and location.stated else None

    def localised(self, language: str) -> tuple[Knowledge, list[Missing]]:
        """The knowledge in `language`, and each text missing from its translation file."""
        if language == i18n.SOURCE_LANGUAGE:
            return self.knowledge, []
        table, display = self.translations.get(language, ({}, f"translations/{language}.yaml"))
        return localise(self.knowledge, table, language, display)

    def in_language(self, language: str) -> Matcher:
        """This Matcher speaking `language`: the same rules, roster and engine, other words.

        A text missing from the translation is the English, marked (localise.Untranslated).
        """
        if language == self.language:
            return self
        if language in self._in_language:
            return self._in_language[language]
        knowledge, _ = self.localised(language)
        speaking = copy.copy(self)
        speaking.knowledge = knowledge
        speaking.language = language
        speaking._in_language = {}
        speaking.renderer = Renderer(knowledge, adult_age=self.adult_age, language=language)
        speaking.clinical_rules = ClinicalEvaluation(
            knowledge, speaking.renderer, "", self.cache_size, self.adult_age, engine=self.engine
        )
        self._in_language[language] = speaking
        return speaking

    # --- intake -----------------------------------------------------------------------------

    def risk_in(self, raw: Any) -> tuple[str, ...]:
        """The risk signals in an intake as sent, valid or not (see matcher.risk)."""
        vocabulary = self.knowledge.vocabulary
        return risk.in_intake(raw, self.knowledge.screening, vocabulary.risk_difficulties)

    def parse_intake(
        self, payload: Any, declared_totals: Mapping[str, int] | None = None
    ) -> Intake:
        """Validate a JSON intake; raise IntakeError with field paths on any problem."""
        data = load_intake_part(self.intake_schema, payload)
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

    # --- matching ---------------------------------------------------------------------------

    def clinical(self, intake: Intake) -> ClinicalExplanation:
        """Run the clinical rules on the intake's facts and explain what they concluded."""
        return self.clinical_rules.explanation(intake)

    def _clinical_picture(
        self, intake: Intake
    ) -> tuple[Intake, ClinicalExplanation, ClinicalPicture]:
        clinical, picture = self.clinical_rules.picture(intake)
        required = picture.settings_required
        setting = intake.preferences.setting
        if required is not None and setting != "any" and setting not in required:
            # The decision overrode the request (the advice says so): the request is set aside
            # and `advised_setting` requires what was decided instead.
            intake = replace(intake, preferences=replace(intake.preferences, setting="any"))
        return intake, clinical, picture

    def _active(
        self, preferences: Preferences, picture: ClinicalPicture, dropped: Sequence[str] = ()
    ) -> list[HardConstraint]:
        return [
            c
            for c in self.knowledge.matching.hard_constraints
            if c.id not in dropped and ranking.is_active(c, preferences, picture)
        ]

    def _scores(
        self, at: ranking.Positions, preferences: Preferences, picture: ClinicalPicture
    ) -> ranking.Scores:
        soft = self.knowledge.matching.soft_preferences
        return ranking.score(self.roster, soft, preferences, picture, at)

    def _rank(
        self,
        at: ranking.Positions,
        preferences: Preferences,
        picture: ClinicalPicture,
        limit: int,
    ) -> list[Ranked]:
        """The best `limit` therapists among positions `at`, scored and ready to explain."""
        scores = self._scores(at, preferences, picture)
        ranked = []
        for index in ranking.best(self.roster, scores, limit).tolist():
            therapist = self.roster.therapists[int(scores.at[index])]
            lines = ranking.lines_for(index, therapist, scores, preferences, picture)
            ranked.append(Ranked(therapist, lines, float(scores.totals[index])))
        return ranked

    def _match_json(
        self,
        item: Ranked,
        constraints: Sequence[HardConstraint],
        intake: Intake,
        clinical: ClinicalExplanation,
        picture: ClinicalPicture,
    ) -> dict[str, Any]:
        checks = [
            ranking.check(c, item.therapist, self.roster, intake.preferences, picture)
            for c in constraints
        ]
        reasons, caveats = explain.explain_match(checks, item.lines, clinical, self.renderer)
        self._review_caveats(intake, caveats)
        return {
            "therapist": item.therapist.profile,
            "review_required": self._review_required(intake),
            "score": item.score,
            "max_score": sum(line.preference.points for line in item.lines),
            "score_breakdown": explain.score_breakdown(item.lines),
            "reasons": reasons,
            "caveats": caveats,
        }

    def _review_required(self, intake: Intake) -> bool:
        return bool(intake.risk_signals) or intake.route.needs_review

    def _review_caveats(self, intake: Intake, caveats: list[dict[str, str]]) -> None:
        """Put the reasons a clinician reviews first at the top of a match's caveats."""
        if intake.route.needs_review:
            phrases = {
                d: t.phrase or t.label for d, t in self.knowledge.vocabulary.difficulties.items()
            }
            text = intake.route.review_caveat(phrases, self.renderer.join)
            caveats.insert(0, {"rule": intake.route.routes[0].id, "text": text})
        if intake.risk_signals:
            caveats.insert(0, {"rule": "safety.self_harm", "text": self._(REVIEW_CAVEAT)})

    def care_route(self, intake: Intake) -> dict[str, Any]:
        """The answer's `care_route`: what to do first, and every other route's words."""
        where = self._crisis_country(intake) or self.locale or self.clinic_country
        emergency, _ = safety.crisis_resources(self.knowledge.crisis, where)
        return care_routes.as_json(intake.route, self.knowledge.sources, emergency, where)

    def match(
        self, payload: Any, declared_totals: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """Validate an intake and return recommended modalities and ranked, explained therapists.

        `declared_totals` are totals a FHIR sender stated; they are compared, never used.
        """
        intake = self.parse_intake(payload, declared_totals)
        intake, clinical, picture = self._clinical_picture(intake)
        preferences = intake.preferences
        active = self._active(preferences, picture)
        ranked: list[Ranked] = []
        no_match = None
        relaxed: list[dict[str, Any]] = []
        # Someone who only told us about risk (no difficulty) is helped by a person first, not
        # by a list of strangers: a risk-only intake gets the crisis resources and no matches.
        risk_only = set(intake.difficulties) <= self.knowledge.vocabulary.risk_difficulties
        if not risk_only and intake.route.lists_matches:
            survivors, counts = ranking.funnel(self.roster, active, preferences, picture)
            ranked = self._rank(survivors, preferences, picture, intake.limit)
            if not ranked:
                no_match = alternatives.no_match(self, counts, preferences, picture)
                # Beyond the route's level (a specialist service, urgent help) the route is the
                # answer: no therapist who does not treat what the person asked about.
                if intake.route.offers_alternatives:
                    relaxed = alternatives.relaxed(self, intake, picture, clinical)
        safety_part = self.safety(intake.risk_signals, self._crisis_country(intake))
        # The safety path is built in: no rule can remove it, and it always comes first.
        alerts = ([safety.urgent_alert(safety_part, self._)] if safety_part["urgent"] else []) + [
            *([safety.no_list_alert(self.knowledge.crisis)] if risk_only else []),
            *clinical.alerts,
            *self._score_notes(intake),
        ]
        return {
            "safety": safety_part,
            "screening": screening.as_json(intake.scores, self.knowledge.screening, self._),
            "care_route": self.care_route(intake),
            "modalities": clinical.modalities,
            "advice": clinical.advice,
            "setting_decision": clinical.setting_decision,
            "matches": [self._match_json(r, active, intake, clinical, picture) for r in ranked],
            "no_match": no_match,
            "relaxed": relaxed,
            "alerts": alerts,
            "disclaimer": self._(explain.DISCLAIMER),
            "rules_version": self.rules_version,
        }

    def _score_notes(self, intake: Intake) -> list[dict[str, Any]]:
        notes = screening.as_json(intake.scores, self.knowledge.screening, self._)
        return [
            {"level": "caution", "rule": f"screening.{name}.declared_total", "text": entry["note"]}
            for name, entry in notes.items()
            if "note" in entry
        ]

    def why(self, therapist_id: str, payload: Any) -> dict[str, Any]:
        """Explain one therapist for an intake: each constraint failed, or their rank and why."""
        return why.why(self, therapist_id, payload)

    # --- roster and vocabulary --------------------------------------------------------------

    def needs_reconfirmation(self) -> npt.NDArray[np.bool_]:
        """For every position: must staff re-confirm this therapist before they are matched?

        Availability confirmed longer ago than the freshness constraint allows, a practising
        licence past its expiry, or no licence in force at all.
        """
        roster, today = self.roster, self.today().toordinal()
        result = (roster.licence_soonest < today) | (roster.licence_best < today)
        for constraint in self.knowledge.matching.hard_constraints:
            if constraint.check == "confirmed_within" and constraint.max_days is not None:
                result |= today - roster.confirmed_on > constraint.max_days
        return result  # type: ignore[no-any-return]

    def places_served(self) -> list[tuple[str, str]]:
        """The countries and regions the roster's therapists may practise in: (code, name)."""
        codes = set(self.roster.jurisdictions())
        codes |= {code[:2] for code in codes}
        if self.clinic_country:
            codes.add(self.clinic_country)
        named = [(code, self.renderer.place(code)) for code in codes]
        # Each country, then its regions, by name: "the Netherlands", "the United States",
        # "the United States: New Jersey".
        country_name = {code: name for code, name in named if len(code) == 2}

        def key(item: tuple[str, str]) -> tuple[str, int, str]:
            code, name = item
            return (country_name[code[:2]].removeprefix("the "), len(code) > 2, name)

        return sorted(named, key=key)

    def therapist(self, therapist_id: str) -> Therapist:
        """Return one therapist by id, or raise UnknownTherapist."""
        try:
            return self.roster.by_id[therapist_id]
        except KeyError:
            raise UnknownTherapist(therapist_id) from None

    def list_therapists(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """List the roster, filtered by the query's fields and paged."""
        params = load_intake_part(self.therapist_query_schema, dict(query))
        roster = self.roster
        list_fields = {
            "language": "languages",
            "format": "formats",
            "setting": "settings",
            "modality": "modalities",
            "difficulty": "difficulties",
        }
        keep = np.ones(roster.size, dtype=np.bool_)
        for name, field in list_fields.items():
            if name in params:
                keep &= roster.column_of(field, params[name])
        if "city" in params:
            keep &= roster.city == roster.city_code(params["city"])
        if "accepting_new_clients" in params:
            keep &= roster.accepting == params["accepting_new_clients"]
        stale = self.needs_reconfirmation()
        if "stale" in params:
            keep &= stale == params["stale"]
        ordered = np.flatnonzero(keep).tolist()
        page, per_page = params["page"], params["per_page"]
        chosen = ordered[(page - 1) * per_page : page * per_page]
        return {
            "needs_reconfirmation": [self.roster.therapists[p].id for p in chosen if stale[p]],
            "therapists": [self.roster.therapists[p].profile for p in chosen],
            "total": len(ordered),
            "page": page,
            "per_page": per_page,
        }

    def modalities(self) -> list[dict[str, Any]]:
        """Every modality, with the rules that can recommend it and the sources they cite."""
        result = []
        for term in self.knowledge.vocabulary.modalities.values():
            rules = [r for r in self.knowledge.rules if r.recommend == term.id]
            result.append(
                {
                    "id": term.id,
                    "name": term.label,
                    "description": term.description,
                    "recommended_by": [
                        {
                            "rule": r.id,
                            "when": [{"key": c.key, "values": list(c.values)} for c in r.when],
                            "strength": r.strength,
                            "first_line": r.first_line,
                            "rationale": r.rationale,
                            "clinician_note": r.clinician_note,
                        }
                        for r in rules
                    ],
                    "therapists": int(self.roster.column_of("modalities", term.id).sum()),
                }
            )
        return result

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

from matcher import (
    alternatives,
    care_routes,
    explain,
    i18n,
    listing,
    ranking,
    safety,
    screening,
    why,
)
from matcher.clinical import ClinicalEvaluation
from matcher.errors import ConfigError, UnknownTherapist
from matcher.explain import ClinicalExplanation, Renderer
from matcher.intake import Intake, IntakeReader
from matcher.localise import Missing, Translator, localise, made_from_files, translation_files
from matcher.places import is_country
from matcher.ranking import ClinicalPicture, Preferences
from matcher.roster import Roster, Therapist, load_roster
from matcher.rules import (
    HardConstraint,
    Knowledge,
    load_knowledge,
)
from matcher.schemas import (
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
        made_from: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
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
        # language -> the English each of its texts was made from (localise.made_from_files)
        self.made_from = dict(made_from or {})
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
        self.renderer = Renderer(knowledge, adult_age=adult_age)
        self.intakes = IntakeReader(
            knowledge,
            locale=locale,
            clinic_country=clinic_country,
            today=today,
            youngest_seen=int(roster.age_min.min()),
            adult_age=adult_age,
        )
        self.intake_schema: Schema = self.intakes.schema
        self.default_currency = self.intakes.default_currency
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
            made_from=made_from_files(rules_dir),
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

    def crisis_country(self, intake: Intake) -> str | None:
        """The country whose crisis numbers an intake gets: the person's own, when they said."""
        location = intake.preferences.location
        return location.country if location is not None and location.stated else None

    def translator(self, language: str) -> Translator:
        """A Translator for `language`: its translation file and its made_from record."""
        table, display = self.translations.get(language, ({}, f"translations/{language}.yaml"))
        return Translator(table, language, display, self.made_from.get(language))

    def localised(self, language: str) -> tuple[Knowledge, list[Missing]]:
        """The knowledge in `language`, and each text missing (or unusable) in its translation."""
        if language == i18n.SOURCE_LANGUAGE:
            return self.knowledge, []
        t = self.translator(language)
        return localise(self.knowledge, t), t.missing

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
        speaking.intakes = self.intakes.speaking(knowledge)
        speaking.clinical_rules = ClinicalEvaluation(
            knowledge, speaking.renderer, "", self.cache_size, self.adult_age, engine=self.engine
        )
        self._in_language[language] = speaking
        return speaking

    # --- intake -----------------------------------------------------------------------------

    def risk_in(self, raw: Any) -> tuple[str, ...]:
        """The risk signals in an intake as sent, valid or not (see matcher.risk)."""
        return self.intakes.risk_in(raw)

    def parse_intake(
        self, payload: Any, declared_totals: Mapping[str, int] | None = None
    ) -> Intake:
        """Validate a JSON intake; raise IntakeError with field paths on any problem."""
        return self.intakes.parse(payload, declared_totals)

    def budget_currency(self, country: str | None) -> str:
        """The currency a budget that names none is in, for someone in `country` (or unsaid)."""
        return self.intakes.budget_currency(country)

    # --- matching ---------------------------------------------------------------------------

    def clinical(self, intake: Intake) -> ClinicalExplanation:
        """Run the clinical rules on the intake's facts and explain what they concluded."""
        return self.clinical_rules.explanation(intake)

    def clinical_picture(
        self, intake: Intake
    ) -> tuple[Intake, ClinicalExplanation, ClinicalPicture]:
        """The clinical explanation and picture, and the intake as the setting decision left it."""
        clinical, picture = self.clinical_rules.picture(intake)
        required = picture.settings_required
        setting = intake.preferences.setting
        if required is not None and setting != "any" and setting not in required:
            # The decision overrode the request (the advice says so): the request is set aside
            # and `advised_setting` requires what was decided instead.
            intake = replace(intake, preferences=replace(intake.preferences, setting="any"))
        return intake, clinical, picture

    def active_constraints(
        self, preferences: Preferences, picture: ClinicalPicture, dropped: Sequence[str] = ()
    ) -> list[HardConstraint]:
        """The hard constraints this intake brings into play, less those `dropped`."""
        return [
            c
            for c in self.knowledge.matching.hard_constraints
            if c.id not in dropped and ranking.is_active(c, preferences, picture)
        ]

    def scores(
        self, at: ranking.Positions, preferences: Preferences, picture: ClinicalPicture
    ) -> ranking.Scores:
        """The soft preferences' scores of the therapists at positions `at`."""
        soft = self.knowledge.matching.soft_preferences
        return ranking.score(self.roster, soft, preferences, picture, at)

    def rank(
        self,
        at: ranking.Positions,
        preferences: Preferences,
        picture: ClinicalPicture,
        limit: int,
    ) -> list[Ranked]:
        """The best `limit` therapists among positions `at`, scored and ready to explain."""
        scores = self.scores(at, preferences, picture)
        ranked = []
        for index in ranking.best(self.roster, scores, limit).tolist():
            therapist = self.roster.therapists[int(scores.at[index])]
            lines = ranking.lines_for(index, therapist, scores, preferences, picture)
            ranked.append(Ranked(therapist, lines, float(scores.totals[index])))
        return ranked

    def match_json(
        self,
        item: Ranked,
        constraints: Sequence[HardConstraint],
        intake: Intake,
        clinical: ClinicalExplanation,
        picture: ClinicalPicture,
    ) -> dict[str, Any]:
        """One match as the answer gives it: the profile, the score and why, each explained."""
        checks = [
            ranking.check(c, item.therapist, self.roster, intake.preferences, picture)
            for c in constraints
        ]
        reasons, caveats = explain.explain_match(checks, item.lines, clinical, self.renderer)
        self.add_review_caveats(intake, caveats)
        return {
            "therapist": item.therapist.profile,
            "review_required": self.review_required(intake),
            "score": item.score,
            "max_score": sum(line.preference.points for line in item.lines),
            "score_breakdown": explain.score_breakdown(item.lines),
            "reasons": reasons,
            "caveats": caveats,
        }

    def review_required(self, intake: Intake) -> bool:
        """Whether a clinician must review this intake before booking (risk, or a care route)."""
        return bool(intake.risk_signals) or intake.route.needs_review

    def add_review_caveats(self, intake: Intake, caveats: list[dict[str, str]]) -> None:
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
        where = self.crisis_country(intake) or self.locale or self.clinic_country
        emergency, _ = safety.crisis_resources(self.knowledge.crisis, where)
        return care_routes.as_json(intake.route, self.knowledge.sources, emergency, where)

    def match(
        self, payload: Any, declared_totals: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """Validate an intake and return recommended modalities and ranked, explained therapists.

        `declared_totals` are totals a FHIR sender stated; they are compared, never used.
        """
        intake = self.parse_intake(payload, declared_totals)
        intake, clinical, picture = self.clinical_picture(intake)
        preferences = intake.preferences
        active = self.active_constraints(preferences, picture)
        ranked: list[Ranked] = []
        no_match = None
        relaxed: list[dict[str, Any]] = []
        # Someone who only told us about risk (no difficulty) is helped by a person first, not
        # by a list of strangers: a risk-only intake gets the crisis resources and no matches.
        risk_only = set(intake.difficulties) <= self.knowledge.vocabulary.risk_difficulties
        if not risk_only and intake.route.lists_matches:
            survivors, counts = ranking.funnel(self.roster, active, preferences, picture)
            ranked = self.rank(survivors, preferences, picture, intake.limit)
            if not ranked:
                no_match = alternatives.no_match(self, counts, preferences, picture)
                # Beyond the route's level (a specialist service, urgent help) the route is the
                # answer: no therapist who does not treat what the person asked about.
                if intake.route.offers_alternatives:
                    relaxed = alternatives.relaxed(self, intake, picture, clinical)
                if not relaxed:
                    # Nobody listed and nothing nearer to offer: a route for that (a young
                    # person is pointed to a young people's service or a clinician).
                    route = self.knowledge.care_routes.when_nobody_listed(
                        intake.route,
                        intake.difficulties,
                        preferences.age,
                        self.intakes.youngest_seen,
                        self.adult_age,
                    )
                    intake = replace(intake, route=route)
        safety_part = self.safety(intake.risk_signals, self.crisis_country(intake))
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
            "matches": [self.match_json(r, active, intake, clinical, picture) for r in ranked],
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
        """For every position: must staff re-confirm this therapist before they are matched?"""
        return listing.needs_reconfirmation(self.roster, self.knowledge, self.today())

    def places_served(self) -> list[tuple[str, str]]:
        """The countries and regions the roster's therapists may practise in: (code, name)."""
        return listing.places_served(self.roster, self.clinic_country, self.renderer)

    def therapist(self, therapist_id: str) -> Therapist:
        """Return one therapist by id, or raise UnknownTherapist."""
        try:
            return self.roster.by_id[therapist_id]
        except KeyError:
            raise UnknownTherapist(therapist_id) from None

    def list_therapists(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """List the roster, filtered by the query's fields and paged."""
        params = load_intake_part(self.therapist_query_schema, dict(query))
        return listing.therapist_page(self.roster, params, self.needs_reconfirmation())

    def modalities(self) -> list[dict[str, Any]]:
        """Every modality, with the rules that can recommend it and the sources they cite."""
        return listing.modality_catalogue(self.knowledge, self.roster)

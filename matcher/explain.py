"""Turn firings, checks and scores into explanation objects and sentences read aloud.

Every sentence comes from a template in rules/ filled with values rendered here: deterministic,
and true of the rules and the roster by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from matcher import i18n
from matcher.checks import HARD_CHECKS, SOFT_CHECKS, ClinicalFit, GroupRequest
from matcher.engine import Firing, fact_key
from matcher.gazetteer import Near, km_between
from matcher.i18n import N_
from matcher.localise import Untranslated, is_fallback
from matcher.money import format_money
from matcher.payment import Budget, Plan
from matcher.ranking import Check, ScoreLine
from matcher.rules import (
    ClinicalRule,
    Condition,
    HardConstraint,
    Knowledge,
    Term,
    condition_slots,
)
from matcher.schemas import SCREENING_CONDITION
from matcher.screening import band_floor

DISCLAIMER = N_(
    "These suggestions come from your answers and from published guidance. They are not a "
    "diagnosis: a therapist will talk with you about what fits you best."
)


def join(words: Sequence[str], last: str = "and", language: str = i18n.SOURCE_LANGUAGE) -> str:
    """Join words as people write them: 'a', 'a and b', 'a, b and c'; 'either a or b'.

    In another language than English, as that language writes a list (Babel's CLDR lists).
    """
    words = list(words)
    if language != i18n.SOURCE_LANGUAGE:
        return i18n.join_words(words, language, "or" if last in ("or", "either") else "standard")
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    # When a phrase has the list's own conjunction in it ("worry and anxiety" in an "and" list),
    # a comma before the last one keeps the list readable: "worry and anxiety, and low mood".
    conjunction = "or" if last == "either" else last
    comma = "," if any(f" {conjunction} " in f" {word} " for word in words) else ""
    if last == "either":  # alternatives after a negation: "does not list either a or b"
        return f"either {', '.join(words[:-1])}{comma} or {words[-1]}"
    return f"{', '.join(words[:-1])}{comma} {last} {words[-1]}"


def rounded_km(km: float) -> int:
    """A distance rounded as people say it: to the km under 20, then to 5, 10 or 100 km."""
    if km < 20:
        return max(1, round(km))
    step = 5 if km < 100 else 10 if km < 1000 else 100
    return int(round(km / step) * step)


@dataclass(frozen=True)
class Renderer:
    """Renders ids and values in plain words, from the vocabulary, in one language."""

    knowledge: Knowledge
    adult_age: int = 18  # MATCHER_ADULT_AGE: who is a young person in a "because"
    language: str = i18n.SOURCE_LANGUAGE

    def gettext(self, message: str) -> str:
        """A sentence the code builds, in this renderer's language (matcher/translations)."""
        return i18n.gettext_for(self.language)(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """A sentence that depends on a number, in this renderer's language."""
        return i18n.translations(self.language).ngettext(singular, plural, count)

    def join(self, words: Sequence[str], last: str = "and") -> str:
        """Join words as this language writes a list."""
        return join(words, last, self.language)

    def _phrase(self, group: dict[str, Term], value: str) -> str:
        term = group.get(value)
        return (term.phrase or term.label) if term else value

    def difficulty(self, value: str) -> str:
        """A difficulty as a noun phrase: 'low mood'."""
        return self._phrase(self.knowledge.vocabulary.difficulties, value)

    def modality(self, value: str) -> str:
        """A modality's name mid-sentence: 'cognitive behavioural therapy (CBT)', 'EMDR'."""
        term = self.knowledge.vocabulary.modalities.get(value)
        name = term.label if term else value
        if self.language == "de":  # German writes every noun, the therapy's too, capitalised
            return name
        return name[:1].lower() + name[1:] if name[1:2].islower() else name

    def score(self, instrument_id: str, at_least: int) -> str:
        """A total as the rules saw it: 'your PHQ-9 total is 16 or more (moderately severe)'."""
        screening = self.knowledge.screening
        instrument = screening.instruments[instrument_id]
        label = screening.severity_labels[instrument.severity(at_least)]
        if at_least == band_floor(screening, instrument_id, at_least):
            return self.gettext("your {name} total is in the {label} range").format(
                name=instrument.name, label=label
            )
        return self.gettext("your {name} total is {total} or more ({label})").format(
            name=instrument.name, total=i18n.number(at_least, self.language), label=label
        )

    def km(self, km: float) -> str:
        """A number of km with its unit, as the language writes it: '10 km', '10 كم'."""
        return i18n.kilometres(km, self.language)

    def about_km(self, km: float) -> str:
        """A distance as people say it: 'about 4 km', 'about 35 km', 'less than 1 km'."""
        if km < 1:
            return self.gettext("less than {distance}").format(distance=self.km(1))
        return self.gettext("about {distance}").format(distance=self.km(rounded_km(km)))

    def money(self, amount: int, currency: str) -> str:
        """An amount in its currency, in this language (matcher.money): '€80', '80 €'."""
        return format_money(amount, currency, self.language)

    def fee(self, found: Mapping[str, Any]) -> str:
        """A therapist's fee and sliding scale: '95 EUR (sliding scale from 70 EUR)'."""
        text = self.money(found["fee"], found["currency"])
        if found.get("sliding_scale_min") is not None:
            text += " " + self.gettext("(sliding scale from {amount})").format(
                amount=self.money(found["sliding_scale_min"], found["currency"])
            )
        return text

    def _fee_against(self, found: Mapping[str, Any], budget: Budget) -> str:
        """How a fee stands against a budget, for the fee constraint's sentence."""
        _ = self.gettext
        currency = found["currency"]
        fee = self.money(found["fee"], currency)
        if currency != budget.currency:
            return _("fee {fee}, charged in {currency}").format(fee=fee, currency=currency)
        if found["fee"] <= budget.amount:
            return _("fee {fee}").format(fee=fee)
        sliding = found.get("sliding_scale_min")
        if sliding is None:
            return _("fee {fee}, no sliding scale").format(fee=fee)
        lowest = self.money(sliding, currency)
        places = found.get("low_fee_places")
        if sliding > budget.amount:
            return _("fee {fee}, sliding scale down to {lowest}").format(fee=fee, lowest=lowest)
        if places == 0:
            return _("fee {fee}; no low-fee place is open on the sliding scale").format(fee=fee)
        if places is None:
            return _("through the sliding scale down to {lowest} (standard fee {fee})").format(
                lowest=lowest, fee=fee
            )
        return self.ngettext(
            "through the sliding scale down to {lowest} (standard fee {fee}, one low-fee "
            "place open)",
            "through the sliding scale down to {lowest} (standard fee {fee}, {places} low-fee "
            "places open)",
            places,
        ).format(lowest=lowest, fee=fee, places=i18n.number(places, self.language))

    def _plan_found(self, plan: Plan, found: Mapping[str, Any], passed: bool) -> str:
        """What a therapist has to do with the person's plan, in words."""
        payment = self.knowledge.vocabulary.payment
        if payment is None:
            return ""
        entries = [e for e in found["payers"] if e["scheme"] == plan.scheme]
        exact = [e for e in entries if plan.payer is None or e["payer"] in (plan.payer, None)]
        _ = self.gettext
        if passed:
            entry = next(e for e in exact if e["network"] in payment.covered_by)
            words = payment.network_words(plan.scheme, entry["network"])
            checked = self.day(date.fromisoformat(str(entry["verified_at"])))
            return _("{network} (checked {day})").format(network=words, day=checked)
        if exact:
            return payment.network_words(plan.scheme, exact[0]["network"])
        names = [
            payment.payer_name(e["scheme"], e["payer"])
            for e in found["payers"]
            if e["network"] in payment.covered_by
        ]
        if not names:
            return _("self-pay only")
        return _("takes {payers}").format(payers=self.join(names))

    def _nearest(self, near: Near, found: Mapping[str, Any] | None) -> tuple[str, bool]:
        """Where the therapist's nearest office is, and whether it is within reach."""
        places = self.knowledge.vocabulary.gazetteer
        # With access needs, the nearest office that has them all (when one does: else the
        # access constraint says what is missing, and distance is to any office).
        offices = (found or {}).get("offices") or []
        usable = [o for o in offices if set(near.needs) <= set(o["access"])]
        offices = usable or offices
        _ = self.gettext
        if not offices:
            return _("nowhere in person"), False
        if near.place is None:
            country = (found or {}).get("country", "")
            return _("in {place}").format(place=self.place(country)), country == near.country
        km = km_between(
            near.place.lat,
            near.place.lon,
            np.array([o["lat"] for o in offices]),
            np.array([o["lon"] for o in offices]),
        )
        nearest = float(km.min())
        centre = places.centre_words(near.place) if places else near.place.name
        distance = self.about_km(nearest)
        from_centre = _("{distance} from {centre}").format(distance=distance, centre=centre)
        return from_centre, nearest <= near.max_km

    def placeholders(
        self, kind: str, expected: Any, actual: Any, passed: bool, conjunction: str = "or"
    ) -> dict[str, str]:
        """Every value a constraint's sentences may name: {wanted}, {offered} and the kind's own
        ({where}, {place}, {max_km} for distances; {fee} for plans)."""
        if kind in ("distance", "reach") and isinstance(expected, Near):
            return self._distance_words(kind, expected, actual, passed)
        words = {
            "wanted": self.value(kind, expected, conjunction),
            "offered": self.value(kind, actual, "and"),
        }
        if kind == "fee" and isinstance(expected, Budget) and isinstance(actual, Mapping):
            words["offered"] = self._fee_against(actual, expected)
        if kind == "plan" and isinstance(expected, Plan):
            payment = self.knowledge.vocabulary.payment
            words["wanted"] = (
                payment.payer_name(expected.scheme, expected.payer) if payment else expected.scheme
            )
            if isinstance(actual, Mapping):
                words["offered"] = self._plan_found(expected, actual, passed)
                words["fee"] = self.fee(actual)
        return words

    def _distance_words(self, kind: str, near: Near, found: Any, passed: bool) -> dict[str, str]:
        places = self.knowledge.vocabulary.gazetteer
        _ = self.gettext
        max_km = i18n.number(near.max_km, self.language)
        if near.place is not None:
            centre = places.centre_words(near.place) if places else near.place.name
            if near.needs:  # only an office with every need counts (the access constraint)
                where = _("within {distance} of {centre}, at an office with {needs}").format(
                    distance=self.km(near.max_km),
                    centre=centre,
                    needs=self.value("access", list(near.needs)),
                )
            else:
                where = _("within {distance} of {centre}").format(
                    distance=self.km(near.max_km), centre=centre
                )
            place = near.place.name
        else:
            centre = place = self.place(near.country or "")
            where = _("in {place}").format(place=place)
        words = {"wanted": centre, "where": where, "place": place, "max_km": max_km}
        nearest, within = self._nearest(near, found if isinstance(found, Mapping) else None)
        words["offered"] = nearest
        if kind == "reach" and not passed:
            if near.place:
                beyond = _("{nearest}, farther than {distance}")
            else:
                beyond = _("{nearest}, not in {place}")
            words["offered"] = beyond.format(
                nearest=nearest, distance=self.km(near.max_km), place=place
            )
        if kind == "reach" and passed:
            online = "online" in ((found or {}).get("formats") or [])
            if online and within:
                words["offered"] = _("online, or in person {where}").format(where=where)
            elif online:
                words["offered"] = _("online")
            elif within:
                words["offered"] = _("in person {where}").format(where=where)
            else:
                words["offered"] = ""
        return words

    def place(self, code: str) -> str:
        """A country or region in words: 'New Jersey', 'the Netherlands', 'los Países Bajos'."""
        if self.language != i18n.SOURCE_LANGUAGE:
            # A country as the language names it (CLDR); a region keeps its own name.
            country = i18n.locale(self.language).territories.get(code) if len(code) == 2 else None
            if country:
                return str(country)
        return self.knowledge.places.name(code)

    def day(self, value: date) -> str:
        """A date as the language writes it: '7 December 2026', '7 de diciembre de 2026'."""
        return i18n.long_date(value, self.language)

    def _licensing(self, kind: str, value: Any, conjunction: str) -> str | None:
        """Licences, places, dates and availability in words; None for another kind."""
        vocabulary = self.knowledge.vocabulary
        join = self.join
        _ = self.gettext
        if kind == "licensure" and "licences" in value:  # what a therapist holds
            held = sorted({licence["jurisdiction"] for licence in value["licences"]})
            return join([self.place(code) for code in held], conjunction)
        if kind == "licensure":  # what the check wants: where the person will be
            where = value["location"]
            if not where:
                return _("an unknown place")
            return self.place(where["region"] or where["country"])
        if kind == "freshness" and "verified_at" in value:  # what a therapist's record says
            day = self.day(date.fromisoformat(value["verified_at"]))
            return _("confirmed on {day}").format(day=day)
        if kind == "freshness":
            days = value["max_days"]
            return self.ngettext("the last day", "the last {days} days", days).format(
                days=i18n.number(days, self.language)
            )
        if kind == "place":
            return self.place(value)
        if kind == "places":
            return join([self.place(code) for code in value], conjunction) or _("nowhere")
        if kind == "date":
            return self.day(value)
        if kind == "licence_status":
            return self._phrase(vocabulary.licence_statuses, value).lower()
        if kind == "licence_states":
            return join([self._licence_state(licence) for licence in value], conjunction)
        if kind == "days_ago":
            return i18n.days_ago(int(value), self.language)
        if kind == "opening":
            return _("; next opening {day}").format(day=self.day(value)) if value else ""
        if kind == "weekly_cap":
            if not value:
                return ""
            return self.ngettext(
                "; takes up to {count} new client a week",
                "; takes up to {count} new clients a week",
                int(value),
            ).format(count=i18n.number(value, self.language))
        if kind == "language":
            return vocabulary.language_name(value)
        if kind == "from_place":  # (km, Place): "about 2 km from central Madrid (...)"
            km, centre = value
            places = vocabulary.gazetteer
            return _("{distance} from {centre}").format(
                distance=self.about_km(km),
                centre=places.centre_words(centre) if places else centre.name,
            )
        if kind == "office_names":
            return join(value, conjunction)
        if kind == "access_needs" and isinstance(value, dict) and "offices" in value:
            # What a therapist has: each office, by name, with its access.
            return join(
                [
                    _("{office}: {access}").format(
                        office=office["name"] or office["city"],
                        access=join([self._phrase(vocabulary.access, a) for a in office["access"]])
                        or _("none"),
                    )
                    for office in value["offices"]
                ],
                "and",
            ) or _("none")
        if kind in ("access", "access_needs"):
            needs = value["needs"] if isinstance(value, dict) else value
            return join([self._phrase(vocabulary.access, a) for a in needs], conjunction)
        if kind == "affirming":
            words = [self._phrase(vocabulary.affirming, a) for a in value]
            return join(words, conjunction) or _("none")
        if kind == "identities":
            return join([self._phrase(vocabulary.identities, i) for i in value], conjunction)
        if kind == "interpreter":
            return vocabulary.language_name(value) if isinstance(value, str) else str(value)
        return None

    def _licence_state(self, licence: Any) -> str:
        place = self.place(licence.jurisdiction)
        _ = self.gettext
        if licence.status not in self.knowledge.vocabulary.practising_statuses:
            status = self._phrase(self.knowledge.vocabulary.licence_statuses, licence.status)
            return _("the licence in {place} is {status}").format(
                place=place, status=status.lower()
            )
        return _("the licence in {place} expired on {day}").format(
            place=place, day=self.day(licence.expires)
        )

    def value(self, kind: str, value: Any, conjunction: str = "and") -> str:
        """Render one value of a given field kind in words."""
        vocabulary = self.knowledge.vocabulary
        join = self.join
        _ = self.gettext
        if kind == "workplace":  # where a therapist sees people: "works in Madrid"
            if value is None:
                return _("works online only")
            return _("works in {city}").format(city=value)
        if value is None:
            return {"city": _("works online only"), "opening": "", "weekly_cap": ""}.get(
                kind, _("none")
            )
        licensing = self._licensing(kind, value, conjunction)
        if licensing is not None:
            return licensing
        if kind == "city" and isinstance(value, str):
            return value
        if kind == "currency":
            return str(value)
        if kind == "country" and isinstance(value, Near):
            return self.place(value.country or "")
        if kind == "standard_fee" and isinstance(value, Mapping):
            return self.money(value["fee"], value["currency"])
        if isinstance(value, Budget):
            return self.money(value.amount, value.currency)
        if kind == "distance" and isinstance(value, Near):
            places = vocabulary.gazetteer
            if places and value.place:
                return places.centre_words(value.place)
            return _("your country")
        if kind == "distance" and isinstance(value, Mapping):
            return self.km(rounded_km(value["km"]))
        if kind == "languages":
            return join([self.language_name(code) for code in value], conjunction)
        if kind == "formats":
            return (
                self._phrase(vocabulary.formats, value)
                if isinstance(value, str)
                else join([self._phrase(vocabulary.formats, v) for v in value], conjunction)
            )
        if kind == "settings":
            return (
                self._phrase(vocabulary.settings, value)
                if isinstance(value, str)
                else join([self._phrase(vocabulary.settings, v) for v in value], conjunction)
            )
        if kind == "ages":
            if isinstance(value, dict):
                return _("{min} to {max}").format(min=value["min"], max=value["max"])
            return str(value)
        if kind in ("fee", "plan") and isinstance(value, Mapping):
            return self.fee(value)
        if kind == "modalities":
            return join([self.modality(m) for m in value], conjunction)
        if kind == "difficulties":
            return join([self.difficulty(d) for d in value], conjunction)
        if kind == "times":
            return join([self._phrase(vocabulary.times, t) for t in value], conjunction)
        if kind == "gender":
            return self._phrase(vocabulary.genders, value)
        if kind == "instruments":
            return join([self._phrase(vocabulary.instruments, i) for i in value], conjunction)
        if kind == "accepting_new_clients":
            return _("yes") if value else _("no")
        if kind == "groups":
            if isinstance(value, GroupRequest):
                wanted = self.value("difficulties", value.difficulties, conjunction)
                return f"{wanted} {self.value('formats', value.format)}" if value.format else wanted
            return self.join([self.group(g) for g in value], conjunction) or _("no group")
        if kind == "clinical_fit":
            if isinstance(value, ClinicalFit):
                return self.value("difficulties", value.difficulties, conjunction)
            return self.value("difficulties", value["difficulties"], conjunction)
        return str(value)

    def group(self, data: Mapping[str, Any]) -> str:
        """A group as the person reads it: 'a 10-week social anxiety group, Thursdays (online)'."""
        weeks = data["weeks"]
        # Two templates only for English's article ("an 8-week", "a 10-week"); say both alike.
        if str(weeks)[:1] == "8" or weeks in (11, 18):
            template = self.gettext("an {weeks}-week {topic} group, {schedule} ({where}): “{name}”")
        else:
            template = self.gettext("a {weeks}-week {topic} group, {schedule} ({where}): “{name}”")
        return template.format(
            weeks=weeks,
            topic=self.difficulty(data["topic"]),
            schedule=data["schedule"],
            where=self._phrase(self.knowledge.vocabulary.formats, data["format"]),
            name=data["name"],
        )

    def language_name(self, code: str) -> str:
        """A language's name in this renderer's language: 'Spanish', 'español' in es."""
        if self.language == i18n.SOURCE_LANGUAGE:
            return self.knowledge.vocabulary.language_name(code)
        if code in SIGN_LANGUAGE_NAMES:  # CLDR names no sign language: the catalogs do
            return self.gettext(SIGN_LANGUAGE_NAMES[code])
        return i18n.language_name(code, self.language) or self.knowledge.vocabulary.language_name(
            code
        )


# The sign languages the forms offer interpreters for (ISO 639-3), named as pycountry names them.
SIGN_LANGUAGE_NAMES = {
    "bfi": i18n.N_("British Sign Language"),
    "ase": i18n.N_("American Sign Language"),
}


def plain(value: Any) -> Any:
    """A check's expected or found value as JSON-ready builtins (dataclasses become objects)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    return value


def fee_range(therapists: Sequence[Any], renderer: Renderer) -> str:
    """What the listed therapists charge: '€95 a session', '€80 to €120 a session'."""
    by_currency: dict[str, list[int]] = {}
    for therapist in therapists:
        by_currency.setdefault(therapist["currency"], []).append(therapist["fee"])
    _ = renderer.gettext
    parts = []
    for currency, fees in by_currency.items():
        low, high = min(fees), max(fees)
        if low == high:
            parts.append(renderer.money(low, currency))
        else:
            parts.append(
                _("{low} to {high}").format(
                    low=renderer.money(low, currency), high=renderer.money(high, currency)
                )
            )
    if not parts:
        return _("their fee")
    return _("{fees} a session").format(fees=renderer.join(parts, "or"))


class _Words(dict[str, str]):
    """Placeholder values for a sentence; one an outcome does not fill reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


def hard_kind(constraint: HardConstraint) -> str:
    """The value kind a hard constraint's wanted and found values are rendered as."""
    return HARD_CHECKS[constraint.check].kind or constraint.therapist_field


def check_sentence(check: Check, renderer: Renderer) -> str:
    """The sentence for one hard-constraint check, passed or failed."""
    constraint = check.constraint
    kind = hard_kind(constraint)
    template = constraint.passed if check.passed else constraint.failed
    if check.outcome is not None:
        template = constraint.outcomes.get(check.outcome, template)
    words = _Words({name: renderer.value(k, v) for name, (k, v) in check.parts.items()})
    words.update(renderer.placeholders(kind, check.expected, check.actual, check.passed))
    found_kind = HARD_CHECKS[constraint.check].found_kind
    if found_kind is not None:  # a place someone works, not a city asked for
        words["offered"] = renderer.value(found_kind, check.actual, "and")
    text = template.format_map(words)
    return _as_template(template, text[:1].upper() + text[1:])


def _as_template(template: str, text: str) -> str:
    """A sentence made from a template, still marked as English if the template was."""
    return Untranslated(text) if is_fallback(template) else text


def line(rule: str, text: str) -> dict[str, Any]:
    """A reason or caveat: its rule and text, and `fallback` when the text stands in English."""
    return {"rule": rule, "text": str(text), **({"fallback": True} if is_fallback(text) else {})}


def score_sentence(line: ScoreLine, renderer: Renderer, met: bool) -> str:
    """The sentence for one soft preference: what it meets, or what it misses."""
    kind = SOFT_CHECKS[line.preference.check].kind
    template = line.preference.met if met else line.preference.missed
    # What was missed is a set of alternatives the therapist has none of: "either a or b".
    text = template.format(
        wanted=renderer.value(kind, line.wanted, "or" if met else "either"),
        offered=renderer.value(kind, line.offered, "and"),
    )
    return _as_template(template, text)


@dataclass(frozen=True)
class Answer:
    """One of the person's answers behind a rule that fired: `field operator value`.

    `field` is the intake's path (difficulties, preferences.setting, screening.phq9, trauma,
    risk). It is what the rule's own condition tested, not the fact as the cache stored it: a
    rule that tests `phq9_total_at_least: 10` fired on `screening.phq9 >= 10`, whatever the
    total. Sentences and the JSON's answer strings are both rendered from it, never parsed back.
    """

    field: str
    operator: str  # is, >=, <, in (a severity band)
    value: Any

    def as_string(self) -> str:
        """The answer as the JSON's `answers` writes it: difficulties:ptsd, screening.phq9>=16."""
        separator = self.operator if self.operator in (">=", "<") else ":"
        return f"{self.field}{separator}{self.value}"

    def as_json(self) -> dict[str, Any]:
        """The answer as the JSON's `conditions` give it: field, operator and value apart."""
        return {"field": self.field, "operator": self.operator, "value": self.value}


# How a preference a clinical rule tests is rendered in its "because" sentence.
PREFERENCE_KINDS = {"setting": "settings", "format": "formats"}


def _answer(fact: Mapping[str, Any], condition: Condition) -> Answer | None:
    """The person's answer a fact stands for, as the condition tested it; None if derived."""
    kind = fact["type"]
    if kind == "difficulty":
        return Answer("difficulties", "is", fact["value"])
    if kind == "preference":
        return Answer(f"preferences.{fact['name']}", "is", fact["value"])
    if kind == "trauma":
        return Answer("trauma", "is", fact["value"])
    if kind == "risk":
        return Answer("risk", "is", fact["value"])
    test = SCREENING_CONDITION.match(condition.key)
    if kind in ("screening", "screening_difficulty") and test:
        field = f"screening.{fact['instrument']}"
        if kind == "screening_difficulty":
            field += "_difficulty"
        if test["test"] == "severity":
            return Answer(field, "in", fact["value"])
        operator = ">=" if test["test"].endswith("at_least") else "<"
        return Answer(field, operator, int(condition.values[0]))
    if fact["type"] == "age":
        return Answer("age", "is", fact["value"])
    return None


@dataclass(frozen=True)
class ClinicalExplanation:
    """Modalities, the one setting advice and alerts from the firings, with where each came from."""

    modalities: list[dict[str, Any]]
    modality_rules: dict[str, list[str]]
    advice: list[dict[str, Any]]  # at most one: the setting decision as the person reads it
    alerts: list[dict[str, Any]]
    # rule id -> the person's answers behind it, as values (the JSON carries their strings)
    answers: dict[str, list[Answer]]
    setting_decision: dict[str, Any] | None = None


@dataclass(frozen=True)
class Context:
    """What ranks and words the explanation besides the firings: the person's own framing."""

    difficulties: tuple[str, ...] = ()
    leading: str | None = None  # whose first-line treatment leads
    main_given: bool = False  # the person named it (main_difficulty), or the order chose it
    requested_setting: str | None = None
    # Settings a care route rules out (couple work beside abuse): never a candidate for the one
    # setting decision, so the next rule in precedence decides instead of nobody.
    withheld_settings: frozenset[str] = frozenset()


def _sources(rule: ClinicalRule, knowledge: Knowledge) -> list[dict[str, str]]:
    refs = []
    for evidence in rule.evidence:
        source = knowledge.sources[evidence.source]
        ref = {"id": source.id, "cite": source.cite, "title": source.title}
        if source.url:
            ref["url"] = source.url
        refs.append(ref)
    return refs


def _evidence(rule: ClinicalRule, knowledge: Knowledge) -> str:
    return "; ".join(f"{knowledge.sources[e.source].cite}: {e.says}" for e in rule.evidence)


def _answers_of(firings: Iterable[Firing], knowledge: Knowledge) -> dict[str, list[Answer]]:
    """Map each firing's rule to the person's answers behind it, following derived facts back."""
    origin: dict[Any, list[Answer]] = {}
    answers_by_rule: dict[str, list[Answer]] = {}
    for firing in firings:  # in rule order; a derived fact's origin is recorded before its use
        rule = knowledge.rules_by_id[firing.rule_id]
        answers: list[Answer] = []
        # One fact per pattern: the age tests of a rule share the one age fact (condition_slots).
        for fact, slot in zip(firing.facts, condition_slots(rule.when), strict=True):
            answer = _answer(fact, slot[0])
            found = [answer] if answer is not None else origin.get(fact_key(fact), [])
            answers.extend(a for a in found if a not in answers)
        merged = answers_by_rule.setdefault(firing.rule_id, [])
        merged.extend(a for a in answers if a not in merged)
        for derived in rule.derived_facts():
            known = origin.setdefault(fact_key(derived), [])
            known.extend(a for a in answers if a not in known)
    return answers_by_rule


def _score_words(answer: Answer, renderer: Renderer) -> str:
    screening = renderer.knowledge.screening
    instrument_id = answer.field.removeprefix("screening.").removesuffix("_difficulty")
    instrument = screening.instruments[instrument_id]
    _ = renderer.gettext
    if answer.field.endswith("_difficulty"):
        labels = screening.difficulty_answers
        if answer.operator == ">=":
            said = labels[int(answer.value) :]
        else:
            said = labels[: int(answer.value)]
        words = renderer.join([label.lower() for label in said], "or")
        return _("you said your problems make daily life {answers}").format(answers=words)
    if answer.operator == "in":
        label = screening.severity_labels[answer.value]
        return _("your {name} total is in the {label} range").format(
            name=instrument.name, label=label
        )
    total = i18n.number(answer.value, renderer.language)
    if answer.operator == "<":
        return _("your {name} total is below {total}").format(name=instrument.name, total=total)
    return _("your {name} total is {total} or more").format(name=instrument.name, total=total)


def _because(answers: Sequence[Answer], renderer: Renderer) -> str:
    difficulties = [a.value for a in answers if a.field == "difficulties"]
    asked = [a for a in answers if a.field.startswith("preferences.")]
    scored = [a for a in answers if a.field.startswith("screening.")]
    _ = renderer.gettext
    parts = []
    if difficulties:
        parts.append(
            _("you mentioned {difficulties}").format(
                difficulties=renderer.value("difficulties", difficulties)
            )
        )
    trauma = [a.value for a in answers if a.field == "trauma"]
    if trauma:
        details = renderer.knowledge.vocabulary.trauma_details
        said = renderer.join([details[t].phrase or details[t].label for t in trauma])
        parts.append(_("you said {details}").format(details=said))
    for answer in asked:
        kind = PREFERENCE_KINDS[answer.field.removeprefix("preferences.")]
        parts.append(_("you asked for {wanted}").format(wanted=renderer.value(kind, answer.value)))
    for answer in scored:
        parts.append(_score_words(answer, renderer))
    if any(a.field == "risk" for a in answers):
        parts.append(_("you mentioned thoughts of harming yourself"))
    for answer in answers:
        if answer.field == "age":
            parts.append(
                _("you are under {age}").format(age=renderer.adult_age)
                if answer.value == "young_person"
                else _("you are {age} or over").format(age=renderer.adult_age)
            )
    return renderer.join(parts)


def _placement(
    first_line_for: Sequence[str],
    tier: int,
    context: Context,
    any_leading: bool,
    any_first_line: bool,
    knowledge: Knowledge,
    renderer: Renderer,
) -> dict[str, str]:
    """Why a modality is where it is: which step of the precedence placed it, in words."""
    texts = knowledge.precedence.placement
    leading = context.leading
    if tier == 0 and leading is not None:
        kind = (
            "leading_only"
            if len(context.difficulties) <= 1
            else ("leading_main" if context.main_given else "leading_specific")
        )
        words = renderer.difficulty(leading)
        return {"kind": kind, "text": texts[kind].format(difficulty=words, leading=words)}
    if tier == 1:
        kind = "first_line_after" if any_leading and leading is not None else "first_line"
        text = texts[kind].format(
            difficulty=renderer.value("difficulties", list(first_line_for)),
            leading=renderer.difficulty(leading) if leading else "",
        )
        return {"kind": kind, "text": text}
    kind = "other_after" if any_first_line else "other"
    return {"kind": kind, "text": texts[kind]}


def _stepped_down(
    scores: Mapping[str, int], decision: Mapping[str, Any] | None, knowledge: Knowledge
) -> frozenset[str]:
    """The approaches done in another setting than the one a binding decision puts first."""
    # Risk and severity outrank the condition and the request (precedence.setting_steps): when
    # the decision binds the list (one-to-one sessions first after thoughts of self-harm), an
    # approach done in couple, family or group sessions by its nature must not lead the list.
    if decision is None or not decision["list_follows"]:
        return frozenset()
    modalities = knowledge.vocabulary.modalities
    return frozenset(m for m in scores if modalities[m].setting not in ("", decision["setting"]))


def _placement_after_setting(
    modality: str, decision: Mapping[str, Any] | None, knowledge: Knowledge, renderer: Renderer
) -> dict[str, str]:
    """Why an approach done in another setting comes after the rest: the one decision."""
    assert decision is not None  # only a binding decision steps an approach down
    settings = knowledge.vocabulary.settings
    text = knowledge.precedence.placement["after_setting"].format(
        setting=settings[knowledge.vocabulary.modalities[modality].setting].phrase,
        decided=settings[decision["setting"]].phrase,
    )
    return {"kind": "after_setting", "text": text}


def leading_difficulty(
    difficulties: Sequence[str], main: str | None, knowledge: Knowledge
) -> tuple[str | None, bool]:
    """Whose first-line treatment leads: the main difficulty, else the most specific one picked."""
    if main:
        return main, True
    for difficulty in knowledge.precedence.leading_order:
        if difficulty in difficulties:
            return difficulty, False
    if len(difficulties) == 1:
        return difficulties[0], False
    return None, False


def _setting_label(setting: str, renderer: Renderer) -> str:
    term = renderer.knowledge.vocabulary.settings.get(setting)
    label = term.label if term else setting
    if renderer.language == "de":  # German writes its nouns capitalised mid-sentence too
        return label
    return label[:1].lower() + label[1:]


# The setting steps (rules/clinical/co_occurring.yaml) whose decision binds the match list, over
# the person's request if need be; a condition's or a guideline option's advice informs it,
# unless its rule says `list_follows` (a service's choice the list must not contradict).
BINDING_STEPS = ("risk", "severity")


def decide_setting(
    advice: Sequence[dict[str, Any]],
    context: Context,
    knowledge: Knowledge,
    renderer: Renderer,
    becauses: Mapping[str, str],
    because_beside_request: Callable[[str], str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The one setting decision: the highest step wins, and the advice says what it overrode.

    `because_beside_request(rule)` says a rule's "because" without the setting the person asked
    for: the opening that sets the request aside has already said it.
    """
    if not advice:
        return [], None
    precedence = knowledge.precedence
    steps, order = precedence.setting_steps, precedence.setting_order
    ranked = sorted(
        enumerate(advice),
        key=lambda item: (
            steps.index(item[1]["step"]),
            order.index(item[1]["setting"]),
            item[0],
        ),
    )
    decider = ranked[0][1]
    others = [item for _, item in ranked[1:]]
    overrode = [
        {"rule": a["rule"], "setting": a["setting"], "step": a["step"]}
        for a in others
        if a["setting"] != decider["setting"]
    ]
    agreeing = [a["rule"] for a in others if a["setting"] == decider["setting"]]
    requested = context.requested_setting
    chosen = dict(decider)
    texts = precedence.setting_texts
    if requested and requested != decider["setting"]:
        request = {"rule": "preferences.setting", "setting": requested, "step": "request"}
        if steps.index(decider["step"]) < steps.index("request"):
            beside = because_beside_request(decider["rule"]) if because_beside_request else None
            opening = texts["overrides_request"].format(
                requested=_setting_label(requested, renderer),
                because=beside or becauses[decider["rule"]],
                setting=_setting_label(decider["setting"], renderer),
            )
            chosen["text"] = f"{opening} {decider['rationale']}"
            overrode.insert(0, request)
        else:
            # The person's own request outranks an option a guideline lists as suitable.
            suggested = _setting_label(decider["setting"], renderer)
            text = texts["request_decides"].format(
                requested=_setting_label(requested, renderer),
                suggested=suggested[:1].upper() + suggested[1:],
                because=becauses[decider["rule"]],
                setting=_setting_label(requested, renderer),
            )
            overrode = [
                {"rule": a["rule"], "setting": a["setting"], "step": a["step"]}
                for _, a in ranked
                if a["setting"] != requested
            ]
            agreeing = [a["rule"] for _, a in ranked if a["setting"] == requested]
            chosen = {
                "rule": "preferences.setting",
                "setting": requested,
                "step": "request",
                "text": text,
                "evidence": decider["evidence"],
                "sources": decider["sources"],
                "clinician_note": precedence.clinician_note or precedence.rationale,
            }
    chosen.pop("rationale", None)
    chosen = {k: v for k, v in chosen.items() if v is not None}
    decider_rule = knowledge.rules_by_id.get(chosen["rule"])
    decision = {
        "setting": chosen["setting"],
        "step": chosen["step"],
        "rule": chosen["rule"],
        "overrode": overrode,
        "agreeing": agreeing,
        "list_follows": chosen["step"] in BINDING_STEPS
        or (decider_rule is not None and decider_rule.list_follows),
    }
    return [chosen], decision


def explain_clinical(
    firings: Sequence[Firing],
    knowledge: Knowledge,
    renderer: Renderer,
    context: Context | None = None,
) -> ClinicalExplanation:
    """Build ranked modalities, the one setting advice and alerts from the engine's firings."""
    context = context or Context()
    answers = _answers_of(firings, knowledge)
    points = knowledge.matching.strength_points
    vocabulary_order = list(knowledge.vocabulary.modalities)
    scores: dict[str, int] = {}
    reasons: dict[str, list[dict[str, Any]]] = {}
    first_lines: dict[str, list[str]] = {}
    advice: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    becauses: dict[str, str] = {}
    for rule_id in answers:  # each rule once, in rule order
        rule = knowledge.rules_by_id[rule_id]
        because = _because(answers[rule_id], renderer)
        becauses[rule_id] = because
        text = (
            renderer.gettext("Because {because}: {rationale}").format(
                because=because, rationale=rule.rationale
            )
            if because
            else str(rule.rationale)
        )
        cited: dict[str, Any] = {
            "evidence": _evidence(rule, knowledge),
            "sources": _sources(rule, knowledge),
        }
        # A rationale not yet translated is said in English, and marked so (never left out).
        if is_fallback(rule.rationale):
            cited["fallback"] = True
        if rule.clinician_note:
            cited["clinician_note"] = rule.clinician_note
        if rule.recommend and rule.strength:
            earned = points[rule.strength]
            scores[rule.recommend] = scores.get(rule.recommend, 0) + earned
            reason = {
                "rule": rule.id,
                "text": text,
                "answers": [a.as_string() for a in answers[rule_id]],
                "conditions": [a.as_json() for a in answers[rule_id]],
                "points": earned,
                **cited,
            }
            if rule.first_line:
                reason["first_line_for"] = rule.first_line
                found = first_lines.setdefault(rule.recommend, [])
                if rule.first_line not in found:
                    found.append(rule.first_line)
            reasons.setdefault(rule.recommend, []).append(reason)
        if (
            rule.advise_setting
            and rule.setting_step
            and rule.advise_setting not in context.withheld_settings
        ):
            advice.append(
                {
                    "rule": rule.id,
                    "setting": rule.advise_setting,
                    "step": rule.setting_step,
                    "text": text,
                    "rationale": rule.rationale,
                    **cited,
                }
            )
        if rule.alert:
            alerts.append({"level": rule.alert, "rule": rule.id, "text": text, **cited})

    def tier(modality: str) -> int:
        found = first_lines.get(modality, [])
        if context.leading is not None and context.leading in found:
            return 0
        return 1 if found else 2

    order = knowledge.precedence.leading_order

    def specificity(modality: str) -> int:
        # Among co-occurring first-line treatments, the more specific condition's comes first.
        found = [order.index(d) for d in first_lines.get(modality, []) if d in order]
        return min(found, default=len(order))

    def first_line_points(modality: str) -> int:
        return sum(r["points"] for r in reasons[modality] if "first_line_for" in r)

    def because_beside_request(rule_id: str) -> str:
        # Only the rule that decides, and only when it sets a request aside: not every rule.
        return _because([a for a in answers[rule_id] if a.field != "preferences.setting"], renderer)

    chosen, decision = decide_setting(
        advice, context, knowledge, renderer, becauses, because_beside_request
    )
    stepped_down = _stepped_down(scores, decision, knowledge)
    ranked = sorted(
        scores,
        key=lambda m: (
            m in stepped_down,
            tier(m),
            specificity(m) if tier(m) == 1 else 0,
            -first_line_points(m),
            -scores[m],
            vocabulary_order.index(m),
        ),
    )
    any_leading = any(tier(m) == 0 for m in ranked)
    any_first_line = any(tier(m) < 2 for m in ranked)
    modalities: list[dict[str, Any]] = []
    reasons_by_id: dict[str, list[dict[str, Any]]] = {}
    for modality in ranked:
        term = knowledge.vocabulary.modalities[modality]
        # The reason that placed it comes first: the leading difficulty's, then any first line.
        ordered = sorted(
            reasons[modality],
            key=lambda r: (
                0
                if r.get("first_line_for") == context.leading and context.leading
                else (1 if "first_line_for" in r else 2)
            ),
        )
        first_line_for = first_lines.get(modality, [])
        reasons_by_id[modality] = ordered
        modalities.append(
            {
                "id": modality,
                "name": str(term.label),
                "description": str(term.description),
                "score": scores[modality],
                "first_line_for": first_line_for,
                "placement": _placement(
                    first_line_for,
                    tier(modality),
                    context,
                    any_leading,
                    any_first_line,
                    knowledge,
                    renderer,
                )
                if modality not in stepped_down
                else _placement_after_setting(modality, decision, knowledge, renderer),
                "reasons": ordered,
                **({"fallback": True} if is_fallback(term.label) else {}),
            }
        )
    modality_rules = {
        str(m["id"]): [str(r["rule"]) for r in reasons_by_id[str(m["id"])]] for m in modalities
    }
    return ClinicalExplanation(modalities, modality_rules, chosen, alerts, answers, decision)


def explain_match(
    checks: Sequence[Check],
    lines: Sequence[ScoreLine],
    clinical: ClinicalExplanation,
    renderer: Renderer,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Reasons and caveats for one therapist: constraints met, preferences met and missed."""
    reasons: list[dict[str, Any]] = []
    caveats: list[dict[str, Any]] = []
    for item in checks:
        caveat = item.outcome in HARD_CHECKS[item.constraint.check].caveat_outcomes
        target = reasons if item.passed and not caveat else caveats
        target.append(line(f"constraint.{item.constraint.id}", check_sentence(item, renderer)))
    for scored in lines:
        rule = f"preference.{scored.preference.id}"
        if scored.preference.check == "practises_recommended" and scored.offered:
            for modality in scored.offered:
                because = next(
                    (r for m in clinical.modalities if m["id"] == modality for r in m["reasons"]),
                    None,
                )
                met = scored.preference.met
                text = met.format(offered=renderer.modality(modality))
                if because:
                    text += f" ({_because(clinical.answers[because['rule']], renderer)})"
                reasons.append(line(clinical.modality_rules[modality][0], _as_template(met, text)))
            continue
        if scored.preference.check == "treats_difficulties":
            if scored.offered:
                reasons.append(line(rule, score_sentence(scored, renderer, True)))
            if scored.wanted:
                caveats.append(line(rule, score_sentence(scored, renderer, False)))
            continue
        if scored.status == "missed":
            if scored.explained:
                caveats.append(line(rule, score_sentence(scored, renderer, False)))
        else:
            reasons.append(line(rule, score_sentence(scored, renderer, True)))
    return _once(reasons), _once(caveats)


def _once(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A requirement and a preference may say the same thing ("Offers individual sessions,
    # which the rules advise for you"): the person reads it once, from the first that said it.
    kept: dict[str, dict[str, Any]] = {}
    for item in items:
        kept.setdefault(item["text"], item)
    return list(kept.values())


def score_breakdown(lines: Sequence[ScoreLine]) -> list[dict[str, Any]]:
    """Points per soft preference, for a bar chart."""
    return [
        {
            "id": line.preference.id,
            "label": line.preference.label,
            "points": line.points,
            "max": line.preference.points,
        }
        for line in lines
    ]

"""Turn firings, checks and scores into explanation objects and sentences read aloud.

Every sentence comes from a template in rules/ filled with values rendered here: deterministic,
and true of the rules and the roster by construction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from matcher.checks import HARD_CHECKS, SOFT_CHECKS
from matcher.engine import Firing, fact_key
from matcher.gazetteer import Near, about_km, km_between
from matcher.payment import Budget, Plan
from matcher.ranking import Check, ScoreLine
from matcher.rules import ClinicalRule, HardConstraint, Knowledge, Term
from matcher.screening import band_floor

DISCLAIMER = (
    "These suggestions come from your answers and from published guidance. They are not a "
    "diagnosis: a therapist will talk with you about what fits you best."
)


def join(words: Sequence[str], last: str = "and") -> str:
    """Join words as people write them: 'a', 'a and b', 'a, b and c'."""
    words = list(words)
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def km_words(km: float) -> str:
    """A distance to follow 'About': '4 km' (1 km at the least)."""
    return f"{max(1, round(km))} km" if km < 20 else about_km(km).removeprefix("about ")


@dataclass(frozen=True)
class Renderer:
    """Renders ids and values in plain words, from the vocabulary."""

    knowledge: Knowledge

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
        return name[:1].lower() + name[1:] if name[1:2].islower() else name

    def score(self, instrument_id: str, at_least: int) -> str:
        """A total as the rules saw it: 'your PHQ-9 total is 16 or more (moderately severe)'."""
        screening = self.knowledge.screening
        instrument = screening.instruments[instrument_id]
        label = screening.severity_labels[instrument.severity(at_least)]
        if at_least == band_floor(screening, instrument_id, at_least):
            return f"your {instrument.name} total is in the {label} range"
        return f"your {instrument.name} total is {at_least} or more ({label})"

    @staticmethod
    def money(amount: int, currency: str) -> str:
        """An amount in its currency: '80 EUR'."""
        return f"{amount} {currency}"

    def fee(self, found: Mapping[str, Any]) -> str:
        """A therapist's fee and sliding scale: '95 EUR (sliding scale from 70 EUR)'."""
        text = self.money(found["fee"], found["currency"])
        if found.get("sliding_scale_min") is not None:
            text += (
                f" (sliding scale from {self.money(found['sliding_scale_min'], found['currency'])})"
            )
        return text

    def _fee_against(self, found: Mapping[str, Any], budget: Budget) -> str:
        """How a fee stands against a budget, for the fee constraint's sentence."""
        currency = found["currency"]
        fee = self.money(found["fee"], currency)
        if currency != budget.currency:
            return f"fee {fee}, charged in {currency}"
        if found["fee"] <= budget.amount:
            return f"fee {fee}"
        sliding = found.get("sliding_scale_min")
        if sliding is None:
            return f"fee {fee}, no sliding scale"
        scale = f"sliding scale from {self.money(sliding, currency)}"
        places = found.get("low_fee_places")
        if sliding > budget.amount:
            return f"fee {fee}, {scale}"
        if places == 0:
            return f"fee {fee}; the {scale} has no low-fee place open"
        open_places = (
            "" if places is None else f", {places} low-fee place{'s' * (places != 1)} open"
        )
        return f"through the {scale} (standard fee {fee}{open_places})"

    def _plan_found(self, plan: Plan, found: Mapping[str, Any], passed: bool) -> str:
        """What a therapist has to do with the person's plan, in words."""
        payment = self.knowledge.vocabulary.payment
        if payment is None:
            return ""
        entries = [e for e in found["payers"] if e["scheme"] == plan.scheme]
        exact = [e for e in entries if plan.payer is None or e["payer"] in (plan.payer, None)]
        if passed:
            entry = next(e for e in exact if e["network"] in payment.covered_by)
            words = payment.network_words(plan.scheme, entry["network"])
            return f"{words} (checked {entry['verified_at']})"
        if exact:
            return payment.network_words(plan.scheme, exact[0]["network"])
        names = [
            payment.payer_name(e["scheme"], e["payer"])
            for e in found["payers"]
            if e["network"] in payment.covered_by
        ]
        return f"takes {join(names)}" if names else "self-pay only"

    def _nearest(self, near: Near, found: Mapping[str, Any] | None) -> tuple[str, bool]:
        """Where the therapist's nearest office is, and whether it is within reach."""
        places = self.knowledge.vocabulary.gazetteer
        offices = (found or {}).get("offices") or []
        if not offices:
            return "nowhere in person", False
        if near.place is None:
            country = (found or {}).get("country", "")
            return f"in {self.place(country)}", country == near.country
        km = km_between(
            near.place.lat,
            near.place.lon,
            np.array([o["lat"] for o in offices]),
            np.array([o["lon"] for o in offices]),
        )
        nearest = float(km.min())
        centre = places.centre_words(near.place) if places else near.place.name
        return f"{about_km(nearest)} from {centre}", nearest <= near.max_km

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
        if near.place is not None:
            centre = places.centre_words(near.place) if places else near.place.name
            where = f"within {near.max_km} km of {centre}"
            place = near.place.name
        else:
            centre = place = self.place(near.country or "")
            where = f"in {place}"
        words = {"wanted": centre, "where": where, "place": place, "max_km": str(near.max_km)}
        nearest, within = self._nearest(near, found if isinstance(found, Mapping) else None)
        words["offered"] = nearest
        if kind == "reach" and not passed:
            beyond = f"farther than {near.max_km} km" if near.place else f"not in {place}"
            words["offered"] = f"{nearest}, {beyond}"
        if kind == "reach" and passed:
            online = "online" in ((found or {}).get("formats") or [])
            in_person = f"in person {where}" if within else ""
            words["offered"] = join([w for w in ("online" if online else "", in_person) if w], "or")
            if online and in_person:
                words["offered"] = f"online, or in person {where}"
        return words

    def place(self, code: str) -> str:
        """A country or region in words: 'New Jersey', 'the Netherlands'."""
        return self.knowledge.places.name(code)

    @staticmethod
    def day(value: date) -> str:
        """A date as people write it: '7 December 2026'."""
        return f"{value.day} {value:%B %Y}"

    def _licensing(self, kind: str, value: Any, conjunction: str) -> str | None:
        """Licences, places, dates and availability in words; None for another kind."""
        vocabulary = self.knowledge.vocabulary
        if kind == "licensure" and "licences" in value:  # what a therapist holds
            held = sorted({licence["jurisdiction"] for licence in value["licences"]})
            return join([self.place(code) for code in held], conjunction)
        if kind == "licensure":  # what the check wants: where the person will be
            where = value["location"]
            return self.place(where["region"] or where["country"]) if where else "an unknown place"
        if kind == "freshness" and "verified_at" in value:  # what a therapist's record says
            return f"confirmed on {self.day(date.fromisoformat(value['verified_at']))}"
        if kind == "freshness":
            return f"the last {value['max_days']} days"
        if kind == "place":
            return self.place(value)
        if kind == "places":
            return join([self.place(code) for code in value], conjunction) or "nowhere"
        if kind == "date":
            return self.day(value)
        if kind == "licence_status":
            return self._phrase(vocabulary.licence_statuses, value).lower()
        if kind == "licence_states":
            return join([self._licence_state(licence) for licence in value], conjunction)
        if kind == "days_ago":
            return {0: "today", 1: "yesterday"}.get(value, f"{value} days ago")
        if kind == "opening":
            return f"; next opening {self.day(value)}" if value else ""
        if kind == "weekly_cap":
            clients = "new client" if value == 1 else "new clients"
            return f"; takes up to {value} {clients} a week" if value else ""
        if kind == "language":
            return vocabulary.language_name(value)
        if kind in ("access", "access_needs"):
            needs = value["needs"] if isinstance(value, dict) else value
            return join([self._phrase(vocabulary.access, a) for a in needs], conjunction)
        if kind == "affirming":
            words = [self._phrase(vocabulary.affirming, a) for a in value]
            return join(words, conjunction) or "none"
        if kind == "identities":
            return join([self._phrase(vocabulary.identities, i) for i in value], conjunction)
        if kind == "interpreter":
            return vocabulary.language_name(value) if isinstance(value, str) else str(value)
        return None

    def _licence_state(self, licence: Any) -> str:
        place = self.place(licence.jurisdiction)
        if licence.status not in self.knowledge.vocabulary.practising_statuses:
            status = self._phrase(self.knowledge.vocabulary.licence_statuses, licence.status)
            return f"the licence in {place} is {status.lower()}"
        return f"the licence in {place} expired on {self.day(licence.expires)}"

    def value(self, kind: str, value: Any, conjunction: str = "and") -> str:
        """Render one value of a given field kind in words."""
        vocabulary = self.knowledge.vocabulary
        if value is None:
            return {"city": "works online only", "opening": "", "weekly_cap": ""}.get(kind, "none")
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
            return places.centre_words(value.place) if places and value.place else "your country"
        if kind == "distance" and isinstance(value, Mapping):
            return km_words(value["km"])
        if kind == "languages":
            return join([vocabulary.language_name(code) for code in value], conjunction)
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
            return f"{value['min']} to {value['max']}" if isinstance(value, dict) else str(value)
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
            return "yes" if value else "no"
        return str(value)


def plain(value: Any) -> Any:
    """A check's expected or found value as JSON-ready builtins (dataclasses become objects)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    return value


def fee_range(therapists: Sequence[Any], renderer: Renderer) -> str:
    """What the listed therapists charge: '95 EUR', '80 to 120 EUR', '95 EUR or 120 GBP'."""
    by_currency: dict[str, list[int]] = {}
    for therapist in therapists:
        by_currency.setdefault(therapist["currency"], []).append(therapist["fee"])
    parts = []
    for currency, fees in by_currency.items():
        low, high = min(fees), max(fees)
        amount = f"{low}" if low == high else f"{low} to {high}"
        parts.append(f"{amount} {currency}")
    return join(parts, "or") + " a session" if parts else "their fee"


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
    text = template.format_map(words)
    return text[:1].upper() + text[1:]


def score_sentence(line: ScoreLine, renderer: Renderer, met: bool) -> str:
    """The sentence for one soft preference: what it meets, or what it misses."""
    kind = SOFT_CHECKS[line.preference.check].kind
    template = line.preference.met if met else line.preference.missed
    return template.format(
        wanted=renderer.value(kind, line.wanted, "or" if met else "and"),
        offered=renderer.value(kind, line.offered, "and"),
    )


@dataclass(frozen=True)
class Answer:
    """One of the person's answers behind a rule that fired: `field operator value`.

    `field` is the intake's path (difficulties, preferences.setting, screening.phq9, risk); a
    screening answer is a total that reached `value` (">="), the others are equal to it ("is").
    Sentences and the JSON's answer strings are both rendered from it, never parsed back.
    """

    field: str
    operator: str
    value: Any

    def as_string(self) -> str:
        """The answer as the JSON's `answers` writes it: difficulties:ptsd, screening.phq9>=16."""
        separator = ">=" if self.operator == ">=" else ":"
        return f"{self.field}{separator}{self.value}"


# How a preference a clinical rule tests is rendered in its "because" sentence.
PREFERENCE_KINDS = {"setting": "settings", "format": "formats"}


def _answer(fact: Mapping[str, Any]) -> Answer | None:
    """The person's answer a fact stands for; None for a fact a rule derived."""
    if fact["type"] == "difficulty":
        return Answer("difficulties", "is", fact["value"])
    if fact["type"] == "preference":
        return Answer(f"preferences.{fact['name']}", "is", fact["value"])
    if fact["type"] == "screening":
        return Answer(f"screening.{fact['instrument']}", ">=", fact["total"])
    if fact["type"] == "risk":
        return Answer("risk", "is", fact["value"])
    return None


@dataclass(frozen=True)
class ClinicalExplanation:
    """Modalities, advice and alerts from the firings, with where each came from."""

    modalities: list[dict[str, Any]]
    modality_rules: dict[str, list[str]]
    advice: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    # rule id -> the person's answers behind it, as values (the JSON carries their strings)
    answers: dict[str, list[Answer]]


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
        answers: list[Answer] = []
        for fact in firing.facts:
            answer = _answer(fact)
            found = [answer] if answer is not None else origin.get(fact_key(fact), [])
            answers.extend(a for a in found if a not in answers)
        merged = answers_by_rule.setdefault(firing.rule_id, [])
        merged.extend(a for a in answers if a not in merged)
        for derived in knowledge.rules_by_id[firing.rule_id].derived_facts():
            known = origin.setdefault(fact_key(derived), [])
            known.extend(a for a in answers if a not in known)
    return answers_by_rule


def _because(answers: Sequence[Answer], renderer: Renderer) -> str:
    difficulties = [a.value for a in answers if a.field == "difficulties"]
    asked = [a for a in answers if a.field.startswith("preferences.")]
    scored = [a for a in answers if a.field.startswith("screening.")]
    parts = []
    if difficulties:
        parts.append("you mentioned " + renderer.value("difficulties", difficulties))
    for answer in asked:
        kind = PREFERENCE_KINDS[answer.field.removeprefix("preferences.")]
        parts.append("you asked for " + renderer.value(kind, answer.value))
    for answer in scored:
        parts.append(renderer.score(answer.field.removeprefix("screening."), int(answer.value)))
    if any(a.field == "risk" for a in answers):
        parts.append("you mentioned thoughts of harming yourself")
    return join(parts)


def explain_clinical(
    firings: Sequence[Firing], knowledge: Knowledge, renderer: Renderer
) -> ClinicalExplanation:
    """Build ranked modalities, advice and alerts from the engine's firings."""
    answers = _answers_of(firings, knowledge)
    points = knowledge.matching.strength_points
    vocabulary_order = list(knowledge.vocabulary.modalities)
    scores: dict[str, int] = {}
    reasons: dict[str, list[dict[str, Any]]] = {}
    advice: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    for rule_id in answers:  # each rule once, in rule order
        rule = knowledge.rules_by_id[rule_id]
        because = _because(answers[rule_id], renderer)
        text = f"Because {because}: {rule.rationale}" if because else rule.rationale
        cited = {"evidence": _evidence(rule, knowledge), "sources": _sources(rule, knowledge)}
        if rule.recommend and rule.strength:
            earned = points[rule.strength]
            scores[rule.recommend] = scores.get(rule.recommend, 0) + earned
            reasons.setdefault(rule.recommend, []).append(
                {
                    "rule": rule.id,
                    "text": text,
                    "answers": [a.as_string() for a in answers[rule_id]],
                    "points": earned,
                    **cited,
                }
            )
        if rule.advise_setting:
            advice.append({"rule": rule.id, "setting": rule.advise_setting, "text": text, **cited})
        if rule.alert:
            alerts.append({"level": rule.alert, "rule": rule.id, "text": text, **cited})
    ranked = sorted(scores, key=lambda m: (-scores[m], vocabulary_order.index(m)))
    modalities = []
    for modality in ranked:
        term = knowledge.vocabulary.modalities[modality]
        modalities.append(
            {
                "id": modality,
                "name": term.label,
                "description": term.description,
                "score": scores[modality],
                "reasons": reasons[modality],
            }
        )
    modality_rules = {m: [r["rule"] for r in reasons[m]] for m in ranked}
    return ClinicalExplanation(modalities, modality_rules, advice, alerts, answers)


def explain_match(
    checks: Sequence[Check],
    lines: Sequence[ScoreLine],
    clinical: ClinicalExplanation,
    renderer: Renderer,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Reasons and caveats for one therapist: constraints met, preferences met and missed."""
    reasons: list[dict[str, str]] = []
    caveats: list[dict[str, str]] = []
    for item in checks:
        caveat = item.outcome in HARD_CHECKS[item.constraint.check].caveat_outcomes
        target = reasons if item.passed and not caveat else caveats
        target.append(
            {"rule": f"constraint.{item.constraint.id}", "text": check_sentence(item, renderer)}
        )
    for line in lines:
        rule = f"preference.{line.preference.id}"
        if line.preference.check == "practises_recommended" and line.offered:
            for modality in line.offered:
                because = next(
                    (r for m in clinical.modalities if m["id"] == modality for r in m["reasons"]),
                    None,
                )
                text = line.preference.met.format(offered=renderer.modality(modality))
                if because:
                    text += f" ({_because(clinical.answers[because['rule']], renderer)})"
                reasons.append({"rule": clinical.modality_rules[modality][0], "text": text})
            continue
        if line.preference.check == "treats_difficulties":
            if line.offered:
                reasons.append({"rule": rule, "text": score_sentence(line, renderer, True)})
            if line.wanted:
                caveats.append({"rule": rule, "text": score_sentence(line, renderer, False)})
            continue
        if line.status == "missed":
            caveats.append({"rule": rule, "text": score_sentence(line, renderer, False)})
        else:
            reasons.append({"rule": rule, "text": score_sentence(line, renderer, True)})
    return reasons, caveats


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

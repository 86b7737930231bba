"""Turn firings, checks and scores into explanation objects and sentences read aloud.

Every sentence comes from a template in rules/ filled with values rendered here: deterministic,
and true of the rules and the roster by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matcher import i18n
from matcher.checks import HARD_CHECKS, SOFT_CHECKS
from matcher.engine import Firing, fact_key
from matcher.i18n import N_
from matcher.localise import is_fallback
from matcher.ranking import Check, ScoreLine
from matcher.rules import ClinicalRule, HardConstraint, Knowledge, Term
from matcher.screening import band_floor

DISCLAIMER = N_(
    "These suggestions come from your answers and from published guidance. They are not a "
    "diagnosis: a therapist will talk with you about what fits you best."
)


def join(words: Sequence[str], last: str = "and", language: str = i18n.SOURCE_LANGUAGE) -> str:
    """Join words as people write them: 'a', 'a and b', 'a, b and c' (or 'a, b or c')."""
    return i18n.join_words(words, language, "or" if last == "or" else "standard")


@dataclass(frozen=True)
class Renderer:
    """Renders ids and values in plain words, from the vocabulary, in one language."""

    knowledge: Knowledge
    currency: str
    language: str = i18n.SOURCE_LANGUAGE

    def gettext(self, message: str) -> str:
        """A sentence the code builds, in this renderer's language (matcher/translations)."""
        return i18n.gettext_for(self.language)(message)

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

    def money(self, amount: int) -> str:
        """An amount in the roster's currency, written the language's way."""
        return i18n.money(amount, self.currency, self.language, code=True)

    def value(self, kind: str, value: Any, conjunction: str = "and") -> str:
        """Render one value of a given field kind in words."""
        vocabulary = self.knowledge.vocabulary
        join = self.join
        _ = self.gettext
        if value is None:
            return _("online only") if kind == "city" else _("none")
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
        if kind == "fee":
            if isinstance(value, dict):
                text = self.money(value["fee"])
                if value.get("sliding_scale_min") is not None:
                    text += " " + _("(sliding scale from {amount})").format(
                        amount=self.money(value["sliding_scale_min"])
                    )
                return text
            return self.money(value)
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
        return str(value)

    def language_name(self, code: str) -> str:
        """A language's name in this renderer's language: 'Spanish', 'español' in es."""
        if self.language == i18n.SOURCE_LANGUAGE:
            return self.knowledge.vocabulary.language_name(code)
        return i18n.language_name(code, self.language) or self.knowledge.vocabulary.language_name(
            code
        )


def hard_kind(constraint: HardConstraint) -> str:
    """The value kind a hard constraint's wanted and found values are rendered as."""
    return HARD_CHECKS[constraint.check].kind or constraint.therapist_field


def check_sentence(check: Check, renderer: Renderer) -> str:
    """The sentence for one hard-constraint check, passed or failed."""
    constraint = check.constraint
    kind = hard_kind(constraint)
    template = constraint.passed if check.passed else constraint.failed
    wanted = renderer.value(kind, check.expected, "or")
    offered = renderer.value(kind, check.actual, "and")
    return template.format(wanted=wanted, offered=offered)


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
    _ = renderer.gettext
    parts = []
    if difficulties:
        parts.append(
            _("you mentioned {difficulties}").format(
                difficulties=renderer.value("difficulties", difficulties)
            )
        )
    for answer in asked:
        kind = PREFERENCE_KINDS[answer.field.removeprefix("preferences.")]
        parts.append(_("you asked for {wanted}").format(wanted=renderer.value(kind, answer.value)))
    for answer in scored:
        parts.append(renderer.score(answer.field.removeprefix("screening."), int(answer.value)))
    if any(a.field == "risk" for a in answers):
        parts.append(_("you mentioned thoughts of harming yourself"))
    return renderer.join(parts)


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
                "name": str(term.label),
                "description": str(term.description),
                "score": scores[modality],
                "reasons": reasons[modality],
                **({"fallback": True} if is_fallback(term.label) else {}),
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
        target = reasons if item.passed else caveats
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

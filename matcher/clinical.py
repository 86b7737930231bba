"""Clinical evaluation: the rules engine over an intake's facts, cached, and what it concluded.

One job: from a validated intake to the explained modalities, advice and alerts, and the
picture the roster step ranks with. The cache and the state it needs live here, together.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from matcher import explain, screening
from matcher.engine import Firing, RulesEngine, compile_rules
from matcher.explain import ClinicalExplanation, Context, Renderer
from matcher.ranking import ClinicalPicture
from matcher.rules import AGE_TESTS, Knowledge

if TYPE_CHECKING:  # the type only: matching builds this module's evaluator
    from matcher.intake import Intake

Facts = tuple[tuple[tuple[str, Any], ...], ...]
# The facts, then what frames them: the leading difficulty, whether the person named it, the
# setting they asked for, and their difficulties (sorted: placement words count them).
FactsKey = tuple[Facts, str | None, bool, str | None, tuple[str, ...], frozenset[str]]


class ClinicalEvaluation:
    """The compiled clinical rules, evaluated once per distinct set of facts."""

    def __init__(
        self,
        knowledge: Knowledge,
        renderer: Renderer,
        name_hint: str,
        cache_size: int,
        adult_age: int = 18,
        engine: RulesEngine | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.renderer = renderer
        # The age the clinic treats as adult (MATCHER_ADULT_AGE): below it, a young person.
        self.adult_age = adult_age
        # The engine's conclusions depend only on the facts (and on the rules, fixed for the
        # life of this object), so equal facts may share one evaluation: a correct cache.
        self._clinical_for = functools.lru_cache(maxsize=cache_size)(self._evaluate)
        self.cache_info = self._clinical_for.cache_info
        # What the rules can tell apart: total_at_least thresholds, and preference values tested.
        # Facts are reduced to these, so that more intakes share one cached evaluation.
        self._thresholds: dict[str, list[int]] = {}
        self._observed_preferences: set[tuple[str, Any]] = set()
        self._age_thresholds: set[int] = set()
        for rule in knowledge.rules:
            for condition in rule.when + rule.unless:
                if condition.key in AGE_TESTS:
                    self._age_thresholds.add(int(condition.values[0]))
                for test in ("_total_at_least", "_total_below"):
                    if condition.key.endswith(test):
                        instrument = condition.key.removesuffix(test)
                        self._thresholds.setdefault(instrument, []).append(int(condition.values[0]))
                if condition.key in ("setting", "format"):
                    self._observed_preferences.update((condition.key, v) for v in condition.values)
        # The same rules in another language share one compiled engine: only the words differ.
        self.engine = engine or compile_rules(knowledge.rules, name_hint=name_hint)

    def explanation(self, intake: Intake) -> ClinicalExplanation:
        """Run the clinical rules on the intake's facts and explain what they concluded."""
        return self._clinical_for(self._facts_key(intake))[0]

    def picture(self, intake: Intake) -> tuple[ClinicalExplanation, ClinicalPicture]:
        """The explanation and the picture the roster step needs, for this intake."""
        clinical, picture = self._clinical_for(self._facts_key(intake))
        # The cached picture lists difficulties in canonical order; keep the person's own.
        picture = replace(picture, difficulties=intake.difficulties)
        if intake.risk_signals:
            # The safety path sees a clinician one to one first: advice for another setting
            # ("a group fits low mood well") is neither shown nor scored, in every answer.
            kept = self.knowledge.crisis.urgent_path_settings
            advice = [a for a in clinical.advice if a["setting"] in kept]
            decision = clinical.setting_decision if advice else None
            clinical = replace(clinical, advice=advice, setting_decision=decision)
            picture = replace(
                picture, advised_settings=tuple(s for s in picture.advised_settings if s in kept)
            )
        modalities, settings = intake.route.withheld_modalities, intake.route.withheld_settings
        if modalities or settings:
            # A care route rules these out (couple and family work beside abuse): they are
            # neither shown nor scored, whatever rule recommended them.
            clinical = replace(
                clinical,
                modalities=[m for m in clinical.modalities if m["id"] not in modalities],
                modality_rules={
                    m: r for m, r in clinical.modality_rules.items() if m not in modalities
                },
                advice=[a for a in clinical.advice if a["setting"] not in settings],
            )
            picture = replace(
                picture,
                modality_scores={
                    m: v for m, v in picture.modality_scores.items() if m not in modalities
                },
                advised_settings=tuple(s for s in picture.advised_settings if s not in settings),
                scores_by_difficulty={
                    d: {m: v for m, v in scores.items() if m not in modalities}
                    for d, scores in picture.scores_by_difficulty.items()
                    if any(m not in modalities for m in scores)
                },
                first_line={
                    d: remaining
                    for d, found in picture.first_line.items()
                    if (remaining := found - set(modalities))
                },
            )
        required = self._settings_required(clinical.setting_decision, settings)
        if required is not None:
            picture = replace(picture, settings_required=required)
        return clinical, picture

    def _settings_required(
        self, decision: dict[str, Any] | None, withheld: frozenset[str]
    ) -> tuple[str, ...] | None:
        """The settings every match must offer one of, or None (see ClinicalPicture)."""
        required: tuple[str, ...] | None = None
        if decision is not None and decision["list_follows"]:
            # "Because ..., individual sessions first" (asked for couple sessions or not): a
            # list of therapists who see only couples would contradict the one piece of advice.
            required = (decision["setting"],)
        if withheld:
            allowed = [s for s in self.knowledge.vocabulary.settings if s not in withheld]
            required = tuple(s for s in (required or allowed) if s in allowed)
        return required

    def facts(self, intake: Intake) -> list[dict[str, Any]]:
        """The facts the clinical rules reason over, for one intake."""
        facts: list[dict[str, Any]] = [
            {"type": "difficulty", "value": d} for d in intake.difficulties
        ]
        for name in ("setting", "format"):
            value = getattr(intake.preferences, name)
            # A preference no rule tests cannot change what fires: leaving it out lets more
            # intakes share one cached evaluation.
            if (name, value) in self._observed_preferences:
                facts.append({"type": "preference", "name": name, "value": value})
        facts.extend(screening.facts(intake.scores, self.knowledge.screening, self._thresholds))
        facts.extend({"type": "trauma", "value": detail} for detail in intake.trauma)
        facts.extend({"type": "risk", "value": signal} for signal in intake.risk_signals)
        age = intake.preferences.age
        if age is not None:
            # The age as the rules can tell it: its group, and the highest bound it reaches.
            years = max((t for t in self._age_thresholds if t <= age), default=0)
            group = "young_person" if age < self.adult_age else "adult"
            facts.append({"type": "age", "value": group, "years": years})
        return facts

    def _facts_key(self, intake: Intake) -> FactsKey:
        # A set of facts, in one canonical order: the same facts give the same key.
        facts = tuple(sorted(tuple(sorted(fact.items())) for fact in self.facts(intake)))
        leading, named = explain.leading_difficulty(
            intake.difficulties, intake.main_difficulty, self.knowledge
        )
        setting = intake.preferences.setting
        requested = setting if setting in self.knowledge.vocabulary.settings else None
        withheld = intake.route.withheld_settings
        return facts, leading, named, requested, tuple(sorted(intake.difficulties)), withheld

    def _evaluate(self, key: FactsKey) -> tuple[ClinicalExplanation, ClinicalPicture]:
        fact_items, leading, named, requested, difficulties, withheld = key
        facts = [dict(fact) for fact in fact_items]
        firings = self._without_replaced(self.engine.evaluate(facts))
        context = Context(difficulties, leading, named, requested, withheld)
        clinical = explain.explain_clinical(firings, self.knowledge, self.renderer, context)
        canonical = tuple(f["value"] for f in facts if f["type"] == "difficulty")
        return clinical, self._picture(canonical, clinical, leading)

    def _without_replaced(self, firings: list[Firing]) -> list[Firing]:
        """Drop the firings a fired rule replaces, and those that chained on what they derived."""
        rules = self.knowledge.rules_by_id
        replaced = {r for f in firings for r in rules[f.rule_id].replaces}
        kept = [f for f in firings if f.rule_id not in replaced]
        while True:
            derived = {
                (fact["type"], fact["value"])
                for f in kept
                for fact in rules[f.rule_id].derived_facts()
            }
            still = [
                f
                for f in kept
                if all(
                    (fact["type"], fact["value"]) in derived
                    for fact in f.facts
                    if fact["type"] in ("recommendation", "flag")
                )
            ]
            if len(still) == len(kept):
                return still
            kept = still

    def _picture(
        self, difficulties: tuple[str, ...], clinical: ClinicalExplanation, leading: str | None
    ) -> ClinicalPicture:
        advised = [item["setting"] for item in clinical.advice]  # one decision: at most one
        by_difficulty: dict[str, dict[str, int]] = {}
        first_line: dict[str, set[str]] = {}
        for modality in clinical.modalities:
            for difficulty in modality["first_line_for"]:
                first_line.setdefault(difficulty, set()).add(modality["id"])
            for reason in modality["reasons"]:
                for answer in clinical.answers[reason["rule"]]:
                    if answer.field == "difficulties":
                        scores = by_difficulty.setdefault(answer.value, {})
                        scores[modality["id"]] = scores.get(modality["id"], 0) + reason["points"]
        return ClinicalPicture(
            difficulties=difficulties,
            modality_scores={m["id"]: m["score"] for m in clinical.modalities},
            advised_settings=tuple(advised),
            scores_by_difficulty={d: by_difficulty[d] for d in difficulties if d in by_difficulty},
            leading=leading,
            first_line={d: frozenset(m) for d, m in first_line.items()},
        )

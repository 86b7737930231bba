"""Lock in the durable_rules behaviours the engine module relies on (see ../shared/durable_rules.md)."""

from __future__ import annotations

import threading

import pytest

from matcher.engine import RulesEngine, RuleSpec
from matcher.errors import EngineError
from matcher.matching import Matcher
from matcher.rules import (
    INPUTS_COMPLETE,
    ClinicalRule,
    Condition,
    Evidence,
    compile_rule,
    pattern_names,
)


def rule(
    rule_id: str,
    when: list[tuple[str, list[str]]],
    unless: list[tuple[str, list[str]]] = (),  # type: ignore[assignment]
    **outcome: str,
) -> ClinicalRule:
    return ClinicalRule(
        id=rule_id,
        file="test.yaml",
        when=tuple(Condition(k, tuple(v)) for k, v in when),
        unless=tuple(Condition(k, tuple(v)) for k, v in unless),
        rationale="A rationale for the test.",
        evidence=(Evidence("seed-000", "test"),),
        **outcome,
    )


def engine_for(*rules: ClinicalRule) -> RulesEngine:
    return RulesEngine(
        (
            RuleSpec(r.id, compile_rule(r), tuple(pattern_names(r)), tuple(r.derived_facts()))
            for r in rules
        ),
        inputs_complete=INPUTS_COMPLETE,
    )


def difficulty(value: str) -> dict[str, str]:
    return {"type": "difficulty", "value": value}


CHAIN = [
    rule(
        "flag",
        [("difficulty", ["anxiety", "panic"]), ("difficulty", ["depression"])],
        derive="both",
    ),
    rule("uses_flag", [("flag", ["both"])], recommend="transdiagnostic_cbt", strength="strong"),
    rule("ptsd", [("difficulty", ["ptsd"])], recommend="emdr", strength="strong"),
    rule(
        "on_emdr", [("recommended", ["emdr"])], [("difficulty", ["complex_trauma"])], alert="info"
    ),
]


def fired(engine: RulesEngine, *difficulties: str) -> list[str]:
    return [f.rule_id for f in engine.evaluate([difficulty(d) for d in difficulties])]


def test_a_derived_fact_triggers_the_rules_that_chain_on_it() -> None:
    engine = engine_for(*CHAIN)
    assert fired(engine, "anxiety", "depression") == ["flag", "uses_flag"]


def test_a_rule_matching_two_ways_fires_for_each_but_derives_its_fact_once() -> None:
    engine = engine_for(*CHAIN)
    assert fired(engine, "anxiety", "panic", "depression") == ["flag", "flag", "uses_flag"]


def test_unless_blocks_a_rule_when_the_answer_is_present() -> None:
    engine = engine_for(*CHAIN)
    assert fired(engine, "ptsd") == ["ptsd", "on_emdr"]
    assert fired(engine, "ptsd", "complex_trauma") == ["ptsd"]


def test_unless_sees_every_answer_whatever_order_the_facts_arrive_in() -> None:
    guarded = rule(
        "screen", [("difficulty", ["stress"])], [("difficulty", ["depression"])], alert="info"
    )
    engine = engine_for(guarded)
    assert fired(engine, "stress") == ["screen"]
    assert fired(engine, "stress", "depression") == []
    assert fired(engine, "depression", "stress") == []


def test_facts_that_match_no_rule_do_not_stop_the_others_from_firing() -> None:
    # durable_rules raises MessageNotHandled for the whole batch and leaves actions pending.
    engine = engine_for(*CHAIN)
    assert fired(engine, "grief", "ptsd", "stress") == ["ptsd", "on_emdr"]
    assert fired(engine, "grief") == []


def test_a_session_whose_facts_all_match_no_rule_is_evaluated_and_cleaned_up() -> None:
    # Without the engine's own session fact, deleting such a session crashed the process
    # (a segfault inside durable_rules), e.g. for a risk-only intake no rule mentions.
    engine = engine_for(
        rule("ptsd", [("difficulty", ["ptsd"])], recommend="emdr", strength="strong")
    )
    for _ in range(3):
        assert fired(engine, "grief") == []
        assert engine.evaluate([]) == []
    assert fired(engine, "ptsd") == ["ptsd"]


def test_firings_report_the_facts_each_pattern_matched() -> None:
    engine = engine_for(*CHAIN)
    firing = engine.evaluate([difficulty("panic"), difficulty("depression")])[0]
    assert firing.facts == (difficulty("panic"), difficulty("depression"))


def test_sessions_are_isolated_and_state_is_deleted() -> None:
    engine = engine_for(*CHAIN)
    assert fired(engine, "ptsd") == ["ptsd", "on_emdr"]
    assert fired(engine, "anxiety") == []  # nothing left over from the previous evaluation


def test_thousands_of_evaluations_do_not_exhaust_the_engine() -> None:
    # Without delete_state, the 1,025th live session fails with MemoryError.
    engine = engine_for(*CHAIN)
    for _ in range(1500):
        assert fired(engine, "anxiety", "depression") == ["flag", "uses_flag"]


def test_an_error_inside_an_action_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(*CHAIN)
    from matcher import engine as engine_module

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(engine_module, "Firing", broken)
    with pytest.raises(EngineError, match="boom"):
        engine.evaluate([difficulty("ptsd")])
    monkeypatch.undo()
    assert fired(engine, "ptsd") == ["ptsd", "on_emdr"]  # and the engine still works after


def test_two_engines_with_the_same_rules_can_live_in_one_process() -> None:
    first, second = engine_for(*CHAIN), engine_for(*CHAIN)
    assert first.ruleset_name != second.ruleset_name
    assert fired(first, "ptsd") == fired(second, "ptsd")


def test_concurrent_evaluations_from_threads_give_correct_answers() -> None:
    engine = engine_for(*CHAIN)
    failures: list[str] = []

    def work(diffs: tuple[str, ...], expected: list[str]) -> None:
        for _ in range(200):
            got = fired(engine, *diffs)
            if got != expected:
                failures.append(f"{diffs}: {got}")

    cases = [
        (("ptsd",), ["ptsd", "on_emdr"]),
        (("anxiety", "depression"), ["flag", "uses_flag"]),
        (("grief",), []),
    ]
    threads = [threading.Thread(target=work, args=case) for case in cases * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_every_bundled_rule_compiles_and_can_fire(matcher: Matcher) -> None:
    """Each bundled rule fires for the answers its own conditions name."""
    for clinical_rule in matcher.knowledge.rules:
        facts = []
        age = {"type": "age", "value": "adult", "years": 0}
        for condition in clinical_rule.when:
            if condition.key == "age_group":
                age["value"] = condition.values[0]
            elif condition.key == "age_at_least":
                age["years"] = condition.values[0]
            elif condition.key == "age_below":
                age["years"] = condition.values[0] - 1
        if any(c.key.startswith("age_") for c in clinical_rule.when):
            facts.append(age)
        for condition in clinical_rule.when:
            if condition.key == "difficulty":
                facts.append(difficulty(condition.values[0]))
            elif condition.key == "risk":
                facts.append({"type": "risk", "value": condition.values[0]})
            elif condition.key == "trauma":
                facts.append({"type": "trauma", "value": condition.values[0]})
            elif condition.key.endswith(("_difficulty_at_least", "_difficulty_below")):
                name, test = condition.key.split("_difficulty_")
                answer = condition.values[0] - (test == "below")
                facts.append({"type": "screening_difficulty", "instrument": name, "value": answer})
            elif condition.key.endswith(("_severity", "_total_at_least", "_total_below")):
                name = condition.key.split("_")[0]
                instrument = matcher.knowledge.screening.instruments[name]
                if condition.key.endswith("_severity"):
                    total = next(
                        top for top, band in instrument.bands if band == condition.values[0]
                    )
                elif condition.key.endswith("_total_below"):
                    total = condition.values[0] - 1
                else:
                    total = condition.values[0]
                facts.append(
                    {
                        "type": "screening",
                        "instrument": name,
                        "total": total,
                        "value": instrument.severity(total),
                    }
                )
            elif condition.key in ("setting", "format"):
                facts.append(
                    {"type": "preference", "name": condition.key, "value": condition.values[0]}
                )
            elif condition.key == "recommended":
                source = next(
                    r for r in matcher.knowledge.rules if r.recommend == condition.values[0]
                )
                facts.extend(difficulty(c.values[0]) for c in source.when if c.key == "difficulty")
            elif condition.key == "flag":
                source = next(r for r in matcher.knowledge.rules if r.derive == condition.values[0])
                facts.extend(difficulty(c.values[0]) for c in source.when if c.key == "difficulty")
        rule_ids = {f.rule_id for f in matcher.engine.evaluate(facts)}
        assert clinical_rule.id in rule_ids, clinical_rule.id

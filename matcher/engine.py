"""The one place that knows durable_rules: its JSON dialect and its API, a session per evaluation.

matcher/rules.py gives validated, engine-neutral rule objects; this module compiles them into
durable_rules' JSON (`"$and"`, `"$gte"`, `"n0$not"`, ...) and runs them.

Facts measured in ../shared/durable_rules.md shape this module: the stock Host starts timer threads
that corrupt sessions under concurrency, so ours starts none and one lock serialises evaluations;
exceptions inside actions are swallowed by the engine, so actions record them and we raise them.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from durable import engine as durable_engine

from matcher.errors import EngineError
from matcher.rules import FACT_OF_CONDITION, ClinicalRule, Condition, condition_slots
from matcher.schemas import SCREENING_CONDITION

FactKey = tuple[tuple[str, Any], ...]
# Every session starts with this fact, which an internal rule handles: a session whose facts all
# matched no rule crashes durable_rules (a segfault in delete_state), so none may be left so.
SESSION_FACT = {"type": "_session"}
SESSION_RULE = "_session"

_ruleset_numbers = itertools.count(1)


def _nothing(_closure: Any) -> None:
    """The internal session rule's action: it exists only so that every session has a match."""


class _QuietHost(durable_engine.Host):  # type: ignore[misc]
    """A durable_rules host that starts no background timer threads."""

    def _run(self) -> None:
        """Start nothing: every action runs synchronously inside assert_facts or update_state."""


def fact_key(fact: Mapping[str, Any]) -> FactKey:
    """Return a hashable identity for a fact (without the engine's session id)."""
    return tuple(sorted((k, v) for k, v in fact.items() if k != "sid"))


@dataclass(frozen=True)
class Firing:
    """One rule firing: the rule and the facts its patterns matched, in `when` order."""

    rule_id: str
    facts: tuple[dict[str, Any], ...]


@dataclass
class _Collector:
    """What one evaluation's actions report: firings, derived facts already asserted, errors."""

    sid: str
    firings: list[Firing] = field(default_factory=list)
    asserted: set[FactKey] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleSpec:
    """What the engine needs of a rule: its compiled patterns and the facts it derives."""

    rule_id: str
    definition: dict[str, Any]
    pattern_names: tuple[str, ...]
    derives: tuple[dict[str, Any], ...]


class RulesEngine:
    """Runs one durable_rules ruleset, one isolated session per evaluation."""

    def __init__(
        self,
        specs: Iterable[RuleSpec],
        name_hint: str = "matcher",
        inputs_complete: Mapping[str, Any] | None = None,
    ) -> None:
        self._specs = list(specs)
        # Asserted once every input fact is in, for rules whose negations must see all of them.
        self._inputs_complete = dict(inputs_complete) if inputs_complete else None
        self._order = {spec.rule_id: i for i, spec in enumerate(self._specs)}
        # A ruleset name can be registered only once per process; a reload gets a new one.
        self.ruleset_name = f"{name_hint}_{next(_ruleset_numbers)}"
        self._host = _QuietHost()
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._collector: _Collector | None = None
        definitions = {}
        for spec in self._specs:
            # The host mutates what it is given: hand it a copy.
            definition = copy.deepcopy(spec.definition)
            definition["run"] = self._action(spec)
            definitions[spec.rule_id] = definition
        definitions[SESSION_RULE] = {"all": [{"m": dict(SESSION_FACT)}], "run": _nothing}
        try:
            self._host.register_rulesets({self.ruleset_name: definitions})
        except Exception as exc:  # the C engine reports only an error code
            raise EngineError(f"durable_rules rejected the ruleset: {exc}") from exc

    def _action(self, spec: RuleSpec) -> Callable[[Any], None]:
        def run(closure: Any) -> None:
            collector = self._collector
            if collector is None:  # pragma: no cover - only if the engine ran an action on its own
                return
            try:
                matched = closure._m  # the matched facts by pattern name
                facts = tuple(
                    {k: v for k, v in dict(matched[name]).items() if k != "sid"}
                    for name in spec.pattern_names
                )
                collector.firings.append(Firing(spec.rule_id, facts))
                for derived in spec.derives:
                    key = fact_key(derived)
                    if key in collector.asserted:
                        continue
                    collector.asserted.add(key)
                    try:
                        closure.assert_fact(dict(derived, sid=collector.sid))
                    except durable_engine.MessageNotHandledException:
                        pass  # no rule chains on this derived fact: nothing to do
            except Exception as exc:  # the engine would swallow it: record it and raise later
                collector.errors.append(f"rule {spec.rule_id!r}: {exc!r}")

        return run

    def evaluate(self, facts: Iterable[Mapping[str, Any]]) -> list[Firing]:
        """Assert `facts` in a fresh session and return every firing, in rule order."""
        unique: dict[FactKey, dict[str, Any]] = {}
        for fact in facts:
            unique.setdefault(fact_key(fact), dict(fact))
        with self._lock:
            sid = str(next(self._sessions))
            collector = _Collector(sid)
            for key in unique:
                collector.asserted.add(key)
            self._collector = collector
            try:
                batch = [dict(SESSION_FACT, sid=sid)]
                batch += [dict(fact, sid=sid) for fact in unique.values()]
                try:
                    self._host.assert_facts(self.ruleset_name, batch)
                except durable_engine.MessageNotHandledException:
                    # Some fact matched no rule: the engine raised before running the actions
                    # the other facts triggered, and left them pending. Run them now.
                    self._host.update_state(self.ruleset_name, {"sid": sid})
                if self._inputs_complete is not None:
                    try:
                        self._host.assert_fact(
                            self.ruleset_name, dict(self._inputs_complete, sid=sid)
                        )
                    except durable_engine.MessageNotHandledException:
                        pass  # no rule waits for it in this ruleset
                state = self._host.get_state(self.ruleset_name, sid)
                if isinstance(state, dict) and state.get("exception"):
                    collector.errors.append(str(state["exception"]))
            except Exception as exc:
                raise EngineError(f"durable_rules failed: {exc!r}") from exc
            finally:
                self._collector = None
                try:
                    self._host.delete_state(self.ruleset_name, sid)
                except Exception:  # noqa: S110 - a session that never started has no state
                    pass
        if collector.errors:
            raise EngineError("; ".join(collector.errors))
        return sorted(
            collector.firings,
            key=lambda f: (self._order[f.rule_id], repr(f.facts)),
        )


# --- compiling the rules into durable_rules' dialect ---------------------------------------------

# How each numeric test compares its fact's field with the rule's value.
_AT_LEAST = "$gte"
_BELOW = "$lt"
_AGE_OPERATORS = {"age_at_least": _AT_LEAST, "age_below": _BELOW}
# Asserted after all of an evaluation's input facts. The engine checks negations as facts
# arrive, not once a batch is complete, so a rule with `unless` also waits for this fact:
# otherwise a fact asserted early could fire it before the answer that should stop it arrives.
INPUTS_COMPLETE = {"type": "inputs_complete"}


def pattern_names(rule: ClinicalRule) -> list[str]:
    """Return the names of the positive patterns of a compiled rule, in `when` order."""
    return [f"c{i}" for i in range(len(condition_slots(rule.when)))]


def _pattern(condition: Condition) -> dict[str, Any]:
    if condition.key in _AGE_OPERATORS:
        return {
            "$and": [
                {"type": "age"},
                {_AGE_OPERATORS[condition.key]: {"years": condition.values[0]}},
            ]
        }
    screening_test = SCREENING_CONDITION.match(condition.key)
    if screening_test and condition.key not in FACT_OF_CONDITION:
        tests: list[dict[str, Any]] = [
            {"type": "screening"},
            {"instrument": screening_test["instrument"]},
        ]
        test = screening_test["test"]
        if test == "total_at_least":
            tests.append({_AT_LEAST: {"total": condition.values[0]}})
            return {"$and": tests}
        if test == "total_below":
            tests.append({_BELOW: {"total": condition.values[0]}})
            return {"$and": tests}
        if test.startswith("difficulty_"):
            tests[0] = {"type": "screening_difficulty"}
            operator = _AT_LEAST if test == "difficulty_at_least" else _BELOW
            tests.append({operator: {"value": condition.values[0]}})
            return {"$and": tests}
    else:
        fact_type, extra = FACT_OF_CONDITION[condition.key]
        tests = [{"type": fact_type}]
        tests.extend({k: v} for k, v in extra.items())
    if len(condition.values) == 1:
        tests.append({"value": condition.values[0]})
    else:
        tests.append({"$or": [{"value": v} for v in condition.values]})
    return {"$and": tests}


def _slot_pattern(slot: list[Condition]) -> dict[str, Any]:
    if len(slot) == 1:
        return _pattern(slot[0])
    tests: list[dict[str, Any]] = [{"type": "age"}]
    for condition in slot:
        tests.extend(t for t in _pattern(condition)["$and"] if t != {"type": "age"})
    return {"$and": tests}


def compile_rule(rule: ClinicalRule) -> dict[str, Any]:
    """Compile one rule to durable_rules' JSON form (without its action)."""
    patterns: list[dict[str, Any]] = [
        {name: _slot_pattern(slot)}
        for name, slot in zip(pattern_names(rule), condition_slots(rule.when), strict=True)
    ]
    if rule.unless:
        patterns.append({"ready": {"$and": [{"type": INPUTS_COMPLETE["type"]}]}})
        patterns.extend(
            {f"n{i}$not": _pattern(condition)} for i, condition in enumerate(rule.unless)
        )
    return {"all": patterns}


def rule_spec(rule: ClinicalRule) -> RuleSpec:
    """What the engine needs of one validated rule: its compiled patterns and derived facts."""
    return RuleSpec(
        rule_id=rule.id,
        definition=compile_rule(rule),
        pattern_names=tuple(pattern_names(rule)),
        derives=tuple(rule.derived_facts()),
    )


def compile_rules(rules: Iterable[ClinicalRule], name_hint: str = "matcher") -> RulesEngine:
    """Compile validated rules into one engine that waits for every input before negations."""
    return RulesEngine(
        (rule_spec(rule) for rule in rules), name_hint=name_hint, inputs_complete=INPUTS_COMPLETE
    )

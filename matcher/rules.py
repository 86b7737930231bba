"""Read rules/*.yaml and validate them against the vocabulary into engine-neutral rule objects.

matcher/engine.py compiles these objects into durable_rules' dialect; nothing here knows it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pycountry
from marshmallow import Schema, ValidationError

from matcher.care_routes import CARE_ROUTES_FILE, CareRoutes, load_care_routes
from matcher.checks import HARD_CHECKS, SOFT_CHECKS
from matcher.errors import ConfigError
from matcher.gazetteer import GAZETTEER_FILE, Gazetteer, load_gazetteer
from matcher.languages import SIGN_LANGUAGE_CODES
from matcher.payment import PAYMENT_FILE, PaymentConfig, load_payment
from matcher.places import NO_PLACES, Compact, Places
from matcher.schemas import (
    LANGUAGE_CODES,
    LINK_TARGET_PATTERN,
    SCREENING_CONDITION,
    ClinicalFileSchema,
    CrisisFileSchema,
    JurisdictionsFileSchema,
    MatchingFileSchema,
    QuestionnaireLinkIdsSchema,
    ScreeningFileSchema,
    SourcesFileSchema,
    VocabularyFileSchema,
    flatten_errors,
)
from matcher.text import template_fields
from matcher.yamlfile import load_yaml

VOCABULARY_FILE = "vocabulary.yaml"
SOURCES_FILE = "sources.yaml"
MATCHING_FILE = "matching.yaml"
SCREENING_FILE = "screening.yaml"
CRISIS_FILE = "crisis.yaml"
JURISDICTIONS_FILE = "jurisdictions.yaml"
CLINICAL_DIR = "clinical"
TRANSLATIONS_DIR = "translations"
# rules/translations/made_from/<language>.yaml: the English each translation was made from.
MADE_FROM_DIR = "made_from"
# rules/scenarios/*.yaml: intakes and what a clinician expects of them, beside the rules they test.
# They are tests (tests/test_scenarios.py runs them), not rules: the service and `matcher check`
# skip them, and they are no part of rules_version, so editing a case changes no rule.
SCENARIOS_DIR = "scenarios"
# checklist.yaml (questions to ask a therapist) is read by matcher/checklist.py.
KNOWN_FILES = {
    VOCABULARY_FILE,
    SOURCES_FILE,
    MATCHING_FILE,
    SCREENING_FILE,
    CRISIS_FILE,
    PAYMENT_FILE,
    GAZETTEER_FILE,
    JURISDICTIONS_FILE,
    CARE_ROUTES_FILE,
    "checklist.yaml",
    "directory.yaml",  # read by matcher/directory.py (matcher import-fhir) only
}

_LANGUAGE_CODES = frozenset(LANGUAGE_CODES)
_SIGN_LANGUAGE_CODES = frozenset(SIGN_LANGUAGE_CODES)

# What each condition key tests: the fact type, and the fact's own discriminating fields.
FACT_OF_CONDITION: dict[str, tuple[str, dict[str, str]]] = {
    "difficulty": ("difficulty", {}),
    "setting": ("preference", {"name": "setting"}),
    "format": ("preference", {"name": "format"}),
    "risk": ("risk", {}),
    "trauma": ("trauma", {}),
    "age_group": ("age", {}),
    "flag": ("flag", {}),
    "recommended": ("recommendation", {}),
}
# The trauma details that say whether a trauma was combat-related (the others say how long ago).
COMBAT_DETAILS = ("combat_related", "not_combat_related")
# What the person's answers can signal about risk; each is a `risk` fact for the rules.
RISK_SIGNALS = {"phq9_item9": "PHQ-9 item 9 above 0", "self_harm_thoughts": "thoughts of self-harm"}
# The age groups the rules tell apart; the line between them is MATCHER_ADULT_AGE (18).
AGE_GROUPS = {"young_person": "under the adult age", "adult": "the adult age or over"}
# Numeric age conditions, in whole years, compared with the age fact's `years`.
AGE_TESTS = ("age_at_least", "age_below")


@dataclass(frozen=True)
class Term:
    """One vocabulary entry: a stable id and the words people read."""

    id: str
    label: str
    description: str = ""
    phrase: str = ""
    risk: bool = False  # a difficulty whose choice alone starts the safety path
    counts: bool = False  # a licence status under which its holder may practise
    system: str = ""  # an access code's code system: plan-net or local
    setting: str = ""  # a modality done in this setting by its nature (couples therapy: couple)


@dataclass(frozen=True)
class Vocabulary:
    """The closed set of ids that rules, roster and intakes may use."""

    difficulties: dict[str, Term]
    modalities: dict[str, Term]
    settings: dict[str, Term]
    formats: dict[str, Term]
    times: dict[str, Term]
    genders: dict[str, Term]
    licence_types: dict[str, Term]
    instruments: dict[str, Term]
    trauma_details: dict[str, Term]
    licence_statuses: dict[str, Term]
    access: dict[str, Term]
    affirming: dict[str, Term]
    identities: dict[str, Term]
    # From rules/payment.yaml and rules/gazetteer.yaml (load_knowledge adds them): the payment
    # schemes payers and intakes name, and the gazetteer offices and places are checked against.
    payment: PaymentConfig | None = None
    gazetteer: Gazetteer | None = None

    @cached_property
    def risk_difficulties(self) -> frozenset[str]:
        """Difficulties marked `risk: true`: choosing one is a risk signal, like a self-harm yes."""
        return frozenset(d.id for d in self.difficulties.values() if d.risk)

    @cached_property
    def practising_statuses(self) -> frozenset[str]:
        """Licence statuses under which the holder may practise (`counts: true`)."""
        return frozenset(s.id for s in self.licence_statuses.values() if s.counts)

    @staticmethod
    def is_language(code: str) -> bool:
        """Say whether `code` is a lowercase ISO 639-1 code or an ISO 639-3 sign language code."""
        return code in _LANGUAGE_CODES

    @staticmethod
    def is_sign_language(code: str) -> bool:
        """Say whether `code` names a sign language (bfi, ase, sgn...)."""
        return code in _SIGN_LANGUAGE_CODES

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def language_name(code: str) -> str:
        """Return the English name of a language code."""
        if code == "sgn":
            return "a sign language"
        language = (
            pycountry.languages.get(alpha_2=code)
            if len(code) == 2
            else pycountry.languages.get(alpha_3=code)
        )
        if language is None:
            return code
        # 'Swahili (macrolanguage)', 'Modern Greek (1453-)': the qualifier is noise in a sentence.
        return str(language.name).split(" (")[0]

    def as_json(self) -> dict[str, Any]:
        """Return the vocabulary as served at /api/v1/vocabulary."""

        def terms(group: dict[str, Term]) -> list[dict[str, str]]:
            return [
                {k: v for k, v in vars(term).items() if v and k != "phrase"}
                for term in group.values()
            ]

        return {
            "difficulties": terms(self.difficulties),
            "modalities": [
                {"id": t.id, "name": t.label, "description": t.description}
                for t in self.modalities.values()
            ],
            "settings": terms(self.settings),
            "formats": terms(self.formats),
            "times": terms(self.times),
            "genders": terms(self.genders),
            "licence_types": terms(self.licence_types),
            "instruments": terms(self.instruments),
            "trauma_details": terms(self.trauma_details),
            "licence_statuses": terms(self.licence_statuses),
            "access": terms(self.access),
            "affirming": terms(self.affirming),
            "identities": terms(self.identities),
            "languages": "ISO 639-1 two-letter codes, lowercase (for example en, es, nl, ar), "
            "and ISO 639-3 codes for sign languages (bfi British, ase American; sgn: any)",
        }


@dataclass(frozen=True)
class Source:
    """A cited source: a seed page or a published guideline."""

    id: str
    cite: str
    title: str
    kind: str
    url: str | None = None


@dataclass(frozen=True)
class Condition:
    """One test on one kind of fact: its id must be one of `values`."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Evidence:
    """What one source says in support of a rule."""

    source: str
    says: str


@dataclass(frozen=True)
class ClinicalRule:
    """A clinical rule as written in rules/clinical/*.yaml."""

    id: str
    file: str
    when: tuple[Condition, ...]
    unless: tuple[Condition, ...]
    rationale: str
    evidence: tuple[Evidence, ...]
    recommend: str | None = None
    strength: str | None = None
    advise_setting: str | None = None
    setting_step: str | None = None
    list_follows: bool = False  # when it decides the setting, every match offers it
    first_line: str | None = None  # the difficulty this is a condition-specific first line of
    derive: str | None = None
    alert: str | None = None
    clinician_note: str | None = None
    replaces: tuple[str, ...] = ()

    def derived_facts(self) -> list[dict[str, str]]:
        """Return the facts this rule asserts when it fires, for other rules to chain on."""
        facts = []
        if self.recommend:
            facts.append({"type": "recommendation", "value": self.recommend})
        if self.derive:
            facts.append({"type": "flag", "value": self.derive})
        return facts


@dataclass(frozen=True)
class Precedence:
    """How recommendations for several difficulties rank, and how one setting is decided."""

    leading_order: tuple[str, ...]  # without a main difficulty, the first of these picked leads
    setting_steps: tuple[str, ...]  # risk, severity, condition, request, option: highest first
    setting_order: tuple[str, ...]  # within one step, the setting first here is advised
    placement: dict[str, str]  # why a modality is where it is: texts by placement kind
    setting_texts: dict[str, str]
    rationale: str
    clinician_note: str | None = None
    file: str = ""


@dataclass(frozen=True)
class HardConstraint:
    """A requirement a therapist must meet to be matched at all."""

    id: str
    requirement: str
    check: str
    therapist_field: str
    passed: str
    failed: str
    intake_field: str | None = None
    only_when_format: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    max_days: int | None = None
    # When it leaves nobody, no_match also offers a person's review (matching.yaml staff_review).
    staff_review: bool = False


@dataclass(frozen=True)
class Relaxation:
    """A way to set hard constraints aside to find the nearest alternatives."""

    id: str
    drops: tuple[str, ...]
    text: str
    only_when_format: str | None = None


@dataclass(frozen=True)
class SoftPreference:
    """A weighted criterion that ranks the therapists who meet every hard constraint."""

    id: str
    check: str
    points: int
    label: str
    met: str
    missed: str
    intake_field: str | None = None
    max_days: int | None = None


@dataclass(frozen=True)
class MatchingConfig:
    """Hard constraints, relaxations, soft preferences and strength points from matching.yaml."""

    strength_points: dict[str, int]
    hard_constraints: tuple[HardConstraint, ...]
    relaxations: tuple[Relaxation, ...]
    soft_preferences: tuple[SoftPreference, ...]
    default_max_distance_km: int = 25
    staff_review: str = ""


@dataclass(frozen=True)
class Instrument:
    """A screening questionnaire: its items, LOINC codes and severity bands."""

    id: str
    name: str
    source: str
    loinc_panel: str
    loinc_total: str
    stem: str
    items: tuple[tuple[str, str], ...]  # (LOINC code, wording), in order
    bands: tuple[tuple[int, str], ...]  # (highest total in band, severity), ascending
    risk_item: int | None = None
    difficulty_field: str | None = None
    difficulty_loinc: str | None = None
    difficulty_text: str | None = None
    link_id_prefixes: tuple[str, ...] = ()  # lowercase; `phq9` recognises linkId `PHQ9-1`

    @property
    def max_total(self) -> int:
        """The highest possible total."""
        return 3 * len(self.items)

    def severity(self, total: int) -> str:
        """The severity band of a total."""
        return next(severity for highest, severity in self.bands if total <= highest)


@dataclass(frozen=True)
class LinkTarget:
    """What a questionnaire item is: an instrument's item, its difficulty question or its total."""

    kind: str  # item, difficulty or total
    instrument: str  # "" for a total that names no instrument, resolved once the items are known
    position: int = 0  # the item's number, for kind "item"


@dataclass(frozen=True)
class ScreeningConfig:
    """The screening instruments and their shared answer scale, from screening.yaml."""

    instruments: dict[str, Instrument]
    answer_codes: dict[str, int]
    difficulty_answer_codes: dict[str, int]
    answers: tuple[str, ...]
    difficulty_answers: tuple[str, ...]
    severity_labels: dict[str, str]
    # A clinic's own Questionnaires by canonical URL (maybe with |version): linkId -> target.
    questionnaires: dict[str, dict[str, LinkTarget]] = field(default_factory=dict)


@dataclass(frozen=True)
class CrisisConfig:
    """Crisis resources per locale and the words of the safety message, from crisis.yaml."""

    message: str
    follow_up: str
    emergency_template: str
    review_notice: str
    no_list: str
    fallback_emergency: str
    fallback_text: str
    locales: dict[str, dict[str, Any]]
    # Settings whose advice the urgent path still shows (one to one first, never a group).
    urgent_path_settings: tuple[str, ...]
    # What a person who left a way to reach them reads: by phone/email, then next steps.
    contact_promise: dict[str, str]
    # The receptionist's steps for an urgent caller ({emergency}, {on_call}), and what to say
    # when no on-call clinician is configured.
    staff_protocol_steps: tuple[str, ...]
    on_call_unset: str


@dataclass(frozen=True)
class Knowledge:
    """Everything in rules/: vocabulary, sources, clinical rules and matching configuration."""

    vocabulary: Vocabulary
    sources: dict[str, Source]
    rules: tuple[ClinicalRule, ...]
    matching: MatchingConfig
    screening: ScreeningConfig
    crisis: CrisisConfig
    precedence: Precedence
    care_routes: CareRoutes
    digest: str = field(repr=False)
    places: Places = NO_PLACES

    @cached_property
    def rules_by_id(self) -> dict[str, ClinicalRule]:
        """Index the clinical rules by id."""
        return {rule.id: rule for rule in self.rules}


# --- loading ----------------------------------------------------------------------------------


def _validate(schema: Schema, data: Any, file: str, list_key: str | None, noun: str) -> Any:
    """Load `data` with `schema`; on failure raise a ConfigError naming file, entry, problem."""
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        flat = flatten_errors(exc.messages)
        path, messages = next(iter(flat.items()))
        entry = None
        parts = path.split(".")
        if list_key and len(parts) >= 2 and parts[0] == list_key and parts[1].isdigit():
            index = int(parts[1])
            raw = data.get(list_key) if isinstance(data, dict) else None
            item = raw[index] if isinstance(raw, list) and index < len(raw) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            entry = f"{noun} {item_id!r}" if isinstance(item_id, str) else f"{noun} #{index + 1}"
            parts = parts[2:]
        where = f"field {'.'.join(parts)!r}: " if parts and parts != ["_schema"] else ""
        more = f" (and {len(flat) - 1} more problem(s))" if len(flat) > 1 else ""
        raise ConfigError(file, f"{where}{'; '.join(messages)}{more}", entry) from None


def _terms(entries: Iterable[Mapping[str, Any]], file: str, group: str) -> dict[str, Term]:
    terms: dict[str, Term] = {}
    for entry in entries:
        if entry["id"] in terms:
            raise ConfigError(file, f"{group}: id {entry['id']!r} is listed twice")
        terms[entry["id"]] = Term(
            id=entry["id"],
            label=entry.get("label") or entry.get("name", ""),
            description=entry.get("description", ""),
            phrase=entry.get("phrase", ""),
            risk=entry.get("risk", False),
            counts=entry.get("counts", False),
            system=entry.get("system", ""),
            setting=entry.get("setting", ""),
        )
    return terms


def load_vocabulary(path: Path, name: str) -> Vocabulary:
    """Load and validate rules/vocabulary.yaml."""
    data = _validate(VocabularyFileSchema(), load_yaml(path, name), name, None, "entry")
    groups: dict[str, Any] = {group: _terms(data[group], name, group) for group in data}
    for term in groups["modalities"].values():
        if term.setting and term.setting not in groups["settings"]:
            raise ConfigError(
                name, f"field 'setting': unknown setting {term.setting!r}", f"modality {term.id!r}"
            )
    return Vocabulary(**groups)


def load_sources(path: Path, name: str) -> dict[str, Source]:
    """Load and validate rules/sources.yaml."""
    data = _validate(SourcesFileSchema(), load_yaml(path, name), name, "sources", "source")
    sources: dict[str, Source] = {}
    for entry in data["sources"]:
        if entry["id"] in sources:
            raise ConfigError(name, "id is listed twice", f"source {entry['id']!r}")
        sources[entry["id"]] = Source(**entry)
    return sources


def _check_ids(
    name: str, entry: str, what: str, ids: Iterable[str], allowed: Mapping[str, Any]
) -> None:
    for value in ids:
        if value not in allowed:
            raise ConfigError(
                name, f"{what}: {value!r} is not in the vocabulary ({', '.join(allowed)})", entry
            )


def load_clinical_rules(
    path: Path,
    name: str,
    vocabulary: Vocabulary,
    sources: Mapping[str, Source],
    screening: ScreeningConfig,
) -> tuple[list[ClinicalRule], Precedence | None]:
    """Load one rules/clinical/*.yaml file and cross-check every id it uses."""
    data = _validate(ClinicalFileSchema(), load_yaml(path, name), name, "rules", "rule")
    condition_vocab: dict[str, Mapping[str, Any]] = {
        "difficulty": vocabulary.difficulties,
        "setting": vocabulary.settings,
        "format": vocabulary.formats,
        "trauma": vocabulary.trauma_details,
        "recommended": vocabulary.modalities,
        "risk": {**RISK_SIGNALS, **{d: d for d in vocabulary.risk_difficulties}},
        "age_group": AGE_GROUPS,
    }
    rules = []
    for raw in data["rules"]:
        entry = f"rule {raw['id']!r}"
        when = tuple(Condition(c["key"], tuple(c["values"])) for c in raw["when"])
        unless = tuple(Condition(c["key"], tuple(c["values"])) for c in raw["unless"])
        for condition in when + unless:
            if condition.key in condition_vocab:
                _check_ids(
                    name, entry, condition.key, condition.values, condition_vocab[condition.key]
                )
            screening_test = SCREENING_CONDITION.match(condition.key)
            if screening_test and condition.key not in condition_vocab:
                _check_screening_condition(name, entry, condition, screening_test, screening)
        if "recommend" in raw:
            _check_ids(name, entry, "recommend", [raw["recommend"]], vocabulary.modalities)
        if "advise_setting" in raw:
            _check_ids(name, entry, "advise_setting", [raw["advise_setting"]], vocabulary.settings)
        for evidence in raw["evidence"]:
            if evidence["source"] not in sources:
                raise ConfigError(
                    name,
                    f"evidence: unknown source {evidence['source']!r} (add it to {SOURCES_FILE})",
                    entry,
                )
        if "first_line" in raw:
            _check_first_line(name, entry, raw, when, vocabulary, sources)
        rules.append(
            ClinicalRule(
                id=raw["id"],
                file=name,
                when=when,
                unless=unless,
                rationale=raw["rationale"].strip(),
                evidence=tuple(Evidence(e["source"], e["says"]) for e in raw["evidence"]),
                recommend=raw.get("recommend"),
                strength=raw.get("strength"),
                advise_setting=raw.get("advise_setting"),
                setting_step=raw.get("setting_step"),
                list_follows=raw["list_follows"],
                first_line=raw.get("first_line"),
                derive=raw.get("derive"),
                alert=raw.get("alert"),
                clinician_note=(raw.get("clinician_note") or "").strip() or None,
                replaces=tuple(raw["replaces"]),
            )
        )
    precedence = None
    if "precedence" in data:
        precedence = _precedence(name, data["precedence"], vocabulary)
    return rules, precedence


def _check_first_line(
    name: str,
    entry: str,
    raw: Mapping[str, Any],
    when: tuple[Condition, ...],
    vocabulary: Vocabulary,
    sources: Mapping[str, Source],
) -> None:
    """A first-line claim names a difficulty the rule tests, and rests on a cited guideline."""
    difficulty = raw["first_line"]
    _check_ids(name, entry, "first_line", [difficulty], vocabulary.difficulties)
    tested = {v for c in when if c.key == "difficulty" for v in c.values}
    if difficulty not in tested:
        raise ConfigError(
            name, f"first_line: {difficulty!r} is not a difficulty this rule's `when` tests", entry
        )
    if not any(sources[e["source"]].kind == "guideline" for e in raw["evidence"]):
        raise ConfigError(
            name, "first_line: a first-line treatment must cite a guideline in its evidence", entry
        )


def _precedence(name: str, raw: Mapping[str, Any], vocabulary: Vocabulary) -> Precedence:
    entry = "precedence"
    _check_ids(name, entry, "leading_order", raw["leading_order"], vocabulary.difficulties)
    _check_ids(name, entry, "setting_order", raw["setting_order"], vocabulary.settings)
    missing = [s for s in vocabulary.settings if s not in raw["setting_order"]]
    if missing:
        raise ConfigError(name, f"setting_order: missing {', '.join(missing)}", entry)
    for kind, text in raw["placement"].items():
        placeholders = (
            {"setting", "decided"} if kind == "after_setting" else {"difficulty", "leading"}
        )
        _only_placeholders(text, placeholders, name, f"precedence.placement.{kind}")
    for kind, text in raw["setting_texts"].items():
        _only_placeholders(
            text,
            {"requested", "because", "setting", "suggested"},
            name,
            f"precedence.setting_texts.{kind}",
        )
    return Precedence(
        leading_order=tuple(raw["leading_order"]),
        setting_steps=tuple(raw["setting_steps"]),
        setting_order=tuple(raw["setting_order"]),
        placement=dict(raw["placement"]),
        setting_texts=dict(raw["setting_texts"]),
        rationale=raw["rationale"].strip(),
        clinician_note=(raw.get("clinician_note") or "").strip() or None,
        file=name,
    )


def _check_screening_condition(
    name: str, entry: str, condition: Condition, test: re.Match[str], screening: ScreeningConfig
) -> None:
    instrument = screening.instruments.get(test["instrument"])
    if instrument is None:
        raise ConfigError(
            name,
            f"{condition.key}: no instrument {test['instrument']!r} in {SCREENING_FILE} "
            f"({', '.join(screening.instruments)})",
            entry,
        )
    if test["test"] == "severity":
        bands = {severity: None for _, severity in instrument.bands}
        _check_ids(name, entry, condition.key, condition.values, bands)
    elif test["test"].startswith("difficulty_"):
        if instrument.difficulty_field is None:
            raise ConfigError(
                name, f"{condition.key}: {instrument.id} has no difficulty question", entry
            )
        highest = len(screening.difficulty_answers) - 1
        if not 0 <= int(condition.values[0]) <= highest + (test["test"] == "difficulty_below"):
            raise ConfigError(
                name,
                f"{condition.key}: {condition.values[0]} is outside the answers, 0 to {highest}",
                entry,
            )
    elif int(condition.values[0]) > instrument.max_total + (test["test"] == "total_below"):
        raise ConfigError(
            name,
            f"{condition.key}: {condition.values[0]} is above the highest total, "
            f"{instrument.max_total}",
            entry,
        )


def _check_flags(rules: list[ClinicalRule]) -> None:
    derived = {rule.derive for rule in rules if rule.derive}
    for rule in rules:
        for condition in rule.when:
            if condition.key == "flag":
                for flag in condition.values:
                    if flag not in derived:
                        raise ConfigError(
                            rule.file,
                            f"flag: {flag!r} is never derived by any rule",
                            f"rule {rule.id!r}",
                        )


def _check_replaces(rules: list[ClinicalRule]) -> None:
    ids = {rule.id for rule in rules}
    # A rule whose family is not loaded at all (its file removed, as a clinic may do) is nothing
    # to replace; an unknown id in a family that is loaded is a typo, and refused.
    families = {rule.id.split(".")[0] for rule in rules}
    for rule in rules:
        for replaced in rule.replaces:
            typo = replaced not in ids and replaced.split(".")[0] in families
            if typo or replaced == rule.id:
                raise ConfigError(
                    rule.file, f"replaces: no other rule {replaced!r}", f"rule {rule.id!r}"
                )


INTAKE_FIELDS = {
    "preferences.languages",
    "preferences.format",
    "preferences.setting",
    "preferences.city",
    "preferences.age",
    "preferences.max_fee",
    "preferences.therapist_gender",
    "preferences.times",
    "preferences.budget",
    "preferences.currency",
    "preferences.payment",
    "preferences.near",
    "preferences.access",
    "preferences.interpreter",
    "preferences.affirming",
    "preferences.identity",
}
THERAPIST_FIELDS = {
    "accepting_new_clients",
    "licences",
    "accepting",
    "affirming",
    "works_with_interpreters",
    "gender",
    "languages",
    "formats",
    "settings",
    "city",
    "ages",
    "fee",
    "modalities",
    "difficulties",
    "currency",
    "payers",
    "offices",
}


def load_matching(path: Path, name: str, vocabulary: Vocabulary) -> MatchingConfig:
    """Load and validate rules/matching.yaml."""
    data = _validate(MatchingFileSchema(), load_yaml(path, name), name, None, "entry")
    missing = {"strong", "moderate", "supporting"} - set(data["strength_points"])
    if missing:
        raise ConfigError(name, f"strength_points: missing {', '.join(sorted(missing))}")
    constraints = []
    for raw in data["hard_constraints"]:
        entry = f"hard constraint {raw['id']!r}"
        if raw.get("intake_field") and raw["intake_field"] not in INTAKE_FIELDS:
            raise ConfigError(name, f"unknown intake_field {raw['intake_field']!r}", entry)
        registered = HARD_CHECKS[raw["check"]]
        reads_answers = registered.always_on or registered.wanted_from is not None
        if not reads_answers and not raw.get("intake_field"):
            raise ConfigError(name, f"check {raw['check']!r} needs an intake_field", entry)
        if raw["therapist_field"] not in THERAPIST_FIELDS:
            raise ConfigError(name, f"unknown therapist_field {raw['therapist_field']!r}", entry)
        if raw.get("only_when_format") and raw["only_when_format"] not in {
            *vocabulary.formats,
            "any",
        }:
            raise ConfigError(name, f"unknown format {raw['only_when_format']!r}", entry)
        registered = HARD_CHECKS[raw["check"]]
        for outcome in raw.get("outcomes", {}):
            if outcome not in registered.outcomes:
                known = ", ".join(sorted(registered.outcomes)) or "none"
                raise ConfigError(
                    name,
                    f"check {raw['check']!r} has no outcome {outcome!r} (it has {known})",
                    entry,
                )
        allowed = {"wanted", "offered", *registered.placeholders}
        for key in ("passed", "failed", "requirement"):
            _only_placeholders(raw[key], allowed, name, f"hard constraint {raw['id']!r} {key}")
        for outcome, text in raw.get("outcomes", {}).items():
            where = f"hard constraint {raw['id']!r} outcome {outcome!r}"
            _only_placeholders(text, allowed, name, where)
        if raw["check"] == "confirmed_within" and "max_days" not in raw:
            raise ConfigError(name, "check 'confirmed_within' needs max_days", entry)
        constraints.append(HardConstraint(**raw))
    ids = [c.id for c in constraints]
    if len(set(ids)) != len(ids):
        raise ConfigError(name, "hard_constraints: an id is listed twice")
    relaxations = []
    never_relaxed = {c.id for c in constraints if HARD_CHECKS[c.check].never_relaxed}
    for raw in data["relaxations"]:
        for dropped in raw["drops"]:
            if dropped not in ids:
                raise ConfigError(
                    name, f"drops unknown hard constraint {dropped!r}", f"relaxation {raw['id']!r}"
                )
            if dropped in never_relaxed:
                raise ConfigError(
                    name,
                    f"drops {dropped!r}, which is never relaxed (a person may only be matched "
                    "where the therapist may lawfully and currently see them)",
                    f"relaxation {raw['id']!r}",
                )
        relaxations.append(Relaxation(**{**raw, "drops": tuple(raw["drops"])}))
    preferences = []
    for raw in data["soft_preferences"]:
        if raw.get("intake_field") and raw["intake_field"] not in INTAKE_FIELDS:
            raise ConfigError(
                name,
                f"unknown intake_field {raw['intake_field']!r}",
                f"soft preference {raw['id']!r}",
            )
        if SOFT_CHECKS[raw["check"]].takes_days and "max_days" not in raw:
            raise ConfigError(
                name, f"check {raw['check']!r} needs max_days", f"soft preference {raw['id']!r}"
            )
        preferences.append(SoftPreference(**raw))
    return MatchingConfig(
        strength_points=dict(data["strength_points"]),
        hard_constraints=tuple(constraints),
        relaxations=tuple(relaxations),
        soft_preferences=tuple(preferences),
        default_max_distance_km=data["default_max_distance_km"],
        staff_review=data["staff_review"],
    )


def load_screening(path: Path, name: str, sources: Mapping[str, Source]) -> ScreeningConfig:
    """Load and validate rules/screening.yaml."""
    data = _validate(
        ScreeningFileSchema(), load_yaml(path, name), name, "instruments", "instrument"
    )
    instruments: dict[str, Instrument] = {}
    for raw in data["instruments"]:
        entry = f"instrument {raw['id']!r}"
        if raw["id"] in instruments:
            raise ConfigError(name, "id is listed twice", entry)
        if raw["source"] not in sources:
            raise ConfigError(name, f"unknown source {raw['source']!r}", entry)
        bands = [(band["max"], band["severity"]) for band in raw["bands"]]
        highest = [b[0] for b in bands]
        if highest != sorted(set(highest)) or highest[-1] != 3 * len(raw["items"]):
            raise ConfigError(
                name,
                f"bands must rise and end at the highest total, {3 * len(raw['items'])}",
                entry,
            )
        for _, severity in bands:
            if severity not in data["severity_labels"]:
                raise ConfigError(name, f"severity {severity!r} has no label", entry)
        risk_item = raw.get("risk_item")
        if risk_item is not None and risk_item > len(raw["items"]):
            raise ConfigError(name, f"risk_item {risk_item} is beyond the items", entry)
        difficulty = raw.get("difficulty_item") or {}
        instruments[raw["id"]] = Instrument(
            id=raw["id"],
            name=raw["name"],
            source=raw["source"],
            loinc_panel=raw["loinc_panel"],
            loinc_total=raw["loinc_total"],
            stem=raw["stem"],
            items=tuple((item["loinc"], item["text"]) for item in raw["items"]),
            bands=tuple(bands),
            risk_item=risk_item,
            difficulty_field=difficulty.get("field"),
            difficulty_loinc=difficulty.get("loinc"),
            difficulty_text=difficulty.get("text"),
            link_id_prefixes=tuple(raw["link_id_prefixes"]),
        )
    codes = [loinc for i in instruments.values() for loinc, _ in i.items]
    if len(set(codes)) != len(codes):
        raise ConfigError(name, "a LOINC item code is used twice")
    _check_link_id_prefixes(name, instruments)
    return ScreeningConfig(
        instruments=instruments,
        answer_codes=dict(data["answer_codes"]),
        difficulty_answer_codes=dict(data["difficulty_answer_codes"]),
        answers=tuple(data["answers"]),
        difficulty_answers=tuple(data["difficulty_answers"]),
        severity_labels=dict(data["severity_labels"]),
        questionnaires=_questionnaire_link_ids(name, data["questionnaires"], instruments),
    )


def _check_link_id_prefixes(name: str, instruments: Mapping[str, Instrument]) -> None:
    owner: dict[str, str] = {}
    for instrument in instruments.values():
        for prefix in instrument.link_id_prefixes:
            stem = prefix.rstrip("-_./")  # `phq.` and `phq` name the same questionnaire
            if owner.get(stem, instrument.id) != instrument.id:
                raise ConfigError(
                    name,
                    f"link_id_prefixes: {prefix!r} is also a prefix of {owner[stem]!r}",
                    f"instrument {instrument.id!r}",
                )
            owner[stem] = instrument.id


def _questionnaire_link_ids(
    name: str, entries: list[Any], instruments: Mapping[str, Instrument]
) -> dict[str, dict[str, LinkTarget]]:
    """Check each declared Questionnaire linkId map; name the questionnaire in every message."""
    maps: dict[str, dict[str, LinkTarget]] = {}
    for index, raw in enumerate(entries):
        url = raw.get("url") if isinstance(raw, dict) else None
        entry = f"questionnaire {url!r}" if isinstance(url, str) else f"questionnaire #{index + 1}"
        try:
            loaded = QuestionnaireLinkIdsSchema().load(raw)
        except ValidationError as exc:
            flat = flatten_errors(exc.messages)
            path, messages = next(iter(flat.items()))
            where = f"field {path!r}: " if path != "_schema" else ""
            raise ConfigError(name, f"{where}{'; '.join(messages)}", entry) from None
        if loaded["url"] in maps:
            raise ConfigError(name, "url is listed twice", entry)
        targets: dict[str, LinkTarget] = {}
        claimed: dict[LinkTarget, str] = {}
        for link_id, declared in loaded["link_ids"].items():
            target = _link_target(name, entry, link_id, declared, instruments)
            if target in claimed:
                raise ConfigError(
                    name,
                    f"linkIds {claimed[target]!r} and {link_id!r} are both {declared}",
                    entry,
                )
            claimed[target] = link_id
            targets[link_id] = target
        maps[loaded["url"]] = targets
    return maps


def _link_target(
    name: str, entry: str, link_id: str, declared: str, instruments: Mapping[str, Instrument]
) -> LinkTarget:
    parsed = LINK_TARGET_PATTERN.match(declared)
    if parsed is None:  # the schema has already refused it; kept for the type checker
        raise ConfigError(name, f"linkId {link_id!r}: {declared!r} is not an item", entry)
    instrument = instruments.get(parsed["instrument"])
    if instrument is None:
        raise ConfigError(
            name,
            f"linkId {link_id!r}: unknown instrument {parsed['instrument']!r} "
            f"({', '.join(instruments)})",
            entry,
        )
    what = parsed["what"]
    if what in ("difficulty", "total"):
        return LinkTarget(what, instrument.id)
    position = int(what)
    if not 1 <= position <= len(instrument.items):
        raise ConfigError(
            name,
            f"linkId {link_id!r}: {instrument.id} has items 1 to {len(instrument.items)}, "
            f"not {position}",
            entry,
        )
    return LinkTarget("item", instrument.id, position)


def load_crisis(path: Path, name: str) -> CrisisConfig:
    """Load and validate rules/crisis.yaml."""
    data = _validate(CrisisFileSchema(), load_yaml(path, name), name, None, "entry")
    if "{emergency}" not in data["emergency_template"]:
        raise ConfigError(name, "emergency_template must contain {emergency}")
    _only_placeholders(data["contact_promise"]["do_not_wait"], {"emergency"}, name, "do_not_wait")
    steps = data["staff_protocol"]["steps"]
    for number, step in enumerate(steps, 1):
        _only_placeholders(step, {"emergency", "on_call"}, name, f"staff_protocol step {number}")
    if sum("{on_call}" in step for step in steps) != 1:
        raise ConfigError(
            name, "staff_protocol: exactly one step must say {on_call} (how to reach the clinician)"
        )
    return CrisisConfig(
        message=data["message"],
        follow_up=data["follow_up"],
        emergency_template=data["emergency_template"],
        review_notice=data["review_notice"],
        no_list=data["no_list"],
        fallback_emergency=data["fallback"]["emergency"],
        fallback_text=data["fallback"]["text"],
        locales=dict(data["locales"]),
        urgent_path_settings=tuple(data["urgent_path_settings"]),
        contact_promise=dict(data["contact_promise"]),
        staff_protocol_steps=tuple(steps),
        on_call_unset=data["staff_protocol"]["on_call_unset"],
    )


def load_places(path: Path, name: str, vocabulary: Vocabulary) -> Places:
    """Load and validate rules/jurisdictions.yaml: names of places and licensing compacts."""
    data = _validate(JurisdictionsFileSchema(), load_yaml(path, name), name, None, "entry")
    compacts: dict[str, Compact] = {}
    for raw in data["compacts"]:
        entry = f"compact {raw['id']!r}"
        if raw["id"] in compacts:
            raise ConfigError(name, "compacts: an id is listed twice", entry)
        for fmt in raw["formats"]:
            if fmt not in vocabulary.formats:
                raise ConfigError(name, f"unknown format {fmt!r}", entry)
        compacts[raw["id"]] = Compact(
            id=raw["id"],
            name=raw["name"],
            authority=raw["authority"],
            formats=tuple(raw["formats"]),
            members=frozenset(raw["members"]),
        )
    return Places(names=dict(data["names"]), compacts=compacts)


def _only_placeholders(text: str, allowed: set[str], file: str, where: str) -> None:
    """Refuse a text whose {placeholders} the service cannot fill (it would fail at run time)."""
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise ConfigError(file, f"{where}: {exc}: {text!r}") from None
    unknown = sorted(used - allowed)
    if unknown:
        known = ", ".join(f"{{{a}}}" for a in sorted(allowed))
        raise ConfigError(file, f"{where}: unknown placeholder {{{unknown[0]}}} (use {known})")


def rule_files(rules_dir: Path) -> list[Path]:
    """The YAML files of a rules directory, sorted; the scenarios beside them are not rules."""
    return sorted(
        p
        for p in rules_dir.rglob("*")
        if p.is_file()
        and p.suffix in {".yaml", ".yml"}
        and p.relative_to(rules_dir).parts[0] != SCENARIOS_DIR
    )


def rules_digest(rules_dir: Path, files: Iterable[Path]) -> str:
    """A fingerprint of the rules: each file's path in `rules_dir` and its bytes (rules_version)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(rules_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_knowledge(rules_dir: Path) -> Knowledge:
    """Load, validate and cross-check every file in `rules_dir`; raise on the first problem."""
    base = rules_dir.name or str(rules_dir)

    def display(path: Path) -> str:
        return f"{base}/{path.relative_to(rules_dir).as_posix()}"

    if not rules_dir.is_dir():
        raise ConfigError(str(rules_dir), "rules directory not found")
    files = rule_files(rules_dir)
    for path in files:
        relative = path.relative_to(rules_dir)
        in_clinical = relative.parts[0] == CLINICAL_DIR and len(relative.parts) == 2
        # rules/translations/<language>.yaml: the texts in other languages (matcher/localise.py).
        in_translations = relative.parts[0] == TRANSLATIONS_DIR and len(relative.parts) == 2
        in_translations |= (
            relative.parts[:2] == (TRANSLATIONS_DIR, MADE_FROM_DIR) and len(relative.parts) == 3
        )
        if str(relative) not in KNOWN_FILES and not in_clinical and not in_translations:
            raise ConfigError(
                display(path),
                f"not a known rules file (expected {', '.join(sorted(KNOWN_FILES))} "
                f"or {CLINICAL_DIR}/*.yaml)",
            )

    vocabulary = dataclasses.replace(
        load_vocabulary(rules_dir / VOCABULARY_FILE, f"{base}/{VOCABULARY_FILE}"),
        payment=load_payment(rules_dir / PAYMENT_FILE, f"{base}/{PAYMENT_FILE}"),
        gazetteer=load_gazetteer(rules_dir / GAZETTEER_FILE, f"{base}/{GAZETTEER_FILE}"),
    )
    sources = load_sources(rules_dir / SOURCES_FILE, f"{base}/{SOURCES_FILE}")
    screening = load_screening(rules_dir / SCREENING_FILE, f"{base}/{SCREENING_FILE}", sources)
    clinical_files = [p for p in files if p.relative_to(rules_dir).parts[0] == CLINICAL_DIR]
    if not clinical_files:
        raise ConfigError(f"{base}/{CLINICAL_DIR}", "no clinical rule files found")
    rules: list[ClinicalRule] = []
    seen: dict[str, str] = {}
    precedence: Precedence | None = None
    for path in clinical_files:
        file_rules, declared = load_clinical_rules(
            path, display(path), vocabulary, sources, screening
        )
        if declared is not None:
            if precedence is not None:
                raise ConfigError(
                    declared.file, f"precedence: also declared in {precedence.file}; keep one"
                )
            precedence = declared
        for rule in file_rules:
            if rule.id in seen:
                raise ConfigError(
                    rule.file, f"duplicate rule id (also in {seen[rule.id]})", f"rule {rule.id!r}"
                )
            seen[rule.id] = rule.file
            rules.append(rule)
    _check_flags(rules)
    if precedence is None:
        raise ConfigError(
            f"{base}/{CLINICAL_DIR}", "no clinical file declares `precedence` (one must)"
        )
    _check_replaces(rules)
    matching = load_matching(rules_dir / MATCHING_FILE, f"{base}/{MATCHING_FILE}", vocabulary)
    crisis = load_crisis(rules_dir / CRISIS_FILE, f"{base}/{CRISIS_FILE}")
    places = load_places(rules_dir / JURISDICTIONS_FILE, f"{base}/{JURISDICTIONS_FILE}", vocabulary)
    for setting in crisis.urgent_path_settings:
        if setting not in vocabulary.settings:
            raise ConfigError(
                f"{base}/{CRISIS_FILE}", f"urgent_path_settings: unknown setting {setting!r}"
            )
    care_routes = load_care_routes(
        rules_dir / CARE_ROUTES_FILE,
        f"{base}/{CARE_ROUTES_FILE}",
        vocabulary.difficulties,
        vocabulary.modalities,
        vocabulary.settings,
        sources,
    )
    return Knowledge(
        vocabulary=vocabulary,
        sources=sources,
        rules=tuple(rules),
        matching=matching,
        screening=screening,
        crisis=crisis,
        precedence=precedence,
        care_routes=care_routes,
        digest=rules_digest(rules_dir, files),
        places=places,
    )


# --- fact slots -----------------------------------------------------------------------------------


AGE_KEYS = {"age_group", *AGE_TESTS}


def condition_slots(conditions: tuple[Condition, ...]) -> list[list[Condition]]:
    """The `when` conditions grouped by the fact they match: every age test shares one.

    The engine binds each pattern of a rule to a different fact, and the person has one age.
    """
    slots: list[list[Condition]] = []
    age_slot: list[Condition] | None = None
    for condition in conditions:
        if condition.key in AGE_KEYS:
            if age_slot is None:
                age_slot = []
                slots.append(age_slot)
            age_slot.append(condition)
        else:
            slots.append([condition])
    return slots

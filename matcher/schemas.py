"""marshmallow schemas: the rule and roster files, the intake, and the API's responses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

import pycountry
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from matcher.checks import HARD_CHECKS, SOFT_CHECKS
from matcher.errors import IntakeError
from matcher.languages import LANGUAGE_CODES
from matcher.payment import PaymentConfig, is_currency
from matcher.places import COUNTRY_CODES, is_country, is_jurisdiction, is_region
from matcher.risk import yes_no
from matcher.text import PLAIN_TEXT_PATTERN, VISIBLE_TEXT_PATTERN, first_unsafe

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# Every ISO 4217 currency code (the intake's payment.currency).
CURRENCY_CODES = sorted(str(currency.alpha_3) for currency in pycountry.currencies)
# Values a condition may test: vocabulary ids, and answers such as `1_to_3_months`.
VALUE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")
MAX_DISTANCE_KM = 500
# Affirming competences and identities may qualify an id: faith_integrated:islam, faith:judaism.
QUALIFIED_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)?$")
RULE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
THERAPIST_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
# screening.yaml: how FHIR linkIds name an instrument (`phq9`, `phq-9`...) and a declared item.
LINK_ID_PREFIX_PATTERN = re.compile(r"^(?=.{3,40}$)[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*[-_./]?$")
LINK_TARGET_PATTERN = re.compile(
    r"^(?P<instrument>[a-z][a-z0-9_]*)\.(?P<what>[0-9]{1,3}|difficulty|total)$"
)
CANONICAL_URL_PATTERN = re.compile(
    r"^(?:https?://[^\s/|]+(?:/[^\s|]*)?|urn:[a-z0-9-]+:[^\s|]+)(?:\|[^\s|]+)?$"
)


def plain_text(value: str) -> None:
    """Refuse text that cannot be encoded, control characters and bidirectional overrides."""
    problem = first_unsafe(value)
    if problem:
        raise ValidationError(problem)


def load_intake_part(schema: Schema, data: Any) -> Any:
    """Load `data` through `schema`; raise IntakeError naming each bad field by its path."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise IntakeError(flatten_errors(exc.messages)) from None


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into {"dotted.field.path": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key)
            path = name if not prefix else (prefix if name == "_schema" else f"{prefix}.{name}")
            for sub_path, sub_messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    elif isinstance(messages, list):
        for value in messages:
            for sub_path, sub_messages in flatten_errors(value, prefix).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def unique_items(value: list[Any]) -> None:
    """Reject a list that names the same item twice."""
    seen: set[Any] = set()
    for item in value:
        if item in seen:
            raise ValidationError(f"{item!r} is listed twice.")
        seen.add(item)


class StrictSchema(Schema):
    """A schema that rejects unknown fields."""

    class Meta:
        unknown = RAISE


class YesNoAnswer(fields.Boolean):
    """A yes/no answer as people's clients send it: true/false, "yes"/"no", "true"/"false", 1/0."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        answer = yes_no(value)
        if answer is None:
            raise ValidationError(f'Answer yes or no (true/false, "yes"/"no", 1/0), not {value!r}.')
        return answer


class StrictBoolean(fields.Boolean):
    """A JSON or YAML boolean only: not 1, "yes" or "on" (1 == True would pass a truthy set)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _text(required: bool = True) -> fields.String:
    """A string of at least one character (required unless said otherwise)."""
    return fields.String(required=required, validate=validate.Length(min=1))


# --- rule files -------------------------------------------------------------------------------


class VocabularyEntrySchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    label = _text()
    description = _text(required=False)
    phrase = _text(required=False)
    # Difficulties only: choosing it is a risk signal that starts the safety path.
    risk = StrictBoolean()


class TraumaDetailSchema(VocabularyEntrySchema):
    id = fields.String(required=True, validate=validate.Regexp(VALUE_PATTERN))


class LicenceStatusEntrySchema(VocabularyEntrySchema):
    # True for the statuses under which a licence lets its holder practise (active).
    counts = StrictBoolean(load_default=False)


class AccessEntrySchema(VocabularyEntrySchema):
    # Where the code comes from: the FHIR Plan-Net accessibility code system, or local.
    system = fields.String(required=True, validate=validate.OneOf(["plan-net", "local"]))


class QualifiedEntrySchema(VocabularyEntrySchema):
    id = fields.String(required=True, validate=validate.Regexp(QUALIFIED_ID_PATTERN))


class ModalityEntrySchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    name = _text()
    description = _text()
    # The setting the approach is done in by its nature (couples therapy: couple), if any: when
    # a binding setting decision puts another setting first, the approach steps below the rest.
    setting = fields.String(validate=validate.Regexp(ID_PATTERN))


def _entries(schema: type[Schema]) -> fields.List:
    return fields.List(fields.Nested(schema), required=True, validate=validate.Length(min=1))


class VocabularyFileSchema(StrictSchema):
    difficulties = _entries(VocabularyEntrySchema)
    modalities = _entries(ModalityEntrySchema)
    settings = _entries(VocabularyEntrySchema)
    formats = _entries(VocabularyEntrySchema)
    times = _entries(VocabularyEntrySchema)
    genders = _entries(VocabularyEntrySchema)
    licence_types = _entries(VocabularyEntrySchema)
    instruments = _entries(VocabularyEntrySchema)
    # What the intake may say about a trauma (how long ago, combat-related or not), for rules.
    trauma_details = _entries(TraumaDetailSchema)
    licence_statuses = _entries(LicenceStatusEntrySchema)
    access = _entries(AccessEntrySchema)
    affirming = _entries(QualifiedEntrySchema)
    identities = _entries(QualifiedEntrySchema)


class SourceSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$"))
    cite = fields.String(required=True, validate=validate.Length(min=1, max=60))
    title = _text()
    url = fields.Url(schemes={"https", "http"})
    # public: an information page for the public (a professional body's, a health service's)
    kind = fields.String(
        required=True, validate=validate.OneOf(["seed", "guideline", "study", "public"])
    )


class SourcesFileSchema(StrictSchema):
    sources = _entries(SourceSchema)


# Which fact each condition key tests, and whether it may appear under `unless`.
# Derived facts (flags, recommendations) are never retracted by the engine, so a rule that waits
# for their absence could fire before they appear: `unless` only takes the person's own answers.
CONDITION_KEYS = {
    "difficulty": "input",
    "setting": "input",
    "format": "input",
    "risk": "input",
    "trauma": "input",
    # The person's age: young_person (under the age the clinic treats as adult) or adult, and
    # the guideline's own bounds (NG116: 7 to 17), as whole years.
    "age_group": "input",
    "age_at_least": "input",
    "age_below": "input",
    "flag": "derived",
    "recommended": "derived",
}
NUMERIC_CONDITIONS = ("age_at_least", "age_below")
# Screening conditions name their instrument: phq9_severity, gad7_total_at_least,
# phq9_total_below (NG222's "less severe" is a PHQ-9 below 16), phq9_difficulty_at_least (the
# unscored question on how hard the problems make work, home and getting along).
SCREENING_CONDITION = re.compile(
    r"^(?P<instrument>[a-z][a-z0-9]*)_"
    r"(?P<test>severity|total_at_least|total_below|difficulty_at_least|difficulty_below)$"
)
NUMERIC_TESTS = ("total_at_least", "total_below", "difficulty_at_least", "difficulty_below")
# The steps of the one setting decision, highest first (their order is data, in the rules'
# `precedence`; these are the names a rule's `setting_step` may use).
SettingStep = Literal["risk", "severity", "condition", "request", "option"]
SETTING_STEPS: tuple[str, ...] = get_args(SettingStep)


def condition_kind(key: str) -> str | None:
    """Return 'input' or 'derived' for a known condition key, None for an unknown one."""
    if key in CONDITION_KEYS:
        return CONDITION_KEYS[key]
    return "input" if SCREENING_CONDITION.match(key) else None


def condition_ids(key: str, ids: Any) -> list[str]:
    """The ids a condition names (one id or a list), checked: well-formed, none twice."""
    id_list = ids if isinstance(ids, list) else [ids]
    if not id_list or not all(isinstance(i, str) and VALUE_PATTERN.match(i) for i in id_list):
        raise ValidationError(f"condition {key!r} needs an id or a non-empty list of ids")
    if len(set(id_list)) != len(id_list):
        raise ValidationError(f"condition {key!r} lists an id twice")
    return list(id_list)


class ConditionField(fields.Field):
    """One condition: one key (what to test) with an id, a list of ids, or a number."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        known = ", ".join(
            [
                *sorted(CONDITION_KEYS),
                "<instrument>_severity",
                *(f"<instrument>_{test}" for test in NUMERIC_TESTS),
            ]
        )
        if not isinstance(value, dict) or len(value) != 1:
            raise ValidationError(f"a condition is one 'key: value' pair, with key one of {known}")
        ((key, ids),) = value.items()
        if not isinstance(key, str) or condition_kind(key) is None:
            raise ValidationError(f"unknown condition {key!r}; use one of {known}")
        if (key.endswith(NUMERIC_TESTS) and SCREENING_CONDITION.match(key)) or (
            key in NUMERIC_CONDITIONS
        ):
            if isinstance(ids, bool) or not isinstance(ids, int) or ids < 0:
                raise ValidationError(f"condition {key!r} needs a whole number, 0 or more")
            return {"key": key, "values": [ids]}
        return {"key": key, "values": condition_ids(key, ids)}


class EvidenceSchema(StrictSchema):
    source = _text()
    says = _text()


class ClinicalRuleSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(RULE_ID_PATTERN))
    when = fields.List(ConditionField(), required=True, validate=validate.Length(min=1, max=8))
    unless = fields.List(ConditionField(), load_default=list, validate=validate.Length(max=8))
    recommend = fields.String(validate=validate.Regexp(ID_PATTERN))
    strength = fields.String(validate=validate.OneOf(["strong", "moderate", "supporting"]))
    advise_setting = fields.String(validate=validate.Regexp(ID_PATTERN))
    # Which step of the one setting decision this advice belongs to (risk, severity...).
    setting_step = fields.String(validate=validate.OneOf(SETTING_STEPS))
    # true: when this rule decides the setting, every match offers it (as after a risk or
    # severity decision), for a service's choice the list must not contradict.
    list_follows = fields.Boolean(load_default=False)
    # The difficulty this recommendation is a condition-specific first-line treatment of, as a
    # guideline the rule cites says (it then ranks above generic options for it).
    first_line = fields.String(validate=validate.Regexp(ID_PATTERN))
    derive = fields.String(validate=validate.Regexp(ID_PATTERN))
    # `urgent` is reserved for the built-in safety path, which no rule can switch on or off.
    alert = fields.String(validate=validate.OneOf(["info", "caution"]))
    rationale = fields.String(required=True, validate=validate.Length(min=10))
    # For clinicians only (the API and the staff console): which source says what, why this
    # rule wins or where it goes beyond its source. Never read to the person.
    clinician_note = fields.String(validate=validate.Length(min=10))
    evidence = fields.List(
        fields.Nested(EvidenceSchema), required=True, validate=validate.Length(min=1)
    )
    # Rules whose conclusions this one replaces when it fires (the adult rule a rule for young
    # people stands in for): they are dropped from the answer, with what chained on them.
    replaces = fields.List(
        fields.String(validate=validate.Regexp(RULE_ID_PATTERN)), load_default=list
    )

    @validates_schema
    def _outcomes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not any(k in data for k in ("recommend", "advise_setting", "derive", "alert")):
            raise ValidationError(
                "a rule needs an outcome: recommend, advise_setting, derive or alert"
            )
        if ("recommend" in data) != ("strength" in data):
            raise ValidationError("recommend and strength go together", "strength")
        if ("advise_setting" in data) != ("setting_step" in data):
            raise ValidationError(
                f"advise_setting needs a setting_step (one of {', '.join(SETTING_STEPS)}), "
                "and a setting_step needs advise_setting",
                "setting_step",
            )
        if data.get("list_follows") and "advise_setting" not in data:
            raise ValidationError("list_follows goes with advise_setting", "list_follows")
        if "first_line" in data and "recommend" not in data:
            raise ValidationError("first_line goes with recommend", "first_line")
        for condition in data.get("unless", []):
            if condition_kind(condition["key"]) != "input":
                raise ValidationError(
                    f"'unless' can only test the person's answers, not {condition['key']!r}",
                    "unless",
                )


class PlacementTextsSchema(StrictSchema):
    # Why a modality is where it is in the list; {difficulty} and {leading} are filled in.
    leading_main = fields.String(required=True, validate=validate.Length(min=10))
    leading_specific = fields.String(required=True, validate=validate.Length(min=10))
    leading_only = fields.String(required=True, validate=validate.Length(min=10))
    first_line = fields.String(required=True, validate=validate.Length(min=10))
    first_line_after = fields.String(required=True, validate=validate.Length(min=10))
    other = fields.String(required=True, validate=validate.Length(min=10))
    other_after = fields.String(required=True, validate=validate.Length(min=10))
    # {setting}: the approach's own setting; {decided}: the setting the one decision put first.
    after_setting = fields.String(required=True, validate=validate.Length(min=10))


class SettingTextsSchema(StrictSchema):
    # How the one setting decision reads when it sets the person's own request aside, and when
    # their request sets a suggestion aside; {requested}, {because}, {setting}, {suggested}.
    overrides_request = fields.String(required=True, validate=validate.Length(min=10))
    request_decides = fields.String(required=True, validate=validate.Length(min=10))


class PrecedenceSchema(StrictSchema):
    # Without a main difficulty, the first of these the person picked leads.
    leading_order = fields.List(
        fields.String(validate=validate.Regexp(ID_PATTERN)),
        required=True,
        validate=[validate.Length(min=1), unique_items],
    )
    setting_steps = fields.List(
        fields.String(validate=validate.OneOf(SETTING_STEPS)),
        required=True,
        validate=[validate.Length(equal=len(SETTING_STEPS)), unique_items],
    )
    # Two pieces of advice from the same step: the setting first in this list is advised.
    setting_order = fields.List(
        fields.String(validate=validate.Regexp(ID_PATTERN)),
        required=True,
        validate=[validate.Length(min=1), unique_items],
    )
    placement = fields.Nested(PlacementTextsSchema, required=True)
    setting_texts = fields.Nested(SettingTextsSchema, required=True)
    rationale = fields.String(required=True, validate=validate.Length(min=10))
    clinician_note = fields.String(validate=validate.Length(min=10))


class ClinicalFileSchema(StrictSchema):
    rules = fields.List(fields.Nested(ClinicalRuleSchema), required=True)
    # Exactly one clinical file holds the precedence (co_occurring.yaml).
    precedence = fields.Nested(PrecedenceSchema)


class HardConstraintSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    requirement = _text()
    check = fields.String(required=True, validate=validate.OneOf(HARD_CHECKS.keys()))
    intake_field = fields.String()
    therapist_field = fields.String(required=True)
    only_when_format = fields.String()
    passed = _text()
    failed = _text()
    # A sentence per outcome the check can explain (licensed, expired...), instead of passed
    # or failed; and the number of days a freshness policy allows.
    outcomes = fields.Dict(
        keys=fields.String(validate=validate.Regexp(ID_PATTERN)),
        values=_text(required=False),
    )
    max_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    # true: when it leaves nobody, no_match offers a staff review as well as any alternatives.
    staff_review = fields.Boolean(truthy={True}, falsy={False})


class RelaxationSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    drops = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    only_when_format = fields.String()
    text = _text()


class SoftPreferenceSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    check = fields.String(required=True, validate=validate.OneOf(SOFT_CHECKS.keys()))
    intake_field = fields.String()
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    label = _text()
    met = _text()
    missed = _text()
    max_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))


class MatchingFileSchema(StrictSchema):
    default_max_distance_km = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_DISTANCE_KM)
    )
    strength_points = fields.Dict(
        keys=fields.String(validate=validate.OneOf(["strong", "moderate", "supporting"])),
        values=fields.Integer(strict=True, validate=validate.Range(min=1, max=100)),
        required=True,
    )
    hard_constraints = fields.List(fields.Nested(HardConstraintSchema), required=True)
    relaxations = fields.List(fields.Nested(RelaxationSchema), required=True)
    soft_preferences = fields.List(fields.Nested(SoftPreferenceSchema), required=True)
    # What a person reads when a constraint that is never relaxed left nobody.
    staff_review = _text()


class InstrumentItemSchema(StrictSchema):
    loinc = fields.String(required=True, validate=validate.Regexp(r"^\d{4,5}-\d$"))
    text = _text()


class DifficultyItemSchema(InstrumentItemSchema):
    field = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))


class BandSchema(StrictSchema):
    max = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    severity = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))


class InstrumentSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    name = _text()
    source = fields.String(required=True)
    loinc_panel = fields.String(required=True, validate=validate.Regexp(r"^\d{4,5}-\d$"))
    loinc_total = fields.String(required=True, validate=validate.Regexp(r"^\d{4,5}-\d$"))
    stem = _text()
    items = fields.List(
        fields.Nested(InstrumentItemSchema), required=True, validate=validate.Length(min=1)
    )
    risk_item = fields.Integer(strict=True, validate=validate.Range(min=1))
    difficulty_item = fields.Nested(DifficultyItemSchema)
    bands = fields.List(fields.Nested(BandSchema), required=True, validate=validate.Length(min=1))
    link_id_prefixes = fields.List(
        fields.String(
            validate=validate.Regexp(
                LINK_ID_PREFIX_PATTERN,
                error="{input!r} must be 3 to 40 lowercase letters and digits, with single - _ "
                "or . between them, maybe ending in the one separator it takes (linkIds are "
                "matched case-insensitively).",
            )
        ),
        load_default=list,
        validate=unique_items,
    )


AnswerCodes = fields.Dict(
    keys=fields.String(validate=validate.Regexp(r"^LA\d{4,5}-\d$")),
    values=fields.Integer(strict=True, validate=validate.Range(min=0, max=3)),
    required=True,
)


class QuestionnaireLinkIdsSchema(StrictSchema):
    """A clinic's own Questionnaire: which of its linkIds is which instrument item."""

    url = fields.String(
        required=True,
        validate=validate.Regexp(
            CANONICAL_URL_PATTERN,
            error="{input!r} is not a Questionnaire's canonical URL (http://, https:// or urn:, "
            "optionally with a |version suffix).",
        ),
    )
    name = _text(required=False)
    link_ids = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=255)),
        values=fields.String(
            validate=validate.Regexp(
                LINK_TARGET_PATTERN,
                error="{input!r} must be <instrument>.<item number>, <instrument>.difficulty "
                "or <instrument>.total (for example phq9.9).",
            )
        ),
        required=True,
        validate=validate.Length(min=1),
    )


class ScreeningFileSchema(StrictSchema):
    answer_codes = AnswerCodes
    difficulty_answer_codes = AnswerCodes
    answers = fields.List(fields.String(), required=True, validate=validate.Length(equal=4))
    difficulty_answers = fields.List(
        fields.String(), required=True, validate=validate.Length(equal=4)
    )
    instruments = fields.List(
        fields.Nested(InstrumentSchema), required=True, validate=validate.Length(min=1)
    )
    severity_labels = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    # Checked entry by entry in matcher.rules, so that each message names its questionnaire.
    questionnaires = fields.List(fields.Raw(), load_default=list)


class CrisisResourceSchema(StrictSchema):
    name = _text()
    kind = fields.String(
        required=True, validate=validate.OneOf(["phone", "text", "chat", "emergency"])
    )
    contact = _text()
    hours = _text(required=False)
    note = _text(required=False)


class CrisisLocaleSchema(StrictSchema):
    name = _text()
    emergency = _text()
    resources = fields.List(
        fields.Nested(CrisisResourceSchema), required=True, validate=validate.Length(min=1)
    )


class CrisisFallbackSchema(StrictSchema):
    emergency = _text()
    text = _text()


class ContactPromiseSchema(StrictSchema):
    phone = _text()
    email = _text()
    next_steps = _text()
    do_not_wait = _text()


class StaffProtocolSchema(StrictSchema):
    steps = fields.List(
        _text(required=False),
        required=True,
        validate=validate.Length(min=1),
    )
    on_call_unset = _text()


class CrisisFileSchema(StrictSchema):
    message = _text()
    follow_up = _text()
    emergency_template = _text()
    review_notice = _text()
    no_list = _text()
    fallback = fields.Nested(CrisisFallbackSchema, required=True)
    urgent_path_settings = fields.List(
        fields.String(), required=True, validate=validate.Length(min=1)
    )
    contact_promise = fields.Nested(ContactPromiseSchema, required=True)
    staff_protocol = fields.Nested(StaffProtocolSchema, required=True)
    locales = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Z]{2}$")),
        values=fields.Nested(CrisisLocaleSchema),
        required=True,
    )


def _jurisdiction(value: str) -> None:
    if not is_jurisdiction(value):
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country or ISO 3166-2 region code."
        )


class CompactSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    authority = fields.String(required=True, validate=validate.Length(min=1, max=100))
    formats = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    members = fields.List(
        fields.String(validate=_jurisdiction),
        required=True,
        validate=[validate.Length(min=1), unique_items],
    )


class JurisdictionsFileSchema(StrictSchema):
    names = fields.Dict(
        keys=fields.String(validate=_jurisdiction),
        values=fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
    )
    compacts = fields.List(fields.Nested(CompactSchema), required=True)


# rules/care_routes.yaml (matcher/care_routes.py): the levels, least serious first.
CareRouteLevel = Literal["self_match", "clinician_review", "specialist", "urgent"]
CARE_ROUTE_LEVELS: tuple[str, ...] = get_args(CareRouteLevel)
# What a route's `when` can test: the person's difficulties, their age against the roster
# (below_youngest_seen), or against MATCHER_ADULT_AGE (young_person; adult, which an unknown age
# counts as). With both a difficulty and an age, both must hold.
CARE_ROUTE_AGES = ("below_youngest_seen", "young_person", "adult")


class CareRouteWhenSchema(StrictSchema):
    difficulty = fields.Raw()
    age = fields.String(validate=validate.OneOf(CARE_ROUTE_AGES))
    # none: the route applies after matching, when nobody is listed and no nearest alternative
    # is offered, and no other route applies (a person who would otherwise see only the funnel).
    matches = fields.String(validate=validate.OneOf(["none"]))

    @validates_schema
    def _one_test(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("a route's when tests difficulty (ids), age, or both")
        if set(data) == {"matches"}:
            raise ValidationError("matches: none goes with a difficulty or an age")
        if data.get("age") == "below_youngest_seen" and "difficulty" in data:
            raise ValidationError("age below_youngest_seen is a test on its own")
        if "difficulty" in data:
            data["difficulty"] = condition_ids("difficulty", data["difficulty"])


class CareRouteWithholdSchema(StrictSchema):
    modalities = fields.List(fields.String(validate=validate.Regexp(ID_PATTERN)), load_default=list)
    settings = fields.List(fields.String(validate=validate.Regexp(ID_PATTERN)), load_default=list)


class CareRouteSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(RULE_ID_PATTERN))
    when = fields.Nested(CareRouteWhenSchema, required=True)
    level = fields.String(required=True, validate=validate.OneOf(CARE_ROUTE_LEVELS[1:]))
    # false: no therapists are listed beside this route at all (a person is the answer).
    matches = fields.Boolean(load_default=True)
    text = fields.String(required=True, validate=validate.Length(min=10))
    withhold = fields.Nested(CareRouteWithholdSchema, load_default=dict)
    # false: when nobody fits, no nearest alternatives (relaxed requirements, weak fits) are
    # offered beside this route, whatever its level (a clinician talks to the person first).
    offers_alternatives = fields.Boolean(load_default=True)
    local = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Z]{2}$")),
        values=_text(required=False),
        load_default=dict,
    )
    evidence = fields.List(
        fields.Nested(EvidenceSchema), required=True, validate=validate.Length(min=1)
    )


class SelfMatchSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=10))
    evidence = fields.List(
        fields.Nested(EvidenceSchema), required=True, validate=validate.Length(min=1)
    )


class CareRoutesFileSchema(StrictSchema):
    self_match = fields.Nested(SelfMatchSchema, required=True)
    alternatives_up_to = fields.String(required=True, validate=validate.OneOf(CARE_ROUTE_LEVELS))
    review_caveat = fields.String(required=True, validate=validate.Length(min=10))
    about_age = _text()
    routes = fields.List(fields.Nested(CareRouteSchema), required=True)


# --- the intake -------------------------------------------------------------------------------

MAX_DIFFICULTIES = 10
MAX_FEE = 100_000
MAX_LANGUAGES = 10


class InstrumentAnswers(fields.Field):
    """A questionnaire's answers: one integer 0..3 per item, every item present."""

    def __init__(self, name: str, items: int, **kwargs: Any) -> None:
        self.instrument_name = name
        self.item_count = items
        super().__init__(
            metadata={
                "description": f"{name}: {items} answers, each 0 to 3, in item order.",
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 3},
                "minItems": items,
                "maxItems": items,
            },
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[int]:
        name, count = self.instrument_name, self.item_count
        if not isinstance(value, list):
            raise ValidationError(f"{name} must be a list of {count} answers, each 0 to 3.")
        problems = []
        for number, answer in enumerate(value[:count], start=1):
            if answer is None:
                problems.append(f"item {number} is missing")
            elif isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= 3:
                problems.append(f"item {number} must be 0, 1, 2 or 3, not {answer!r}")
        if len(value) < count:
            missing = [str(n) for n in range(len(value) + 1, count + 1)]
            if len(missing) == 1:
                problems.append(f"item {missing[0]} is missing")
            else:
                problems.append(f"items {', '.join(missing[:-1])} and {missing[-1]} are missing")
        if len(value) > count:
            problems.append(f"{name} has {count} items, not {len(value)}")
        if problems:
            raise ValidationError(
                f"{name} is incomplete or invalid: {'; '.join(problems)}. "
                "Every item is needed: a missing answer is never counted as 0."
            )
        return list(value)


def country_code(value: str) -> None:
    """Refuse anything but an ISO 3166-1 alpha-2 code, uppercase."""
    if not is_country(value):
        hint = f" (did you mean {value.upper()!r}?)" if is_country(value.upper()) else ""
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{hint}.")


def region_code(value: str) -> None:
    """Refuse anything but an ISO 3166-2 subdivision code, uppercase."""
    if not is_region(value):
        hint = f" (did you mean {value.upper()!r}?)" if is_region(value.upper()) else ""
        raise ValidationError(
            f"{value!r} is not an ISO 3166-2 region code such as US-NJ or GB-SCT{hint}."
        )


class LocationSchema(StrictSchema):
    """Where the person will be during sessions."""

    country = fields.String(
        required=True,
        validate=country_code,
        metadata={"description": "ISO 3166-1 alpha-2, uppercase.", "enum": sorted(COUNTRY_CODES)},
    )
    region = fields.String(
        validate=region_code,
        metadata={
            "description": "ISO 3166-2 code of a region of `country`, such as US-NJ.",
            "pattern": r"^[A-Z]{2}-[A-Z0-9]{1,3}$",
        },
    )
    city = fields.String(
        validate=[validate.Length(min=1, max=100), validate.Regexp(r".*\S"), plain_text],
        metadata={"pattern": VISIBLE_TEXT_PATTERN},
    )
    postcode = fields.String(
        validate=[
            validate.Length(min=1, max=12),
            validate.Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
                error="A postcode is letters, digits, spaces and hyphens.",
            ),
        ],
    )

    @validates_schema
    def _region_in_country(self, data: dict[str, Any], **kwargs: Any) -> None:
        region, country = data.get("region"), data.get("country")
        if region and country and not region.startswith(f"{country}-"):
            raise ValidationError(f"{region!r} is not a region of {country!r}.", "region")


# How a short count reads in an error message ("needs the nine PHQ-9 answers").
NUMBER_WORDS = {
    n: w
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}


def _id_list(ids: Iterable[str], most: int, description: str | None = None) -> fields.List:
    """An intake field of 1 to `most` distinct vocabulary ids, each one of `ids`."""
    metadata: dict[str, Any] = {"uniqueItems": True}
    if description is not None:
        metadata["description"] = description
    return fields.List(
        fields.String(validate=validate.OneOf(list(ids))),
        validate=[validate.Length(min=1, max=most), unique_items],
        metadata=metadata,
    )


def build_intake_schema(
    difficulty_ids: Iterable[str],
    setting_ids: Iterable[str],
    format_ids: Iterable[str],
    time_ids: Iterable[str],
    gender_ids: Iterable[str],
    is_language: Callable[[str], bool],
    instruments: Iterable[tuple[str, str, int, str | None]] = (),
    risk_in: Callable[[Any], Sequence[str]] = lambda raw: (),
    trauma_since_ids: Iterable[str] = (),
    payment: PaymentConfig | None = None,
    access_ids: Iterable[str] = (),
    affirming_ids: Iterable[str] = (),
    identity_ids: Iterable[str] = (),
) -> Schema:
    """Build the intake schema for one vocabulary (ids are data, so the schema is built at load).

    `risk_in` finds risk signals in the intake as sent: an intake that carries one is valid
    without any difficulty (the person may only want help now).
    """

    def language_code(value: str) -> None:
        if not is_language(value):
            hint = f" (did you mean {value.lower()!r}?)" if is_language(value.lower()) else ""
            raise ValidationError(f"{value!r} is not an ISO 639-1 language code{hint}.")

    schemes = payment.schemes if payment else {}

    def currency_code(value: str) -> None:
        if not is_currency(value):
            raise ValidationError(f"{value!r} is not an ISO 4217 currency code (EUR, GBP, USD...).")

    class PaymentSchema(StrictSchema):
        method = fields.String(required=True, validate=validate.OneOf(["self_pay", "insurance"]))
        max_fee = fields.Integer(
            strict=True,
            validate=validate.Range(min=0, max=MAX_FEE),
            metadata={"description": "self_pay: the most per session, in `currency`."},
        )
        currency = fields.String(
            validate=currency_code,
            metadata={
                "description": "self_pay: ISO 4217; unset, the currency of the person's country "
                "(or the clinic's).",
                # The codes the validator takes, so that the document says what it accepts.
                "enum": CURRENCY_CODES,
            },
        )
        scheme = fields.String(
            validate=validate.OneOf(list(schemes)),
            metadata={"description": "insurance: a scheme of rules/payment.yaml."},
        )
        payer = fields.String(
            validate=validate.Length(min=1, max=100),
            metadata={
                "description": "insurance: the payer's id or name, when the scheme has several."
            },
        )

        @validates_schema
        def _fits_method(self, data: dict[str, Any], **kwargs: Any) -> None:
            if data["method"] == "self_pay":
                for name in ("scheme", "payer"):
                    if name in data:
                        raise ValidationError("Only with method insurance.", name)
                return
            for name in ("max_fee", "currency"):
                if name in data:
                    raise ValidationError(
                        "Only with method self_pay: with insurance the plan pays.", name
                    )
            if "scheme" not in data:
                raise ValidationError("Required with method insurance.", "scheme")
            scheme = schemes[data["scheme"]]
            payer = data.get("payer")
            if payer is None:
                if scheme.payer_required:
                    raise ValidationError(
                        f"Required for scheme {scheme.id!r}: one of {', '.join(scheme.payers)}.",
                        "payer",
                    )
                return
            if payment is None or payment.payer_id(scheme.id, payer) is None:
                known = ", ".join(scheme.payers) or "none: leave payer out"
                raise ValidationError(
                    f"Unknown payer {payer!r} for scheme {scheme.id!r} (known: {known}).", "payer"
                )

    class PreferencesSchema(StrictSchema):
        languages = fields.List(
            fields.String(validate=language_code, metadata={"enum": LANGUAGE_CODES}),
            validate=[validate.Length(min=1, max=MAX_LANGUAGES), unique_items],
            metadata={
                "description": "ISO 639-1 codes; the therapist speaks at least one.",
                "uniqueItems": True,
            },
        )
        format = fields.String(load_default="any", validate=validate.OneOf([*format_ids, "any"]))
        setting = fields.String(load_default="any", validate=validate.OneOf([*setting_ids, "any"]))
        city = fields.String(
            validate=[validate.Length(min=1, max=100), validate.Regexp(r".*\S"), plain_text],
            metadata={
                "description": "Required when format is in_person.",
                "pattern": VISIBLE_TEXT_PATTERN,
            },
        )
        age = fields.Integer(strict=True, validate=validate.Range(min=0, max=120))
        max_fee = fields.Integer(
            strict=True,
            validate=validate.Range(min=0, max=MAX_FEE),
            metadata={
                "description": "Per session, in payment.currency if given, else in the currency "
                "of the person's country (or the clinic's)."
            },
        )
        payment = fields.Nested(PaymentSchema)
        max_distance_km = fields.Integer(
            strict=True,
            validate=validate.Range(min=1, max=MAX_DISTANCE_KM),
            metadata={"description": "In person: the farthest office, in km between centres."},
        )
        therapist_gender = fields.String(validate=validate.OneOf([*gender_ids, "any"]))
        times = _id_list(time_ids, 10)
        access = _id_list(
            access_ids,
            10,
            "Office access the person needs (FHIR Plan-Net accessibility "
            "codes and local ones: GET /api/v1/vocabulary); every one is required.",
        )
        interpreter = fields.String(
            validate=language_code,
            metadata={
                "enum": LANGUAGE_CODES,
                "description": "A language the person will work in through an interpreter "
                "(bfi for British Sign Language): the therapist uses it or works with "
                "interpreters.",
            },
        )
        affirming = _id_list(
            affirming_ids,
            10,
            "Affirming care the person requires (LGBTQ+, neurodivergent, "
            "faith_integrated:islam...); every one is required.",
        )
        identity = _id_list(
            identity_ids,
            5,
            "Identities the person would prefer their therapist to share "
            "(a preference for points, never a requirement; only therapists who chose to "
            "show theirs can earn them).",
        )

        @validates_schema
        def _city_for_in_person(self, data: dict[str, Any], **kwargs: Any) -> None:
            if data.get("format") == "in_person" and not (data.get("city") or "").strip():
                raise ValidationError("Required when format is in_person.", "city")

        @validates_schema
        def _one_budget(self, data: dict[str, Any], **kwargs: Any) -> None:
            paying = data.get("payment") or {}
            if "max_fee" not in data:
                return
            if paying.get("method") == "insurance":
                raise ValidationError(
                    "A budget is for self-pay: with payment.method insurance, leave it out.",
                    "max_fee",
                )
            if "max_fee" in paying and paying["max_fee"] != data["max_fee"]:
                raise ValidationError(
                    f"Differs from payment.max_fee ({paying['max_fee']}): give the budget once.",
                    "max_fee",
                )

    screening_fields: dict[str, fields.Field] = {}
    # difficulty field -> (instrument, its name, how many items it has)
    difficulty_of: dict[str, tuple[str, str, int]] = {}
    for instrument_id, name, items, difficulty_field in instruments:
        screening_fields[instrument_id] = InstrumentAnswers(name, items)
        if difficulty_field:
            difficulty_of[difficulty_field] = (instrument_id, name, items)
            screening_fields[difficulty_field] = fields.Integer(
                strict=True,
                validate=validate.Range(min=0, max=3),
                metadata={
                    "description": f"{name}'s unscored difficulty question, 0 to 3; "
                    f"only with the {items} {name} answers."
                },
            )

    class ScreeningSchema(StrictSchema.from_dict(screening_fields)):  # type: ignore[misc]
        @validates_schema
        def _difficulty_needs_the_answers(self, data: dict[str, Any], **kwargs: Any) -> None:
            # The question asks how difficult "these problems" made life: without the answers
            # it follows it means nothing, and no rule could use it (it would be dropped).
            for field, (instrument_id, name, items) in difficulty_of.items():
                if field in data and instrument_id not in data:
                    count = NUMBER_WORDS.get(items, str(items))
                    raise ValidationError(
                        f"The difficulty question needs the {count} {name} answers: send "
                        f"screening.{instrument_id} too, or leave {field} out.",
                        field,
                    )

    class RiskSchema(StrictSchema):
        self_harm_thoughts = YesNoAnswer(
            metadata={
                "description": "The person says they have thoughts of harming themselves "
                '(true/false; "yes"/"no", "true"/"false" and 1/0 are accepted too).'
            },
        )

    class TraumaSchema(StrictSchema):
        since = fields.String(
            validate=validate.OneOf(list(trauma_since_ids)),
            metadata={"description": "Roughly how long ago the traumatic event was."},
        )
        combat_related = StrictBoolean(
            metadata={
                "description": "Whether the trauma was related to combat or military service."
            }
        )

    class IntakeSchema(StrictSchema):
        location = fields.Nested(
            LocationSchema,
            metadata={
                "description": "Where the person will be during sessions (a licence is for a "
                "place); the clinic's country when left out."
            },
        )
        screening = fields.Nested(ScreeningSchema)
        risk = fields.Nested(RiskSchema)
        main_difficulty = fields.String(
            validate=validate.OneOf(list(difficulty_ids)),
            metadata={
                "description": "Which of `difficulties` matters most now; its first-line "
                "treatment leads. Optional; must be one of `difficulties`."
            },
        )
        trauma = fields.Nested(
            TraumaSchema,
            metadata={"description": "Optional details of a trauma (NICE NG116 times its offers)."},
        )
        difficulties = fields.List(
            fields.String(validate=validate.OneOf(list(difficulty_ids))),
            load_default=list,
            validate=[validate.Length(max=MAX_DIFFICULTIES), unique_items],
            metadata={
                "uniqueItems": True,
                "description": "1 to 10 ids; may be left out only when the intake carries a "
                "risk signal (thoughts of self-harm, PHQ-9 item 9 above 0).",
            },
        )
        preferences = fields.Nested(
            PreferencesSchema, load_default=lambda: {"format": "any", "setting": "any"}
        )
        limit = fields.Integer(strict=True, load_default=5, validate=validate.Range(min=1, max=50))

        @validates_schema(pass_original=True, skip_on_field_errors=False)
        def _some_difficulty(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
            if not isinstance(original, dict):
                return  # marshmallow says what is wrong with it
            sent = original.get("difficulties")
            if sent in (None, []) and not risk_in(original):
                message = (
                    "Missing data for required field."
                    if sent is None
                    else f"Length must be between 1 and {MAX_DIFFICULTIES}."
                )
                raise ValidationError(message, "difficulties")

        @validates_schema
        def _main_is_one_of_them(self, data: dict[str, Any], **kwargs: Any) -> None:
            main = data.get("main_difficulty")
            chosen = data.get("difficulties") or []
            if main is not None and main not in chosen:
                listed = ", ".join(chosen) if chosen else "none"
                raise ValidationError(
                    f"{main!r} is not one of the difficulties chosen ({listed}).",
                    "main_difficulty",
                )

    return IntakeSchema()


def build_therapist_query_schema(
    format_ids: Iterable[str],
    setting_ids: Iterable[str],
    modality_ids: Iterable[str],
    difficulty_ids: Iterable[str],
) -> Schema:
    """Build the roster listing's query schema: every filter optional, ids from the vocabulary."""

    class TherapistQuerySchema(StrictSchema):
        """Filters for the roster listing; every one optional."""

        language = fields.String(
            validate=validate.OneOf(
                LANGUAGE_CODES, error="{input!r} is not an ISO 639-1 language code."
            )
        )
        format = fields.String(validate=validate.OneOf(list(format_ids)))
        setting = fields.String(validate=validate.OneOf(list(setting_ids)))
        city = fields.String(validate=validate.Length(min=1, max=100))
        modality = fields.String(validate=validate.OneOf(list(modality_ids)))
        difficulty = fields.String(validate=validate.OneOf(list(difficulty_ids)))
        accepting_new_clients = fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"})
        stale = fields.Boolean(
            truthy={"true", "1"},
            falsy={"false", "0"},
            metadata={
                "description": "true: only therapists staff must re-confirm (availability "
                "confirmed too long ago, a licence past its expiry, or none in force)."
            },
        )
        page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
        per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))

    return TherapistQuerySchema()


# --- the questions-to-ask checklist (rules/checklist.yaml, GET /api/v1/checklist) -------------

CHECKLIST_WHEN_KEYS = ("modality", "format", "setting", "language")


class ChecklistWhenField(fields.Field):
    """When a question applies: `always`, or one key (modality, format, setting, language)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        keys = ", ".join(CHECKLIST_WHEN_KEYS)
        if value == "always":
            return {"key": "always", "values": []}
        if not isinstance(value, dict) or len(value) != 1:
            raise ValidationError(f"use 'always' or one 'key: value' pair, with key one of {keys}")
        ((key, ids),) = value.items()
        if key not in CHECKLIST_WHEN_KEYS:
            raise ValidationError(f"unknown condition {key!r}; use 'always' or one of {keys}")
        if key == "language":
            if ids != "any":
                raise ValidationError("condition 'language' takes only 'any'")
            return {"key": key, "values": ["any"]}
        return {"key": key, "values": condition_ids(key, ids)}


class ChecklistQuestionSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Regexp(RULE_ID_PATTERN))
    text = fields.String(required=True, validate=validate.Length(min=10, max=300))
    source = _text()
    when = ChecklistWhenField(required=True)
    ask = fields.String(
        load_default="therapist", validate=validate.OneOf(["therapist", "yourself"])
    )


class ChecklistHeadingsSchema(StrictSchema):
    yourself = _text()
    general = _text()
    modality = fields.String(
        required=True,
        validate=validate.Regexp(r".*\{name\}", error="must contain {{name}}, the modality's name"),
    )
    preferences = _text()


class ChecklistFileSchema(StrictSchema):
    headings = fields.Nested(ChecklistHeadingsSchema, required=True)
    questions = _entries(ChecklistQuestionSchema)


class ChecklistQuerySchema(Schema):
    """What a checklist is tailored to: only kinds of therapy and how to meet, nothing personal."""

    class Meta:
        unknown = RAISE

    modalities = fields.String(
        load_default="",
        metadata={"description": "Comma-separated modality ids, for example emdr,cbt."},
    )
    format = fields.String(
        load_default="any", metadata={"description": "online, in_person or any."}
    )
    setting = fields.String(
        load_default="any", metadata={"description": "individual, couple, family, group or any."}
    )
    languages = fields.String(
        load_default="",
        metadata={"description": "Comma-separated ISO 639-1 codes the person asked for."},
    )


class ContactSchema(StrictSchema):
    """How the person wants the clinic to reach them."""

    name = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), plain_text],
        metadata={"pattern": PLAIN_TEXT_PATTERN},
    )
    email = fields.Email(
        validate=[validate.Length(max=254), plain_text], metadata={"pattern": PLAIN_TEXT_PATTERN}
    )
    phone = fields.String(
        validate=[
            plain_text,
            validate.Regexp(
                r"^\+?[0-9][0-9 ()./-]{5,29}$", error="Not a phone number we can call."
            ),
        ]
    )
    preferred = fields.String(validate=validate.OneOf(["email", "phone"]))

    @validates_schema
    def _a_way_to_reach(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("email") and not data.get("phone"):
            raise ValidationError("Give an email address or a phone number.", "email")
        preferred = data.get("preferred")
        if preferred and not data.get(preferred):
            raise ValidationError(f"Preferred is {preferred}, but none was given.", "preferred")


class ReferralRequestSchema(StrictSchema):
    """A request to be contacted: the intake, how to reach the person, and their consent."""

    intake = fields.Dict(required=True, metadata={"description": "The same body as /match."})
    contact = fields.Nested(ContactSchema, required=True)
    consent = StrictBoolean(required=True)


# The longest close reason the database keeps (referrals.close_reason).
CLOSE_REASON_MAX = 200


def build_status_change_schema(therapist_ids: Iterable[str]) -> Schema:
    """The staff form that moves a referral on: booked with someone on the roster, a reason."""

    class StatusChangeSchema(Schema):
        class Meta:
            unknown = EXCLUDE  # the form token, the version and the action ride along

        status = fields.String(required=True, validate=validate.Length(min=1, max=16))
        therapist = fields.String(
            validate=validate.OneOf(list(therapist_ids), error="Choose a therapist from the list.")
        )
        reason = fields.String(validate=[validate.Length(max=CLOSE_REASON_MAX), plain_text])

        @pre_load
        def _blank_is_absent(self, data: Any, **kwargs: Any) -> dict[str, Any]:
            return {k: v for k, v in data.items() if v != ""}

    return StatusChangeSchema()

"""What the API sends: one msgspec type per response body, the single definition of its shape.

The web layer sends every JSON body through these types (`msgspec.convert`, then encode), so a
field the server adds without declaring it here, a missing required field or a wrong type
fails there; and the OpenAPI document's response components are generated from the same types
(matcher/web/openapi.py), so the document cannot drift from what is sent. A therapist has one
shape: the roster's own `TherapistRecord`, whose public profile is the record as builtins.

Conventions: a field without a default is required (it may still be null where its type says
`| None`); a field defaulting to UNSET is left out of the JSON when it does not apply (never
sent as null).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from matcher.roster import TherapistRecord
from matcher.schemas import CareRouteLevel, SettingStep

PlacementKind = Literal[
    "leading_main",
    "leading_specific",
    "leading_only",
    "first_line",
    "first_line_after",
    "other",
    "other_after",
    "after_setting",
]

# The public profile in a response: the roster record as builtins (Therapist.profile), so its
# shape is TherapistRecord's; the document points at that one component.
THERAPIST_REF = "#/components/schemas/Therapist"
Profile = Annotated[dict[str, Any], Meta(extra_json_schema={"$ref": THERAPIST_REF})]

Fallback = Annotated[
    bool | UnsetType,
    Meta(description="Present (true) when the text is the English: its translation is missing."),
]
ClinicianNote = Annotated[
    str | UnsetType,
    Meta(
        description="For clinicians only (the staff console shows it): which source says what, "
        "why the rule wins or where it goes beyond its source. Never read to the person."
    ),
]


class Shape(Struct, forbid_unknown_fields=True, kw_only=True):
    """A response body or a part of one: no field beyond those declared."""


class SourceRef(Shape):
    """A source a rule cites."""

    id: str
    cite: str
    title: str
    url: str | UnsetType = UNSET


class Condition(Shape):
    """One of the person's answers a rule fired on, as the rule tested it."""

    field: Annotated[
        str,
        Meta(description="The intake's path: difficulties, screening.phq9, preferences.setting..."),
    ]
    operator: Literal["is", ">=", "<", "in"]
    value: Annotated[
        str | int,
        Meta(description="What the rule tested for: an id, a threshold, a severity band."),
    ]


class ModalityReason(Shape):
    """One rule that recommended a modality, on which of the person's answers."""

    rule: str
    text: str
    evidence: str
    sources: list[SourceRef]
    answers: Annotated[
        list[str],
        Meta(description="The conditions as strings (difficulties:ptsd, screening.phq9>=16)."),
    ]
    conditions: list[Condition]
    points: int
    clinician_note: ClinicianNote = UNSET
    fallback: Fallback = UNSET
    first_line_for: Annotated[
        str | UnsetType,
        Meta(description="The difficulty this rule names it a first-line treatment of."),
    ] = UNSET


class Placement(Shape):
    """Why a modality is where it is in the list (the precedence step)."""

    kind: PlacementKind
    text: str


class ModalityResult(Shape):
    """A recommended kind of therapy, with its score and reasons."""

    id: str
    name: str
    description: str
    score: int
    first_line_for: Annotated[
        list[str],
        Meta(description="Difficulties of the person's it is a first-line treatment of."),
    ]
    placement: Placement
    reasons: list[ModalityReason]
    fallback: Fallback = UNSET


class Advice(Shape):
    """The one piece of setting advice: the setting decision as the person reads it."""

    rule: str
    setting: str
    step: Annotated[SettingStep, Meta(description="The step of the setting decision that decided.")]
    text: str
    evidence: str
    sources: list[SourceRef]
    clinician_note: ClinicianNote = UNSET
    fallback: Fallback = UNSET


class OverriddenSetting(Shape):
    """Setting advice the decision overrode."""

    rule: str
    setting: str
    step: SettingStep


class SettingDecision(Shape):
    """Which rule decided the setting, and which advice it overrode."""

    setting: str
    step: SettingStep
    rule: str
    overrode: list[OverriddenSetting]
    agreeing: list[str]
    list_follows: Annotated[
        bool,
        Meta(
            description="True when every match offers the decided setting (a risk or severity "
            "decision, or a rule marked list_follows), over the request if need be."
        ),
    ]


class Alert(Shape):
    """Something the person or the clinic should know (a GP review, a caution)."""

    level: Literal["info", "caution", "urgent"]
    rule: str
    text: str
    clinician_note: ClinicianNote = UNSET
    evidence: str | UnsetType = UNSET
    sources: list[SourceRef] | UnsetType = UNSET
    fallback: Fallback = UNSET


class Line(Shape):
    """One sentence of an explanation, and the rule or check it comes from."""

    rule: str
    text: str
    fallback: Annotated[
        bool | UnsetType,
        Meta(
            description="Present (true) when the sentence is the English: its translation is "
            "missing or unusable."
        ),
    ] = UNSET


class ScoreItem(Shape):
    """One preference's share of a match's score."""

    id: str
    label: str
    points: float
    max: int


class CareRouteStep(Shape):
    """A care route: what to do first, at what level, and on what source."""

    level: CareRouteLevel
    text: str
    rule: str
    source: Annotated[str, Meta(description="The citation: the sources' cites, joined.")]
    evidence: str
    sources: list[SourceRef]


class CareRouteOut(CareRouteStep):
    """The care route of a response, with the others that apply."""

    also: Annotated[
        list[CareRouteStep], Meta(description="The other routes that apply, most serious first.")
    ]
    lists_matches: Annotated[
        bool,
        Meta(
            description="false: no therapists are listed beside this route (a person from the "
            "clinic is the answer), so `matches` is empty and there is no `no_match`."
        ),
    ]


class Match(Shape):
    """A therapist who fits, with the score and the sentences that explain it."""

    therapist: Profile
    review_required: Annotated[
        bool, Meta(description="True when a clinician must review the intake before booking.")
    ]
    score: float
    max_score: int
    score_breakdown: list[ScoreItem]
    reasons: list[Line]
    caveats: list[Line]


class ConstraintCount(Shape):
    """How many therapists were left after one requirement."""

    constraint: str
    text: str
    remaining: int


class NoMatch(Shape):
    """Why nobody fits: the requirement that ruled the last ones out, and the funnel."""

    constraint: str
    text: str
    funnel: list[ConstraintCount]
    staff_review: Annotated[
        str | UnsetType,
        Meta(
            description="Present when what ruled everyone out is never relaxed (licensure, "
            "freshness) or asks for a person's review (payer, distance, access, interpreter, "
            "affirming care: matching.yaml `staff_review: true`): a person at the clinic can "
            "look for someone who may see them."
        ),
    ] = UNSET


class Relaxed(Shape):
    """The nearest alternatives: the matches once one named requirement is set aside."""

    relaxation: str
    relaxed: list[str]
    text: str
    matches: list[Match]


class ScreeningResult(Shape):
    """A questionnaire's total and band."""

    total: int
    max_total: int
    severity: str
    text: str
    difficulty: int | UnsetType = UNSET
    declared_total: int | UnsetType = UNSET
    note: str | UnsetType = UNSET


class CrisisResourceOut(Shape):
    """A crisis line or service."""

    name: str
    kind: str
    contact: str
    hours: str | UnsetType = UNSET
    note: str | UnsetType = UNSET


class Safety(Shape):
    """The safety block every answer carries; urgent, with crisis help, on a risk signal."""

    urgent: bool
    triggers: list[str]
    review_before_booking: bool
    follow_up: str | UnsetType = UNSET
    message: str | UnsetType = UNSET
    emergency_number: str | UnsetType = UNSET
    resources: list[CrisisResourceOut] | UnsetType = UNSET
    locale: str | None | UnsetType = UNSET
    fallback: Fallback = UNSET


class MatchResponse(Shape):
    """POST /api/v1/match: modalities, the one setting advice, alerts, matches, explained."""

    safety: Safety
    screening: dict[str, ScreeningResult]
    care_route: Annotated[
        CareRouteOut,
        Meta(description="What to do first: choose a match, or the route beyond it."),
    ]
    modalities: list[ModalityResult]
    advice: Annotated[
        list[Advice],
        Meta(
            max_length=1,
            description="At most one piece of setting advice: the setting decision.",
        ),
    ]
    setting_decision: Annotated[
        SettingDecision | None,
        Meta(description="Which rule decided the setting, and which advice it overrode."),
    ]
    matches: list[Match]
    no_match: NoMatch | None
    relaxed: list[Relaxed]
    alerts: list[Alert]
    disclaimer: str
    rules_version: str


class Check(Shape):
    """One requirement checked against one therapist: wanted, found, passed."""

    constraint: str
    passed: bool
    expected: Any
    actual: Any
    text: str


class WhyResponse(Shape):
    """POST /api/v1/therapists/{id}/why: every check, the rank and the score, explained."""

    safety: Safety
    therapist: Profile
    review_required: bool
    eligible: bool
    summary: str
    checks: list[Check]
    failed: list[Line]
    rank: int | None
    of: int
    score: float | None
    score_breakdown: list[ScoreItem]
    reasons: list[Line]
    caveats: list[Line]
    rules_version: str


class TherapistList(Shape):
    """GET /api/v1/therapists: a page of the roster."""

    therapists: list[Profile]
    needs_reconfirmation: Annotated[
        list[str], Meta(description="Ids on this page that staff must re-confirm.")
    ]
    total: int
    page: int
    per_page: int


class ChecklistQuestionOut(Shape):
    """A question to ask, with its source."""

    id: str
    text: str
    source: SourceRef
    fallback: Fallback = UNSET


class ChecklistSection(Shape):
    """A section of the checklist: general, one modality's, the preferences'."""

    id: str
    title: str
    questions: list[ChecklistQuestionOut]
    modality: Annotated[
        str | UnsetType, Meta(description="The modality id, for a modality's section.")
    ] = UNSET


class Checklist(Shape):
    """GET /api/v1/checklist: the questions to ask, tailored to modalities and preferences."""

    modalities: list[str]
    format: str
    setting: str
    languages: list[str]
    sections: list[ChecklistSection]


class ReferralRef(Shape):
    """A referral kept all the same (an urgent one), beside an error."""

    id: str
    status: str
    urgent: bool


class Error(Shape):
    """Every error the API answers: `errors` maps field paths to messages."""

    code: int
    status: str
    message: str
    errors: dict[str, list[str]] | UnsetType = UNSET
    safety: Annotated[
        Safety | UnsetType,
        Meta(description="Present whenever the request carried a risk signal."),
    ] = UNSET
    referral: Annotated[
        ReferralRef | UnsetType,
        Meta(description="An urgent request kept under a new id although this one was refused."),
    ] = UNSET
    result: Annotated[
        MatchResponse | UnsetType,
        Meta(description="The match all the same, where the request was valid."),
    ] = UNSET


class ReferralNotSaved(Error, kw_only=True):
    """503 from the referral endpoint: nothing was stored, but here is the match all the same."""

    result: MatchResponse  # type: ignore[assignment]  # required here


class ReferralResponse(Shape):
    """POST /api/v1/referrals: the stored referral, what to tell the person, and the match."""

    id: str
    status: str
    urgent: bool
    message: str
    safety: Safety
    result: MatchResponse


# The types the OpenAPI document names, by component name (the therapist is the roster's own).
COMPONENTS: dict[str, type] = {
    "Therapist": TherapistRecord,
    "MatchResponse": MatchResponse,
    "WhyResponse": WhyResponse,
    "TherapistList": TherapistList,
    "Checklist": Checklist,
    "ReferralResponse": ReferralResponse,
    "ReferralNotSaved": ReferralNotSaved,
    "Error": Error,
}

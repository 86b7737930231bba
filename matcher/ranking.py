"""Hard constraints and soft scores over the roster, as declared in rules/matching.yaml.

Pure functions over the roster's numpy columns. Each check is written once, in the registry
(matcher/checks.py), over an array of roster positions: the same code filters a hundred thousand
therapists and explains one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.checks import HARD_CHECKS, SOFT_CHECKS, Mask, Parts, Positions, Shares
from matcher.gazetteer import Near
from matcher.payment import Budget, Plan
from matcher.roster import Roster, Therapist
from matcher.rules import HardConstraint, SoftPreference


@dataclass(frozen=True)
class Location:
    """Where the person will be during sessions: a country, maybe a region, city and postcode.

    `stated` is False when the person did not say and the clinic's country stands in for it.
    """

    country: str
    region: str | None = None
    city: str | None = None
    postcode: str | None = None
    stated: bool = True

    @property
    def place(self) -> str:
        """The most precise jurisdiction known: the region's code, else the country's."""
        return self.region or self.country


@dataclass(frozen=True)
class Preferences:
    """The person's practical needs, normalised; None or 'any' means no preference."""

    languages: tuple[str, ...] = ()
    format: str = "any"
    setting: str = "any"
    city: str | None = None
    age: int | None = None
    max_fee: int | None = None
    therapist_gender: str | None = None
    times: tuple[str, ...] = ()
    # Derived when the intake is read (Matcher.parse_intake), for the payment and distance checks:
    budget: Budget | None = None  # max_fee with its currency (stated, or the person's country's)
    currency: str | None = None  # the currency the person pays in, when they gave a budget or one
    payment: Plan | None = None  # the plan they pay with (preferences.payment.method: insurance)
    near: Near | None = None  # where they are and how far they travel (in_person or any)
    access: tuple[str, ...] = ()  # office access needs (vocabulary access ids)
    interpreter: str | None = None  # a language the person will work in through an interpreter
    affirming: tuple[str, ...] = ()  # affirming care the person requires
    identity: tuple[str, ...] = ()  # a therapist's shown identity they would prefer (soft only)
    location: Location | None = None  # None: neither the person nor the clinic said
    # The day the intake is matched on (the Matcher's clock): licences and confirmations expire.
    today: date | None = None

    def value(self, intake_field: str | None) -> Any:
        """Return the preference named by a matching.yaml intake_field, or None when unset."""
        if not intake_field:
            return None
        value = getattr(self, intake_field.removeprefix("preferences."))
        if value in ("any", (), ""):
            return None
        return value


@dataclass(frozen=True)
class ClinicalPicture:
    """What the clinical rules concluded, as the roster step needs it."""

    difficulties: tuple[str, ...]
    modality_scores: dict[str, int]  # recommended modality -> score, best first
    advised_settings: tuple[str, ...]
    # difficulty -> {modality: points from the rules that fired on that difficulty}
    scores_by_difficulty: dict[str, dict[str, int]]
    # The settings a therapist must offer one of, whatever the person asked for: the one setting
    # decision when risk or severity made it, and never a setting a care route
    # rules out (couple and family work beside abuse). None: no such requirement.
    settings_required: tuple[str, ...] | None = None
    # The precedence the modality list follows (matcher/explain.py): the difficulty whose
    # first-line treatment leads, and each difficulty's first-line treatments among the
    # recommended ones. practises_recommended weighs the difficulties by it.
    leading: str | None = None
    first_line: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One hard constraint checked against one therapist: json-rules-engine style.

    `outcome` names why it passed or failed when the check explains itself (licensed, expired,
    region_needed...), with the values its sentence shows in `parts`.
    """

    constraint: HardConstraint
    passed: bool
    expected: Any
    actual: Any
    outcome: str | None = None
    parts: Parts = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreLine:
    """One soft preference scored for one therapist."""

    preference: SoftPreference
    points: float
    status: str  # met, partial or missed
    offered: Any
    wanted: Any
    # False for a miss whose `missed` sentence would not be true of this therapist.
    explained: bool = True


# --- hard constraints -------------------------------------------------------------------------


# What the clinical rules concluded, for the checks that read it (none for a bare listing).
NO_PICTURE = ClinicalPicture((), {}, (), {})


def wanted(
    constraint: HardConstraint, preferences: Preferences, picture: ClinicalPicture = NO_PICTURE
) -> Any:
    """What the person wants of this constraint; None when it does not apply to them."""
    registered = HARD_CHECKS[constraint.check]
    if registered.wanted_from is not None:
        return registered.wanted_from(preferences, picture)
    if registered.wanted is not None:
        return registered.wanted(preferences, constraint)
    return True if registered.always_on else preferences.value(constraint.intake_field)


def is_active(
    constraint: HardConstraint, preferences: Preferences, picture: ClinicalPicture = NO_PICTURE
) -> bool:
    """Say whether the intake asks for this constraint at all.

    A check that reads more than its intake_field (`wanted`) may still stand aside by wanting
    nothing (None): the city by name, once the gazetteer has placed the city.
    """
    if constraint.only_when_format and preferences.format != constraint.only_when_format:
        return False
    registered = HARD_CHECKS[constraint.check]
    if registered.wanted_from is not None:
        return registered.wanted_from(preferences, picture) is not None
    if registered.always_on:
        return True
    if preferences.value(constraint.intake_field) is None:
        return False
    return registered.wanted is None or wanted(constraint, preferences, picture) is not None


def passes(
    constraint: HardConstraint,
    roster: Roster,
    preferences: Preferences,
    at: Positions,
    picture: ClinicalPicture = NO_PICTURE,
) -> Mask:
    """For each roster position in `at`: does that therapist meet `constraint`?"""
    wanted_value = wanted(constraint, preferences, picture)
    return HARD_CHECKS[constraint.check].mask(roster, constraint.therapist_field, wanted_value, at)


def check(
    constraint: HardConstraint,
    therapist: Therapist,
    roster: Roster,
    preferences: Preferences,
    picture: ClinicalPicture = NO_PICTURE,
) -> Check:
    """Check one constraint against one therapist, keeping what was expected and what was found."""
    registered = HARD_CHECKS[constraint.check]
    actual = registered.found(therapist, constraint.therapist_field)
    wanted_value = wanted(constraint, preferences, picture)
    at = np.array([therapist.position], dtype=np.intp)
    passed = bool(passes(constraint, roster, preferences, at, picture)[0])
    if registered.outcome is None:
        return Check(constraint, passed, wanted_value, actual)
    outcome, parts = registered.outcome(therapist, wanted_value, passed, roster)
    return Check(constraint, passed, wanted_value, actual, outcome, parts)


def funnel(
    roster: Roster,
    constraints: Sequence[HardConstraint],
    preferences: Preferences,
    picture: ClinicalPicture = NO_PICTURE,
) -> tuple[Positions, list[tuple[HardConstraint, int]]]:
    """Apply the active constraints in order; return who is left and how many after each one."""
    at: Positions = np.arange(roster.size, dtype=np.intp)
    counts: list[tuple[HardConstraint, int]] = []
    for constraint in constraints:
        if is_active(constraint, preferences, picture):
            at = at[passes(constraint, roster, preferences, at, picture)]
            counts.append((constraint, len(at)))
    return at, counts


# --- soft preferences -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Points per soft preference for the positions in `at`, and their totals."""

    at: Positions
    columns: list[tuple[SoftPreference, Shares, npt.NDArray[np.float64]]]  # (pref, share, points)
    totals: npt.NDArray[np.float64]


def score(
    roster: Roster,
    preferences_config: Sequence[SoftPreference],
    preferences: Preferences,
    clinical: ClinicalPicture,
    at: Positions,
) -> Scores:
    """Score every position in `at` on each soft preference that applies to this intake."""
    columns = []
    totals = np.zeros(len(at))
    for preference in preferences_config:
        registered = SOFT_CHECKS[preference.check]
        if registered.takes_days:
            share: Any = registered.share
            shares = share(roster, preferences, clinical, at, preference.max_days)
        else:
            shares = registered.share(roster, preferences, clinical, at)
        if shares is None:
            continue
        points = np.round(preference.points * shares, 2)
        columns.append((preference, shares, points))
        totals += points
    return Scores(at, columns, np.round(totals, 2))


def best(roster: Roster, scores: Scores, limit: int | None = None) -> Positions:
    """Indexes into `scores.at`, best first (ties by therapist id); the first `limit` only."""
    size = len(scores.at)
    # One int64 key: points in hundredths, then the id's rank reversed, so that a single
    # descending order is score first, id second.
    key = np.rint(scores.totals * 100).astype(np.int64) * (roster.size + 1) + (
        roster.size - roster.id_rank[scores.at]
    )
    if limit is not None and limit < size:
        chosen = np.argpartition(-key, limit - 1)[:limit]
        return chosen[np.argsort(-key[chosen])]  # type: ignore[no-any-return]
    return np.argsort(-key)  # type: ignore[no-any-return]


def lines_for(
    index: int,
    therapist: Therapist,
    scores: Scores,
    preferences: Preferences,
    clinical: ClinicalPicture,
) -> list[ScoreLine]:
    """The score lines of the therapist at `scores.at[index]`, for its explanation."""
    lines = []
    for preference, shares, points in scores.columns:
        share = float(shares[index])
        status = "met" if share >= 1 else ("missed" if share <= 0 else "partial")
        registered = SOFT_CHECKS[preference.check]
        details: Any = registered.details
        offered, wanted = (
            details(therapist, preferences, clinical, preference.max_days)
            if registered.takes_days
            else details(therapist, preferences, clinical)
        )
        explained = (
            status != "missed"
            or registered.says_missed is None
            or registered.says_missed(therapist, preferences)
        )
        lines.append(
            ScoreLine(preference, float(points[index]), status, offered, wanted, explained)
        )
    return lines


def total(lines: Sequence[ScoreLine]) -> float:
    """Sum the points of scored lines, rounded for stable output."""
    return round(sum(line.points for line in lines), 2)

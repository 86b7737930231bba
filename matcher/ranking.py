"""Hard constraints and soft scores over the roster, as declared in rules/matching.yaml.

Pure functions: hard constraints narrow a set of roster positions through the roster's indexes,
and only the therapists left are scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from matcher.roster import Roster, Therapist, normalise_city
from matcher.rules import HardConstraint, SoftPreference


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


@dataclass(frozen=True)
class Check:
    """One hard constraint checked against one therapist: json-rules-engine style."""

    constraint: HardConstraint
    passed: bool
    expected: Any
    actual: Any


@dataclass(frozen=True)
class ScoreLine:
    """One soft preference scored for one therapist."""

    preference: SoftPreference
    points: float
    status: str  # met, partial or missed
    offered: Any
    wanted: Any


# --- hard constraints -------------------------------------------------------------------------


def is_active(constraint: HardConstraint, preferences: Preferences) -> bool:
    """Say whether the intake asks for this constraint at all."""
    if constraint.only_when_format and preferences.format != constraint.only_when_format:
        return False
    if constraint.check == "is_true":
        return True
    return preferences.value(constraint.intake_field) is not None


def _fee_ok(therapist: Therapist, max_fee: int) -> bool:
    sliding = therapist["sliding_scale_min"]
    return bool(therapist["fee"] <= max_fee or (sliding is not None and sliding <= max_fee))


def _age_ok(therapist: Therapist, age: int) -> bool:
    ages = therapist["ages"]
    return bool(ages["min"] <= age <= ages["max"])


def _passes(constraint: HardConstraint, therapist: Therapist, wanted: Any) -> bool:
    field = constraint.therapist_field
    check = constraint.check
    if check == "is_true":
        return therapist[field] is True
    if check == "shares_any":
        return bool(set(wanted) & set(therapist[field]))
    if check == "offers":
        return wanted in therapist[field]
    if check == "same_city":
        return therapist.in_person_city == normalise_city(wanted)
    if check == "within_range":
        return _age_ok(therapist, wanted)
    if check == "fee_within":
        return _fee_ok(therapist, wanted)
    raise ValueError(f"unknown check {check!r}")  # pragma: no cover - schemas forbid it


def narrow(
    roster: Roster,
    constraint: HardConstraint,
    preferences: Preferences,
    current: frozenset[int],
) -> frozenset[int]:
    """Keep the positions in `current` that meet `constraint`, through an index if any."""
    wanted = preferences.value(constraint.intake_field)
    field = constraint.therapist_field
    if constraint.check == "is_true":
        return current & roster.with_value(field, True)
    if constraint.check == "shares_any":
        return current & roster.with_any(field, wanted)
    if constraint.check == "offers":
        return current & roster.with_value(field, wanted)
    if constraint.check == "same_city":
        return current & roster.with_value("in_person_city", normalise_city(wanted))
    therapists = roster.therapists
    return frozenset(p for p in current if _passes(constraint, therapists[p], wanted))


def check(constraint: HardConstraint, therapist: Therapist, preferences: Preferences) -> Check:
    """Check one constraint against one therapist, keeping what was expected and what was found."""
    wanted = preferences.value(constraint.intake_field)
    field = constraint.therapist_field
    actual: Any = therapist[field]
    if constraint.check == "same_city":
        actual = therapist["city"] if "in_person" in therapist["formats"] else None
    if constraint.check == "fee_within":
        actual = {"fee": therapist["fee"], "sliding_scale_min": therapist["sliding_scale_min"]}
    expected = True if constraint.check == "is_true" else wanted
    return Check(constraint, _passes(constraint, therapist, wanted), expected, actual)


def funnel(
    roster: Roster, constraints: Sequence[HardConstraint], preferences: Preferences
) -> tuple[frozenset[int], list[tuple[HardConstraint, int]]]:
    """Apply the active constraints in order; return who is left and how many after each one."""
    current = roster.everyone
    counts: list[tuple[HardConstraint, int]] = []
    for constraint in constraints:
        if is_active(constraint, preferences):
            current = narrow(roster, constraint, preferences, current)
            counts.append((constraint, len(current)))
    return current, counts


# --- soft preferences -------------------------------------------------------------------------


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    chosen = set(values)
    return [v for v in order if v in chosen]


def _practises_recommended(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    # Fit is judged per difficulty, then averaged: a therapist who practises a strong option for
    # each of the person's difficulties fits better than one who covers only one of them well.
    if not c.scores_by_difficulty:
        return None
    modalities = set(t["modalities"])
    shares = []
    for scores in c.scores_by_difficulty.values():
        best = max((points for m, points in scores.items() if m in modalities), default=0)
        shares.append(best / max(scores.values()))
    practised = [m for m in c.modality_scores if m in modalities]
    return sum(shares) / len(shares), practised, list(c.modality_scores)


def _treats_difficulties(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    treated = [d for d in c.difficulties if d in t["difficulties"]]
    missing = [d for d in c.difficulties if d not in t["difficulties"]]
    return len(treated) / len(c.difficulties), treated, missing


def _offers_advised_setting(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    if not c.advised_settings:
        return None
    offered = [s for s in c.advised_settings if s in t["settings"]]
    return (1.0 if offered else 0.0), offered, list(c.advised_settings)


def _gender_is(t: Therapist, p: Preferences, c: ClinicalPicture) -> tuple[float, Any, Any] | None:
    wanted = p.therapist_gender
    if wanted in (None, "any"):
        return None
    return (1.0 if t["gender"] == wanted else 0.0), t["gender"], wanted


def _available_at(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    if not p.times:
        return None
    overlap = _ordered(set(p.times) & set(t["availability"]), p.times)
    return (1.0 if overlap else 0.0), overlap, list(p.times)


def _standard_fee_within(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    if p.max_fee is None:
        return None
    return (1.0 if t["fee"] <= p.max_fee else 0.0), t["fee"], p.max_fee


def _measures_outcomes(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    return (1.0 if t["measures_outcomes"] else 0.0), list(t["measures_outcomes"]), None


def _in_city_when_any_format(
    t: Therapist, p: Preferences, c: ClinicalPicture
) -> tuple[float, Any, Any] | None:
    if p.format != "any" or not p.city:
        return None
    near = t.in_person_city == normalise_city(p.city)
    return (1.0 if near else 0.0), t["city"], p.city


SoftCheck = Callable[[Therapist, Preferences, ClinicalPicture], "tuple[float, Any, Any] | None"]
SOFT_CHECKS: dict[str, SoftCheck] = {
    "practises_recommended": _practises_recommended,
    "treats_difficulties": _treats_difficulties,
    "offers_advised_setting": _offers_advised_setting,
    "gender_is": _gender_is,
    "available_at": _available_at,
    "standard_fee_within": _standard_fee_within,
    "measures_outcomes": _measures_outcomes,
    "in_city_when_any_format": _in_city_when_any_format,
}


def score(
    therapist: Therapist,
    preferences_config: Sequence[SoftPreference],
    preferences: Preferences,
    clinical: ClinicalPicture,
) -> list[ScoreLine]:
    """Score one therapist on every soft preference that applies to this intake."""
    lines = []
    for preference in preferences_config:
        result = SOFT_CHECKS[preference.check](therapist, preferences, clinical)
        if result is None:
            continue
        share, offered, wanted = result
        status = "met" if share >= 1 else ("missed" if share <= 0 else "partial")
        points = round(preference.points * share, 2)
        lines.append(ScoreLine(preference, points, status, offered, wanted))
    return lines


def total(lines: Iterable[ScoreLine]) -> float:
    """Sum the points of scored lines, rounded for stable output."""
    return round(sum(line.points for line in lines), 2)

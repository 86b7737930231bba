"""Hard constraints and soft scores over the roster, as declared in rules/matching.yaml.

Pure functions over the roster's numpy columns. Each check is written once, over an array of
roster positions: the same code filters a hundred thousand therapists and explains one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.roster import Roster, Therapist
from matcher.rules import HardConstraint, SoftPreference

Positions = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Shares = npt.NDArray[np.float64]


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


def _column(roster: Roster, name: str, value: str, at: Positions) -> Mask | None:
    index = roster.values[name].get(value)
    return None if index is None else roster.lists[name][:, index][at]


def _any_of(roster: Roster, name: str, values: Sequence[str], at: Positions) -> Mask:
    result = np.zeros(len(at), dtype=np.bool_)
    for value in values:
        column = _column(roster, name, value, at)
        if column is not None:
            result |= column
    return result


def passes(
    constraint: HardConstraint, roster: Roster, preferences: Preferences, at: Positions
) -> Mask:
    """For each roster position in `at`: does that therapist meet `constraint`?"""
    wanted = preferences.value(constraint.intake_field)
    check = constraint.check
    if check == "is_true":
        return roster.accepting[at]
    if check == "shares_any":
        return _any_of(roster, constraint.therapist_field, wanted, at)
    if check == "offers":
        return _any_of(roster, constraint.therapist_field, [wanted], at)
    if check == "same_city":
        return roster.in_person_city[at] == roster.city_code(wanted)  # type: ignore[no-any-return]
    if check == "within_range":
        return (roster.age_min[at] <= wanted) & (wanted <= roster.age_max[at])  # type: ignore[no-any-return]
    if check == "fee_within":
        return (roster.fee[at] <= wanted) | (roster.sliding_scale_min[at] <= wanted)  # type: ignore[no-any-return]
    raise ValueError(f"unknown check {check!r}")  # pragma: no cover - schemas forbid it


def check(
    constraint: HardConstraint, therapist: Therapist, roster: Roster, preferences: Preferences
) -> Check:
    """Check one constraint against one therapist, keeping what was expected and what was found."""
    wanted = preferences.value(constraint.intake_field)
    actual: Any = therapist[constraint.therapist_field]
    if constraint.check == "same_city":
        actual = therapist["city"] if "in_person" in therapist["formats"] else None
    if constraint.check == "fee_within":
        actual = {"fee": therapist["fee"], "sliding_scale_min": therapist["sliding_scale_min"]}
    expected = True if constraint.check == "is_true" else wanted
    at = np.array([therapist.position], dtype=np.intp)
    passed = bool(passes(constraint, roster, preferences, at)[0])
    return Check(constraint, passed, expected, actual)


def funnel(
    roster: Roster, constraints: Sequence[HardConstraint], preferences: Preferences
) -> tuple[Positions, list[tuple[HardConstraint, int]]]:
    """Apply the active constraints in order; return who is left and how many after each one."""
    at: Positions = np.arange(roster.size, dtype=np.intp)
    counts: list[tuple[HardConstraint, int]] = []
    for constraint in constraints:
        if is_active(constraint, preferences):
            at = at[passes(constraint, roster, preferences, at)]
            counts.append((constraint, len(at)))
    return at, counts


# --- soft preferences -------------------------------------------------------------------------
# Each check returns the share (0..1) of its points every position in `at` earns, or None when
# it does not apply to this intake; `details` says, for one therapist, what it offered and what
# was wanted, for the explanation.

ShareCheck = Callable[[Roster, Preferences, ClinicalPicture, Positions], "Shares | None"]


def _practises_recommended(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    # Fit is judged per difficulty, then averaged: a therapist who practises a strong option for
    # each of the person's difficulties fits better than one who covers only one of them well.
    if not c.scores_by_difficulty:
        return None
    practised = {m: _column(r, "modalities", m, at) for m in c.modality_scores}
    total = np.zeros(len(at))
    for scores in c.scores_by_difficulty.values():
        best = np.zeros(len(at))
        for modality, points in scores.items():
            column = practised.get(modality)
            if column is not None:
                np.maximum(best, column * float(points), out=best)
        total += best / max(scores.values())
    return total / len(c.scores_by_difficulty)


def _treats_difficulties(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if not c.difficulties:
        return None  # a risk-only intake: nothing to treat, no points either way
    treated = np.zeros(len(at))
    for difficulty in c.difficulties:
        column = _column(r, "difficulties", difficulty, at)
        if column is not None:
            treated += column
    return treated / len(c.difficulties)


def _offers_advised_setting(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if not c.advised_settings:
        return None
    return _any_of(r, "settings", c.advised_settings, at).astype(np.float64)


def _gender_is(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    if p.therapist_gender in (None, "any"):
        return None
    code = r.genders.get(p.therapist_gender or "", -1)
    return (r.gender[at] == code).astype(np.float64)


def _available_at(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    if not p.times:
        return None
    return _any_of(r, "availability", p.times, at).astype(np.float64)


def _standard_fee_within(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if p.max_fee is None:
        return None
    return (r.fee[at] <= p.max_fee).astype(np.float64)


def _measures_outcomes(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    return _any_of(r, "measures_outcomes", list(r.values["measures_outcomes"]), at).astype(
        np.float64
    )


def _in_city_when_any_format(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if p.format != "any" or not p.city:
        return None
    return (r.in_person_city[at] == r.city_code(p.city)).astype(np.float64)


SHARE_CHECKS: dict[str, ShareCheck] = {
    "practises_recommended": _practises_recommended,
    "treats_difficulties": _treats_difficulties,
    "offers_advised_setting": _offers_advised_setting,
    "gender_is": _gender_is,
    "available_at": _available_at,
    "standard_fee_within": _standard_fee_within,
    "measures_outcomes": _measures_outcomes,
    "in_city_when_any_format": _in_city_when_any_format,
}


def details(check_name: str, t: Therapist, p: Preferences, c: ClinicalPicture) -> tuple[Any, Any]:
    """What one therapist offers and what was wanted, for one soft check's sentence."""
    if check_name == "practises_recommended":
        return [m for m in c.modality_scores if m in t["modalities"]], list(c.modality_scores)
    if check_name == "treats_difficulties":
        treats = t["difficulties"]
        return (
            [d for d in c.difficulties if d in treats],
            [d for d in c.difficulties if d not in treats],
        )
    if check_name == "offers_advised_setting":
        return [s for s in c.advised_settings if s in t["settings"]], list(c.advised_settings)
    if check_name == "gender_is":
        return t["gender"], p.therapist_gender
    if check_name == "available_at":
        return [x for x in p.times if x in t["availability"]], list(p.times)
    if check_name == "standard_fee_within":
        return t["fee"], p.max_fee
    if check_name == "measures_outcomes":
        return list(t["measures_outcomes"]), None
    if check_name == "in_city_when_any_format":
        return t["city"], p.city
    raise ValueError(f"unknown check {check_name!r}")  # pragma: no cover - schemas forbid it


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
        shares = SHARE_CHECKS[preference.check](roster, preferences, clinical, at)
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
        offered, wanted = details(preference.check, therapist, preferences, clinical)
        lines.append(ScoreLine(preference, float(points[index]), status, offered, wanted))
    return lines


def total(lines: Sequence[ScoreLine]) -> float:
    """Sum the points of scored lines, rounded for stable output."""
    return round(sum(line.points for line in lines), 2)

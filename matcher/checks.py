"""The registry of checks: each kind of hard constraint and soft preference, declared once.

rules/matching.yaml names a check by its `check:`; everything else about it lives in one object
here: how it reads the person's answer and the roster's columns (its mask or its share), what
one therapist was found to have for the explanation, and the kinds its values are rendered as.
The YAML validation vocabulary and the explanation kinds are derived from these two tables.

Adding a check is one object below and its entry in rules/matching.yaml (README, "Adding a
constraint").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import numpy.typing as npt

from matcher.gazetteer import km_between

if TYPE_CHECKING:  # types only: the registry is imported by the YAML schemas, before these
    from matcher.gazetteer import Near
    from matcher.payment import Budget, Plan
    from matcher.ranking import ClinicalPicture, Preferences
    from matcher.roster import Roster, Therapist

Positions = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Shares = npt.NDArray[np.float64]


def msgspec_builtins(value: Any) -> Any:
    """A roster struct (payer, office) as JSON-ready builtins."""
    return msgspec.to_builtins(value)


def column(roster: Roster, name: str, value: str, at: Positions) -> Mask | None:
    """Who at `at` has `value` in the list column `name`; None when nobody has it at all."""
    index = roster.values[name].get(value)
    return None if index is None else roster.lists[name][:, index][at]


def any_of(roster: Roster, name: str, values: Sequence[str], at: Positions) -> Mask:
    """Who at `at` has at least one of `values` in the list column `name`."""
    result = np.zeros(len(at), dtype=np.bool_)
    for value in values:
        found = column(roster, name, value, at)
        if found is not None:
            result |= found
    return result


# --- hard constraints -------------------------------------------------------------------------


@dataclass(frozen=True)
class HardCheck:
    """One kind of hard constraint (`check:` in matching.yaml's hard_constraints).

    `mask(roster, therapist_field, wanted, at)` says who at `at` meets it; `found(therapist,
    therapist_field)` is what one therapist has, for the explanation; `kind` is how `wanted` and
    `found` are rendered (None: as the constraint's therapist_field). An `always_on` check
    applies to every intake and wants True; the others apply when `wanted(preferences,
    intake_field)` is not None: by default, when the person answered their intake_field.
    """

    name: str
    mask: Callable[[Roster, str, Any, Positions], Mask]
    found: Callable[[Therapist, str], Any]
    kind: str | None = None
    always_on: bool = False
    wanted: Callable[[Preferences, str | None], Any] = lambda preferences, intake_field: (
        preferences.value(intake_field)
    )


def _field(therapist: Therapist, therapist_field: str) -> Any:
    return therapist[therapist_field]


def _fee_found(therapist: Therapist, therapist_field: str) -> dict[str, Any]:
    return {
        "fee": therapist["fee"],
        "sliding_scale_min": therapist["sliding_scale_min"],
        "low_fee_places": therapist["low_fee_places"],
        "currency": therapist["currency"],
    }


def within_budget(roster: Roster, budget: Budget, at: Positions) -> Mask:
    """Who at `at` charges in the budget's currency and within it, by fee or sliding scale.

    A sliding scale counts while it has low-fee places (or does not cap them).
    """
    same = roster.currency[at] == roster.currency_code(budget.currency)
    sliding = (roster.sliding_scale_min[at] <= budget.amount) & (roster.low_fee_places[at] != 0)
    return same & ((roster.fee[at] <= budget.amount) | sliding)  # type: ignore[no-any-return]


def takes_plan(roster: Roster, plan: Plan, at: Positions) -> Mask:
    """Who at `at` is covered by the plan (in network, or reimbursed: payment.yaml covered_by)."""
    key = plan.scheme if plan.payer is None else f"{plan.scheme}/{plan.payer}"
    result = any_of(roster, "payers", [key], at)
    if plan.payer is not None:  # an entry with no payer covers every payer of its scheme
        result |= any_of(roster, "payers", [f"{plan.scheme}/*"], at)
    return result


def reachable(roster: Roster, near: Near, online_counts: bool, at: Positions) -> Mask:
    """Who at `at` has an office within reach (or, for `online_counts`, works online)."""
    if near.place is not None:
        km = roster.nearest_office_km(near.place.lat, near.place.lon)[at]
        result = km <= near.max_km
    else:  # only the country is known
        result = roster.has_office[at] & (
            roster.country[at] == roster.country_code(near.country or "")
        )
    if online_counts:
        result |= roster.column_of("formats", "online")[at]
    return result  # type: ignore[no-any-return]


def _near_when(format_: str) -> Callable[[Preferences, str | None], Any]:
    return lambda p, field: p.near if p.format == format_ else None


def _offices_found(therapist: Therapist, therapist_field: str) -> dict[str, Any]:
    return {
        "offices": [msgspec_builtins(office) for office in therapist["offices"]],
        "formats": list(therapist["formats"]),
        "country": therapist["country"],
    }


HARD_CHECKS: dict[str, HardCheck] = {
    check.name: check
    for check in [
        HardCheck(
            "is_true",
            mask=lambda r, field, wanted, at: r.accepting[at],
            found=_field,
            kind="accepting_new_clients",
            always_on=True,
        ),
        HardCheck(
            "shares_any",
            mask=lambda r, field, wanted, at: any_of(r, field, wanted, at),
            found=_field,
        ),
        HardCheck(
            "offers",
            mask=lambda r, field, wanted, at: any_of(r, field, [wanted], at),
            found=_field,
        ),
        HardCheck(
            # A city the gazetteer cannot place is compared by name, as people write it.
            "same_city",
            mask=lambda r, field, wanted, at: r.in_person_city[at] == r.city_code(wanted),
            found=lambda t, field: t["city"] if "in_person" in t["formats"] else None,
            kind="city",
            wanted=lambda p, field: p.city if p.near is None or p.near.place is None else None,
        ),
        HardCheck(
            "within_distance",
            mask=lambda r, field, wanted, at: reachable(r, wanted, False, at),
            found=_offices_found,
            kind="distance",
            wanted=_near_when("in_person"),
        ),
        HardCheck(
            "online_or_within_distance",
            mask=lambda r, field, wanted, at: reachable(r, wanted, True, at),
            found=_offices_found,
            kind="reach",
            wanted=_near_when("any"),
        ),
        HardCheck(
            "within_range",
            mask=lambda r, field, wanted, at: (r.age_min[at] <= wanted) & (wanted <= r.age_max[at]),
            found=_field,
            kind="ages",
        ),
        HardCheck(
            "charges_in",
            mask=lambda r, field, wanted, at: r.currency[at] == r.currency_code(wanted),
            found=_field,
            kind="currency",
        ),
        HardCheck(
            "fee_within",
            mask=lambda r, field, wanted, at: within_budget(r, wanted, at),
            found=_fee_found,
            kind="fee",
        ),
        HardCheck(
            "takes_plan",
            mask=lambda r, field, wanted, at: takes_plan(r, wanted, at),
            found=lambda t, field: {
                "payers": [msgspec_builtins(entry) for entry in t["payers"]],
                **_fee_found(t, field),
            },
            kind="plan",
        ),
    ]
}


# --- soft preferences -------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftCheck:
    """One kind of soft preference (`check:` in matching.yaml's soft_preferences).

    `share(roster, preferences, clinical, at)` is the share (0..1) of the preference's points
    each position at `at` earns, or None when it does not apply to this intake; `details(
    therapist, preferences, clinical)` is (what the therapist offers, what was wanted) for its
    sentence, both rendered as `kind`.
    """

    name: str
    share: Callable[[Roster, Preferences, ClinicalPicture, Positions], Shares | None]
    details: Callable[[Therapist, Preferences, ClinicalPicture], tuple[Any, Any]]
    kind: str


def _practises_recommended(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    # Fit is judged per difficulty, then averaged: a therapist who practises a strong option for
    # each of the person's difficulties fits better than one who covers only one of them well.
    if not c.scores_by_difficulty:
        return None
    practised = {m: column(r, "modalities", m, at) for m in c.modality_scores}
    total = np.zeros(len(at))
    for scores in c.scores_by_difficulty.values():
        best = np.zeros(len(at))
        for modality, points in scores.items():
            found = practised.get(modality)
            if found is not None:
                np.maximum(best, found * float(points), out=best)
        total += best / max(scores.values())
    return total / len(c.scores_by_difficulty)


def _treats_difficulties(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if not c.difficulties:
        return None  # a risk-only intake: nothing to treat, no points either way
    treated = np.zeros(len(at))
    for difficulty in c.difficulties:
        found = column(r, "difficulties", difficulty, at)
        if found is not None:
            treated += found
    return treated / len(c.difficulties)


def _offers_advised_setting(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if not c.advised_settings:
        return None
    return any_of(r, "settings", c.advised_settings, at).astype(np.float64)


def _gender_is(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    if p.therapist_gender in (None, "any"):
        return None
    code = r.genders.get(p.therapist_gender or "", -1)
    return (r.gender[at] == code).astype(np.float64)


def _available_at(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    if not p.times:
        return None
    return any_of(r, "availability", p.times, at).astype(np.float64)


def _standard_fee_within(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if p.budget is None:
        return None
    same = r.currency[at] == r.currency_code(p.budget.currency)
    return (same & (r.fee[at] <= p.budget.amount)).astype(np.float64)


def _measures_outcomes(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    return any_of(r, "measures_outcomes", list(r.values["measures_outcomes"]), at).astype(
        np.float64
    )


def _in_city_when_any_format(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if p.format != "any" or not p.city:
        return None
    if p.near is not None and p.near.place is not None:
        return None  # a placed city: `nearer` scores the distance instead
    return (r.in_person_city[at] == r.city_code(p.city)).astype(np.float64)


def _nearer(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    # In person, nearer is better: all the points at the place's centre, none at the limit.
    if p.near is None or p.near.place is None or p.format == "online":
        return None
    km = r.nearest_office_km(p.near.place.lat, p.near.place.lon)[at]
    return np.clip(1.0 - km / p.near.max_km, 0.0, 1.0)  # type: ignore[no-any-return]


def _nearest_office(t: Therapist, p: Preferences) -> dict[str, Any] | None:
    """The therapist's office nearest the person's place, with its distance in km."""
    place = p.near.place if p.near else None
    offices = t["offices"]
    if place is None or not offices:
        return None
    km = km_between(
        place.lat,
        place.lon,
        np.array([o.lat for o in offices]),
        np.array([o.lon for o in offices]),
    )
    best = int(np.argmin(km))
    return {"km": float(km[best]), "city": offices[best].city}


SOFT_CHECKS: dict[str, SoftCheck] = {
    check.name: check
    for check in [
        SoftCheck(
            "practises_recommended",
            share=_practises_recommended,
            details=lambda t, p, c: (
                [m for m in c.modality_scores if m in t["modalities"]],
                list(c.modality_scores),
            ),
            kind="modalities",
        ),
        SoftCheck(
            "treats_difficulties",
            share=_treats_difficulties,
            details=lambda t, p, c: (
                [d for d in c.difficulties if d in t["difficulties"]],
                [d for d in c.difficulties if d not in t["difficulties"]],
            ),
            kind="difficulties",
        ),
        SoftCheck(
            "offers_advised_setting",
            share=_offers_advised_setting,
            details=lambda t, p, c: (
                [s for s in c.advised_settings if s in t["settings"]],
                list(c.advised_settings),
            ),
            kind="settings",
        ),
        SoftCheck(
            "gender_is",
            share=_gender_is,
            details=lambda t, p, c: (t["gender"], p.therapist_gender),
            kind="gender",
        ),
        SoftCheck(
            "available_at",
            share=_available_at,
            details=lambda t, p, c: ([x for x in p.times if x in t["availability"]], list(p.times)),
            kind="times",
        ),
        SoftCheck(
            "standard_fee_within",
            share=_standard_fee_within,
            details=lambda t, p, c: (_fee_found(t, "fee"), p.budget),
            kind="standard_fee",
        ),
        SoftCheck(
            "measures_outcomes",
            share=_measures_outcomes,
            details=lambda t, p, c: (list(t["measures_outcomes"]), None),
            kind="instruments",
        ),
        SoftCheck(
            "in_city_when_any_format",
            share=_in_city_when_any_format,
            details=lambda t, p, c: (t["city"], p.city),
            kind="city",
        ),
        SoftCheck(
            "nearer",
            share=_nearer,
            details=lambda t, p, c: (_nearest_office(t, p), p.near),
            kind="distance",
        ),
    ]
}

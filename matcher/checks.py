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

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # types only: the registry is imported by the YAML schemas, before these
    from matcher.ranking import ClinicalPicture, Preferences
    from matcher.roster import Roster, Therapist

Positions = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]
Shares = npt.NDArray[np.float64]


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
    applies to every intake and wants True; the others apply when the person answered their
    intake_field. A check with `wanted_from` reads what is wanted from the person's answers and
    what the clinical rules concluded instead (None: it does not apply to this intake).
    """

    name: str
    mask: Callable[[Roster, str, Any, Positions], Mask]
    found: Callable[[Therapist, str], Any]
    kind: str | None = None
    always_on: bool = False
    wanted_from: Callable[[Preferences, ClinicalPicture], Any] | None = None


@dataclass(frozen=True)
class GroupRequest:
    """A request for a group: it must be for one of these difficulties, in this format."""

    difficulties: tuple[str, ...]
    format: str | None  # None: online or in person

    def keys(self) -> list[str]:
        """The roster's group_fits values that meet this request."""
        formats = [self.format] if self.format else ["online", "in_person"]
        return [group_key(d, f) for d in self.difficulties for f in formats]


def group_key(topic: str, group_format: str) -> str:
    """How a group is indexed in the roster's group_fits column: its topic and its format."""
    return f"{topic}|{group_format}"


def _group_request(p: Preferences, c: ClinicalPicture) -> GroupRequest | None:
    if p.setting != "group" or not c.difficulties:
        return None
    return GroupRequest(tuple(c.difficulties), None if p.format in ("any", None) else p.format)


@dataclass(frozen=True)
class ClinicalFit:
    """What makes a therapist a fit at all: a recommended approach, or one of the difficulties."""

    difficulties: tuple[str, ...]
    modalities: tuple[str, ...]


def _clinical_fit(p: Preferences, c: ClinicalPicture) -> ClinicalFit | None:
    if not c.difficulties:
        return None  # a risk-only intake: nothing to fit
    return ClinicalFit(tuple(c.difficulties), tuple(c.modality_scores))


def _fits(r: Roster, wanted: ClinicalFit, at: Positions) -> Mask:
    return any_of(r, "modalities", wanted.modalities, at) | any_of(
        r, "difficulties", wanted.difficulties, at
    )


def _field(therapist: Therapist, therapist_field: str) -> Any:
    return therapist[therapist_field]


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
            "same_city",
            mask=lambda r, field, wanted, at: r.in_person_city[at] == r.city_code(wanted),
            found=lambda t, field: t["city"] if "in_person" in t["formats"] else None,
            kind="city",
        ),
        HardCheck(
            "within_range",
            mask=lambda r, field, wanted, at: (r.age_min[at] <= wanted) & (wanted <= r.age_max[at]),
            found=_field,
            kind="ages",
        ),
        HardCheck(
            "runs_group_for",
            mask=lambda r, field, wanted, at: any_of(r, "group_fits", wanted.keys(), at),
            found=lambda t, field: t.profile["groups"],
            kind="groups",
            wanted_from=_group_request,
        ),
        HardCheck(
            "fits_clinically",
            mask=lambda r, field, wanted, at: _fits(r, wanted, at),
            found=lambda t, field: {
                "modalities": t["modalities"],
                "difficulties": t["difficulties"],
            },
            kind="clinical_fit",
            wanted_from=_clinical_fit,
        ),
        HardCheck(
            "fee_within",
            mask=lambda r, field, wanted, at: (
                (r.fee[at] <= wanted) | (r.sliding_scale_min[at] <= wanted)
            ),
            found=lambda t, field: {"fee": t["fee"], "sliding_scale_min": t["sliding_scale_min"]},
            kind="fee",
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
    if p.max_fee is None:
        return None
    return (r.fee[at] <= p.max_fee).astype(np.float64)


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
    return (r.in_person_city[at] == r.city_code(p.city)).astype(np.float64)


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
            details=lambda t, p, c: (t["fee"], p.max_fee),
            kind="fee",
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
    ]
}

"""The registry of checks: each kind of hard constraint and soft preference, declared once.

rules/matching.yaml names a check by its `check:`; everything else about it lives in one object
here: how it reads the person's answer and the roster's columns (its mask or its share), what
one therapist was found to have for the explanation, and the kinds its values are rendered as.
The YAML validation vocabulary and the explanation kinds are derived from these two tables.

Adding a check is one object below and its entry in rules/matching.yaml (README, "Adding a
constraint").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import numpy.typing as npt

from matcher.gazetteer import Place, km_apart, km_between
from matcher.languages import SIGN_LANGUAGES

if TYPE_CHECKING:  # types only: the registry is imported by the YAML schemas, before these
    from matcher.gazetteer import Near
    from matcher.payment import Budget, Plan
    from matcher.ranking import ClinicalPicture, Preferences
    from matcher.roster import Licence, Roster, Therapist
    from matcher.rules import HardConstraint

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


def all_of(roster: Roster, name: str, values: Sequence[str], at: Positions) -> Mask:
    """Who at `at` has every one of `values` in the list column `name`."""
    result = np.ones(len(at), dtype=np.bool_)
    for value in values:
        found = column(roster, name, value, at)
        if found is None:
            return np.zeros(len(at), dtype=np.bool_)
        result &= found
    return result


def any_of(roster: Roster, name: str, values: Sequence[str], at: Positions) -> Mask:
    """Who at `at` has at least one of `values` in the list column `name`."""
    result = np.zeros(len(at), dtype=np.bool_)
    for value in values:
        found = column(roster, name, value, at)
        if found is not None:
            result |= found
    return result


def share_listed(roster: Roster, name: str, values: Sequence[str], at: Positions) -> Shares:
    """For each position at `at`, the share of `values` it has in the list column `name`."""
    listed = np.zeros(len(at))
    for value in values:
        found = column(roster, name, value, at)
        if found is not None:
            listed += found
    return listed / len(values)


def offered_of(wanted: Collection[str], offered: Collection[str]) -> tuple[list[str], list[str]]:
    """(what of `wanted` is `offered`, all that was wanted): a soft check's details."""
    return [value for value in wanted if value in offered], list(wanted)


def shared_and_missing(
    wanted: Collection[str], offered: Collection[str]
) -> tuple[list[str], list[str]]:
    """(what of `wanted` is `offered`, what of it is not): a soft check's details."""
    return (
        [value for value in wanted if value in offered],
        [value for value in wanted if value not in offered],
    )


# --- hard constraints -------------------------------------------------------------------------


@dataclass(frozen=True)
class HardCheck:
    """One kind of hard constraint (`check:` in matching.yaml's hard_constraints).

    `mask(roster, therapist_field, wanted, at)` says who at `at` meets it; `found(therapist,
    therapist_field)` is what one therapist has, for the explanation; `kind` is how `wanted` and
    `found` are rendered (None: as the constraint's therapist_field), `found_kind` how `found` is
    when it differs (a place someone works, not a city asked for). An `always_on` check
    applies to every intake and wants True; the others apply when `wanted(preferences,
    intake_field)` is not None: by default, when the person answered their intake_field. A check
    with `wanted_from` reads what is wanted from the person's answers and what the clinical rules
    concluded instead (None: it does not apply to this intake).
    """

    name: str
    mask: Callable[[Roster, str, Any, Positions], Mask]
    found: Callable[[Therapist, str], Any]
    kind: str | None = None
    always_on: bool = False
    # What is wanted, when it takes more than the intake_field's value (where the person is,
    # the format and today's date; a policy's number of days): JSON-ready, for /why.
    wanted: Callable[[Preferences, HardConstraint], Any] | None = None
    # Why one therapist passed or failed, for a sentence: an outcome the constraint may word
    # in its `outcomes`, and the values its placeholders show ({name: (render kind, value)}).
    outcome: Callable[[Therapist, Any, bool, Roster], Outcome] | None = None
    outcomes: frozenset[str] = frozenset()
    # Passed outcomes that still read as a caveat (licensed, but where you are was not said).
    caveat_outcomes: frozenset[str] = frozenset()
    # A constraint no relaxation may set aside (the law, or a policy that protects people).
    never_relaxed: bool = False
    # The placeholders its outcomes fill, beside {wanted} and {offered} (checked at load).
    placeholders: frozenset[str] = frozenset()
    found_kind: str | None = None
    wanted_from: Callable[[Preferences, ClinicalPicture], Any] | None = None


Parts = dict[str, tuple[str, Any]]
Outcome = tuple[str, Parts]


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
        result = usable_office_km(roster, near, at) <= near.max_km
    else:  # only the country is known
        result = roster.has_office[at] & (
            roster.country[at] == roster.country_code(near.country or "")
        )
    if online_counts:
        result |= roster.column_of("formats", "online")[at]
    return result  # type: ignore[no-any-return]


def usable_office_km(roster: Roster, near: Near, at: Positions) -> npt.NDArray[np.float64]:
    """For `at`: km to their nearest office with every access need (to any office, for someone
    who has none with them: the access constraint, not distance, rules them out)."""
    assert near.place is not None
    lat, lon = near.place.lat, near.place.lon
    km = roster.nearest_office_km(lat, lon, near.needs)[at]
    if not near.needs:
        return km
    return np.where(  # type: ignore[no-any-return]
        roster.has_office_with(near.needs)[at], km, roster.nearest_office_km(lat, lon)[at]
    )


def _near_when(format_: str) -> Callable[[Preferences, HardConstraint], Any]:
    return lambda p, constraint: p.near if p.format == format_ else None


def _distance_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    needs = wanted.needs if wanted is not None else ()
    parts: Parts = {"needs": ("access", list(needs))}
    if passed:
        return "", parts
    if not t["offices"]:
        return "online_only", parts
    if needs and any(set(needs) <= set(office.access) for office in t["offices"]):
        return "too_far_with_needs", parts
    return "", parts


def _offices_found(therapist: Therapist, therapist_field: str) -> dict[str, Any]:
    return {
        "offices": [msgspec_builtins(office) for office in therapist["offices"]],
        "formats": list(therapist["formats"]),
        "country": therapist["country"],
    }


def today_of(preferences: Preferences) -> date:
    """The day an intake is matched on: its clock's, or today in UTC."""
    return preferences.today or datetime.now(UTC).date()


# --- licensure: where the person is during sessions, against licences and compacts ----------


def _where_and_when(preferences: Preferences, constraint: HardConstraint) -> dict[str, Any]:
    location = preferences.location
    return {
        "location": None
        if location is None
        else {"country": location.country, "region": location.region, "stated": location.stated},
        "format": preferences.format,
        "on": today_of(preferences).isoformat(),
    }


def _licensed(r: Roster, field: str, wanted: Any, at: Positions) -> Mask:
    today = date.fromisoformat(wanted["on"]).toordinal()
    where = wanted["location"]
    if where is None:  # nobody said where: any licence still in force
        return r.licence_best[at] >= today  # type: ignore[no-any-return]
    result = np.zeros(len(at), dtype=np.bool_)
    for place in (where["country"], where["region"]):
        index = r.licence_places.get(place) if place else None
        if index is not None:
            result |= r.licence_until[at, index] >= today
    region = where["region"]
    if region and wanted["format"] != "in_person":
        home = r.licence_best[at] >= today  # a compact's authority rests on a home licence
        for compact_id, until in r.compact_until.items():
            if region in r.compacts[compact_id].members:
                result |= (until[at] >= today) & home
    return result


def _in_force(licence: Licence, practising: frozenset[str], today: date) -> bool:
    return licence.status in practising and (licence.expires is None or licence.expires >= today)


def _licensure_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    today = date.fromisoformat(wanted["on"])
    licences = sorted(t.record.licences, key=lambda lic: lic.verified_at, reverse=True)
    held = sorted({lic.jurisdiction for lic in licences if _in_force(lic, r.practising, today)})
    held_part = ("places", held)
    where = wanted["location"]
    if where is None:
        if held:
            return "place_unknown", {"held": held_part}
        return "no_licence_in_force", {"licences": ("licence_states", licences)}
    country, region = where["country"], where["region"]
    covering = [lic for lic in licences if lic.jurisdiction in (country, region)]
    in_force = [lic for lic in covering if _in_force(lic, r.practising, today)]
    if in_force:
        licence = in_force[0]
        return "licensed", {
            "place": ("place", licence.jurisdiction),
            "title": ("text", licence.title),
            "register": ("text", licence.register),
            "verified": ("date", licence.verified_at),
        }
    if region and held:
        for authority in t.record.compacts:
            compact = r.compacts.get(authority.compact)
            if (
                compact is not None
                and region in compact.members
                and authority.status in r.practising
                and (authority.expires is None or authority.expires >= today)
            ):
                parts = {
                    "held": held_part,
                    "place": ("place", region),
                    "compact": ("text", compact.name),
                    "authority": ("text", compact.authority),
                }
                return (
                    "compact_not_in_person" if wanted["format"] == "in_person" else "compact"
                ), parts
    if covering:
        licence = covering[0]
        if licence.status not in r.practising:
            return "not_practising", {
                "place": ("place", licence.jurisdiction),
                "status": ("licence_status", licence.status),
            }
        return "expired", {
            "place": ("place", licence.jurisdiction),
            "expired": ("date", licence.expires),
        }
    if not held:
        return "no_licence_in_force", {"licences": ("licence_states", licences)}
    if region is None and any(code.startswith(f"{country}-") for code in held):
        return "region_needed", {"held": held_part, "place": ("place", country)}
    return "elsewhere", {"held": held_part, "place": ("place", region or country)}


def _licences_found(t: Therapist, field: str) -> Any:
    profile = t.profile
    return {"licences": profile["licences"], "compacts": profile["compacts"]}


# --- availability confirmed recently enough ---------------------------------------------------


def _days_and_policy(preferences: Preferences, constraint: HardConstraint) -> dict[str, Any]:
    return {"on": today_of(preferences).isoformat(), "max_days": constraint.max_days}


def _confirmed_within(r: Roster, field: str, wanted: Any, at: Positions) -> Mask:
    today = date.fromisoformat(wanted["on"]).toordinal()
    return today - r.confirmed_on[at] <= wanted["max_days"]  # type: ignore[no-any-return]


def days_since(day: date, today: date) -> int:
    """Whole days from `day` to `today`; a date in the future counts as today."""
    return max((today - day).days, 0)


def _confirmation_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    accepting = t.record.accepting
    parts: Parts = {
        "confirmed": (
            "days_ago",
            days_since(accepting.verified_at, date.fromisoformat(wanted["on"])),
        ),
        "opening": ("opening", accepting.next_available),
        "cap": ("weekly_cap", accepting.weekly_cap),
    }
    return ("confirmed" if passed else "stale"), parts


# --- communication and access -----------------------------------------------------------------


def _speaks_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    shared = [code for code in wanted if code in t.record.languages]
    signs = bool(shared) and all(code in SIGN_LANGUAGES for code in shared)
    return ("signs" if signs else "speaks" if passed else "does_not_speak"), {}


def _interpreted(r: Roster, field: str, wanted: Any, at: Positions) -> Mask:
    return r.interpreters[at] | any_of(r, "languages", [wanted], at)


def _interpreter_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    parts: Parts = {"language": ("language", wanted)}
    if wanted in t.record.languages:
        return ("signs" if wanted in SIGN_LANGUAGES else "speaks"), parts
    return ("interpreter" if passed else "no_interpreter"), parts


def _needs_and_format(
    preferences: Preferences, constraint: HardConstraint
) -> dict[str, Any] | None:
    if not preferences.access:
        return None
    near = preferences.near
    return {
        "needs": list(preferences.access),
        "format": preferences.format,
        # Where distances to an office are measured from, to name the one that has them.
        "from": near.place.as_json() if near and near.place else None,
        "max_km": near.max_km if near else None,
    }


def _office_access(r: Roster, field: str, wanted: Any, at: Positions) -> Mask:
    # Access is each office's: one office with every need, not needs spread over two. How far
    # that office is, is the distance checks' (they measure to offices with the needs only).
    has_all = r.has_office_with(wanted["needs"])[at]
    if wanted["format"] == "in_person":
        return has_all  # type: ignore[no-any-return]
    # Someone who may meet online needs no office: an online therapist fits whatever the office.
    return has_all | column_or_none(r, "formats", "online", at)  # type: ignore[no-any-return]


def column_or_none(roster: Roster, name: str, value: str, at: Positions) -> Mask:
    """Who at `at` has `value` in the list column `name` (nobody, when no one has it)."""
    found = column(roster, name, value, at)
    return np.zeros(len(at), dtype=np.bool_) if found is None else found


def _access_outcome(t: Therapist, wanted: Any, passed: bool, r: Roster) -> Outcome:
    needs = wanted["needs"]
    offices = list(t["offices"])
    fitting = [office for office in offices if set(needs) <= set(office.access)]
    parts: Parts = {"needs": ("access", needs)}
    centre = Place(**wanted["from"]) if wanted["from"] else None
    if fitting:
        if centre is None:
            parts["office"] = ("text", fitting[0].called)
            return "office", parts
        km, office = min(
            (km_apart(centre.lat, centre.lon, o.lat, o.lon), n) for n, o in enumerate(fitting)
        )
        within = wanted["max_km"] is None or km <= wanted["max_km"]
        if within or wanted["format"] == "in_person" or "online" not in t["formats"]:
            parts["office"] = ("text", fitting[office].called)
            parts["distance"] = ("from_place", (km, centre))
            return "office_near", parts
    if passed:
        return "online_instead", parts
    if not offices:
        return "no_office", parts
    if len(offices) == 1:
        missing = [need for need in needs if need not in offices[0].access]
        parts["office"] = ("text", offices[0].called)
        parts["missing"] = ("access", missing)
        return "lacks", parts
    parts["offices"] = ("office_names", [office.called for office in offices])
    return "none_has", parts


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
            found_kind="workplace",
            wanted=lambda p, constraint: p.city if p.near is None or p.near.place is None else None,
        ),
        HardCheck(
            "within_distance",
            mask=lambda r, field, wanted, at: reachable(r, wanted, False, at),
            found=_offices_found,
            kind="distance",
            wanted=_near_when("in_person"),
            outcome=_distance_outcome,
            outcomes=frozenset({"online_only", "too_far_with_needs"}),
            placeholders=frozenset({"where", "place", "max_km", "needs"}),
        ),
        HardCheck(
            "online_or_within_distance",
            mask=lambda r, field, wanted, at: reachable(r, wanted, True, at),
            found=_offices_found,
            kind="reach",
            wanted=_near_when("any"),
            outcome=_distance_outcome,
            outcomes=frozenset({"too_far_with_needs"}),
            placeholders=frozenset({"where", "place", "max_km", "needs"}),
        ),
        HardCheck(
            "licensed_where_you_are",
            mask=_licensed,
            found=_licences_found,
            kind="licensure",
            always_on=True,
            wanted=_where_and_when,
            outcome=_licensure_outcome,
            outcomes=frozenset(
                {
                    "licensed",
                    "place_unknown",
                    "compact",
                    "compact_not_in_person",
                    "not_practising",
                    "expired",
                    "no_licence_in_force",
                    "region_needed",
                    "elsewhere",
                }
            ),
            caveat_outcomes=frozenset({"place_unknown"}),
            never_relaxed=True,
            placeholders=frozenset(
                {
                    "held",
                    "place",
                    "title",
                    "register",
                    "verified",
                    "compact",
                    "authority",
                    "status",
                    "expired",
                    "licences",
                }
            ),
        ),
        HardCheck(
            "confirmed_within",
            mask=_confirmed_within,
            found=lambda t, field: t.profile["accepting"],
            kind="freshness",
            always_on=True,
            wanted=_days_and_policy,
            outcome=_confirmation_outcome,
            outcomes=frozenset({"confirmed", "stale"}),
            never_relaxed=True,
            placeholders=frozenset({"confirmed", "opening", "cap"}),
        ),
        HardCheck(
            "speaks_any",
            mask=lambda r, field, wanted, at: any_of(r, field, wanted, at),
            found=_field,
            outcome=_speaks_outcome,
            outcomes=frozenset({"signs", "speaks", "does_not_speak"}),
        ),
        HardCheck(
            "interpreted",
            mask=_interpreted,
            found=lambda t, field: {
                "works_with_interpreters": t.record.works_with_interpreters,
                "languages": list(t.record.languages),
            },
            kind="interpreter",
            outcome=_interpreter_outcome,
            outcomes=frozenset({"signs", "speaks", "interpreter", "no_interpreter"}),
            placeholders=frozenset({"language"}),
        ),
        HardCheck(
            "office_access",
            mask=_office_access,
            found=lambda t, field: {
                "offices": [msgspec_builtins(office) for office in t["offices"]],
                "formats": list(t["formats"]),
            },
            kind="access_needs",
            wanted=_needs_and_format,
            outcome=_access_outcome,
            outcomes=frozenset(
                {"office", "office_near", "online_instead", "no_office", "lacks", "none_has"}
            ),
            placeholders=frozenset({"missing", "needs", "office", "offices", "distance"}),
        ),
        HardCheck(
            "has_all",
            mask=lambda r, field, wanted, at: all_of(r, field, wanted, at),
            found=_field,
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
            "offers_required_setting",
            mask=lambda r, field, wanted, at: any_of(r, field, wanted, at),
            found=_field,
            kind="settings",
            wanted_from=lambda p, c: c.settings_required,
            never_relaxed=True,
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
            placeholders=frozenset({"fee"}),
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
    sentence, both rendered as `kind`. `says_missed(therapist, preferences)`, when given, says
    whether the `missed` sentence is true of this therapist: when not, the miss is explained
    elsewhere (a failed hard constraint) and no sentence is written for it.
    """

    name: str
    share: Callable[[Roster, Preferences, ClinicalPicture, Positions], Shares | None]
    details: Callable[[Therapist, Preferences, ClinicalPicture], tuple[Any, Any]]
    kind: str
    # A check whose policy has a number of days in matching.yaml (`max_days`) gets them too:
    # share(roster, preferences, clinical, at, max_days) and details(..., max_days).
    takes_days: bool = False
    says_missed: Callable[[Therapist, Preferences], bool] | None = None


def difficulty_weights(c: ClinicalPicture) -> dict[str, float]:
    """How much each difficulty's fit counts, by the precedence the modality list follows."""
    # Three steps, as in matcher/explain.py: the leading difficulty with its first-line
    # treatments, the other difficulties with first-line treatments, then the rest. Each step
    # counts twice as much as all the steps after it together, so a therapist who practises
    # the treatment made for the leading difficulty is never outranked by one who practises
    # only what helps with a co-occurring one (other things equal).
    steps: list[list[str]] = [[], [], []]
    for difficulty in c.scores_by_difficulty:
        if not c.first_line.get(difficulty):
            steps[2].append(difficulty)
        elif difficulty == c.leading:
            steps[0].append(difficulty)
        else:
            steps[1].append(difficulty)
    weights: dict[str, float] = {}
    later = 0.0
    for members in reversed(steps):
        if not members:
            continue
        total = 2 * later if later else 1.0
        weights.update((difficulty, total / len(members)) for difficulty in members)
        later += total
    return {difficulty: weight / later for difficulty, weight in weights.items()}


def modality_fit(points: int, best: int, best_first_line: int | None, first_line: bool) -> float:
    """How well one practised approach fits one difficulty (0..1), first-line ones above.

    `best` is the most points of any approach recommended for the difficulty, `best_first_line`
    the most of one of its first-line treatments (None: it has none).
    """
    if best_first_line is None:  # no treatment made for this difficulty: points alone
        return points / best
    if first_line:  # above every other option, however many points that gathered
        return 0.5 + 0.5 * points / best_first_line
    return min(0.5, points / best)


def _practises_recommended(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    # Fit is judged per difficulty, then weighed by precedence: a therapist who practises a
    # strong option for each of the person's difficulties fits better than one who covers only
    # one of them well, and the treatment made for the leading difficulty counts most.
    if not c.scores_by_difficulty:
        return None
    practised = {m: column(r, "modalities", m, at) for m in c.modality_scores}
    total = np.zeros(len(at))
    for difficulty, weight in difficulty_weights(c).items():
        scores = c.scores_by_difficulty[difficulty]
        first_line = c.first_line.get(difficulty, frozenset())
        best_first_line = max((scores[m] for m in first_line if m in scores), default=None)
        best = np.zeros(len(at))
        for modality, points in scores.items():
            found = practised.get(modality)
            if found is not None:
                fit = modality_fit(
                    points, max(scores.values()), best_first_line, modality in first_line
                )
                np.maximum(best, found * fit, out=best)
        total += weight * best
    return total


def _treats_difficulties(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    if not c.difficulties:
        return None  # a risk-only intake: nothing to treat, no points either way
    return share_listed(r, "difficulties", c.difficulties, at)


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
    km = r.nearest_office_km(p.near.place.lat, p.near.place.lon, p.near.needs)[at]
    return np.clip(1.0 - km / p.near.max_km, 0.0, 1.0)  # type: ignore[no-any-return]


def _online_when_unplaced(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions
) -> Shares | None:
    # Either format, and only the country known: someone online needs no travel, while an
    # in-person office may be anywhere in the country, so online ranks first.
    if p.format != "any" or p.near is None or p.near.place is not None:
        return None
    return r.column_of("formats", "online")[at].astype(np.float64)


def _nearest_office(t: Therapist, p: Preferences) -> dict[str, Any] | None:
    """The therapist's office nearest the person's place, with its distance in km."""
    place = p.near.place if p.near else None
    needs = set(p.near.needs) if p.near else set()
    offices = [office for office in t["offices"] if needs <= set(office.access)]
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


def _confirmed_recently(
    r: Roster, p: Preferences, c: ClinicalPicture, at: Positions, max_days: int = 30
) -> Shares | None:
    today = today_of(p).toordinal()
    return (today - r.confirmed_on[at] <= max_days).astype(np.float64)


def _shares_identity(r: Roster, p: Preferences, c: ClinicalPicture, at: Positions) -> Shares | None:
    # Only identities a therapist chose to show are in the column; never a reason to exclude.
    if not p.identity:
        return None
    return share_listed(r, "identity", p.identity, at)


def _shown_identity(t: Therapist) -> list[str]:
    return list(t.record.identity.values) if t.record.identity else []


SOFT_CHECKS: dict[str, SoftCheck] = {
    check.name: check
    for check in [
        SoftCheck(
            "practises_recommended",
            share=_practises_recommended,
            details=lambda t, p, c: offered_of(c.modality_scores, t["modalities"]),
            kind="modalities",
        ),
        SoftCheck(
            "treats_difficulties",
            share=_treats_difficulties,
            details=lambda t, p, c: shared_and_missing(c.difficulties, t["difficulties"]),
            kind="difficulties",
        ),
        SoftCheck(
            "offers_advised_setting",
            share=_offers_advised_setting,
            details=lambda t, p, c: offered_of(c.advised_settings, t["settings"]),
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
            details=lambda t, p, c: offered_of(p.times, t["availability"]),
            kind="times",
        ),
        SoftCheck(
            "standard_fee_within",
            share=_standard_fee_within,
            details=lambda t, p, c: (_fee_found(t, "fee"), p.budget),
            kind="standard_fee",
            # "Within your budget only through the sliding scale" is true only of a therapist
            # whose sliding scale reaches the budget, in its own currency; one over it (in the
            # nearest alternatives, or asked "why not") has the fee constraint's sentence instead.
            says_missed=lambda t, p: (
                t["sliding_scale_min"] is not None
                and p.budget is not None
                and t["currency"] == p.budget.currency
                and t["sliding_scale_min"] <= p.budget.amount
            ),
        ),
        SoftCheck(
            "measures_outcomes",
            share=_measures_outcomes,
            details=lambda t, p, c: (list(t["measures_outcomes"]), None),
            kind="instruments",
        ),
        SoftCheck(
            "confirmed_recently",
            share=_confirmed_recently,  # type: ignore[arg-type]
            details=lambda t, p, c, max_days=30: (  # type: ignore[misc]
                days_since(t.record.accepting.verified_at, today_of(p)),
                max_days,
            ),
            kind="days_ago",
            takes_days=True,
        ),
        SoftCheck(
            "shares_identity",
            share=_shares_identity,
            details=lambda t, p, c: shared_and_missing(p.identity, _shown_identity(t)),
            kind="identities",
        ),
        SoftCheck(
            "in_city_when_any_format",
            share=_in_city_when_any_format,
            details=lambda t, p, c: (t["city"], p.city),
            kind="city",
        ),
        SoftCheck(
            "online_when_unplaced",
            share=_online_when_unplaced,
            details=lambda t, p, c: ("online" in t["formats"], p.near),
            kind="country",
        ),
        SoftCheck(
            "nearer",
            share=_nearer,
            details=lambda t, p, c: (_nearest_office(t, p), p.near),
            kind="distance",
        ),
    ]
}

"""The roster as clinics and staff browse it: a filtered page, who needs re-confirming, the
places it serves, and the modality catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.explain import Renderer
from matcher.roster import Roster
from matcher.rules import Knowledge

# The listing's filters on a list field of the roster: query parameter -> roster field.
LIST_FILTERS = {
    "language": "languages",
    "format": "formats",
    "setting": "settings",
    "modality": "modalities",
    "difficulty": "difficulties",
}


def needs_reconfirmation(
    roster: Roster, knowledge: Knowledge, today: date
) -> npt.NDArray[np.bool_]:
    """For every position: must staff re-confirm this therapist before they are matched?

    Availability confirmed longer ago than the freshness constraint allows, a practising
    licence past its expiry, or no licence in force at all.
    """
    day = today.toordinal()
    result = (roster.licence_soonest < day) | (roster.licence_best < day)
    for constraint in knowledge.matching.hard_constraints:
        if constraint.check == "confirmed_within" and constraint.max_days is not None:
            result |= day - roster.confirmed_on > constraint.max_days
    return result  # type: ignore[no-any-return]


def places_served(
    roster: Roster, clinic_country: str | None, renderer: Renderer
) -> list[tuple[str, str]]:
    """The countries and regions the roster's therapists may practise in: (code, name)."""
    codes = set(roster.jurisdictions())
    codes |= {code[:2] for code in codes}
    if clinic_country:
        codes.add(clinic_country)
    named = [(code, renderer.place(code)) for code in codes]
    # Each country, then its regions, by name: "the Netherlands", "the United States",
    # "the United States: New Jersey".
    country_name = {code: name for code, name in named if len(code) == 2}

    def key(item: tuple[str, str]) -> tuple[str, int, str]:
        code, name = item
        return (country_name[code[:2]].removeprefix("the "), len(code) > 2, name)

    return sorted(named, key=key)


def therapist_page(
    roster: Roster, params: Mapping[str, Any], stale: npt.NDArray[np.bool_]
) -> dict[str, Any]:
    """One page of the roster filtered by validated query `params` (GET /api/v1/therapists)."""
    keep = np.ones(roster.size, dtype=np.bool_)
    for name, field in LIST_FILTERS.items():
        if name in params:
            keep &= roster.column_of(field, params[name])
    if "city" in params:
        keep &= roster.city == roster.city_code(params["city"])
    if "accepting_new_clients" in params:
        keep &= roster.accepting == params["accepting_new_clients"]
    if "stale" in params:
        keep &= stale == params["stale"]
    ordered = np.flatnonzero(keep).tolist()
    page, per_page = params["page"], params["per_page"]
    chosen = ordered[(page - 1) * per_page : page * per_page]
    return {
        "needs_reconfirmation": [roster.therapists[p].id for p in chosen if stale[p]],
        "therapists": [roster.therapists[p].profile for p in chosen],
        "total": len(ordered),
        "page": page,
        "per_page": per_page,
    }


def modality_catalogue(knowledge: Knowledge, roster: Roster) -> list[dict[str, Any]]:
    """Every modality, with the rules that can recommend it and how many therapists offer it."""
    result = []
    for term in knowledge.vocabulary.modalities.values():
        rules = [r for r in knowledge.rules if r.recommend == term.id]
        result.append(
            {
                "id": term.id,
                "name": term.label,
                "description": term.description,
                "recommended_by": [
                    {
                        "rule": r.id,
                        "when": [{"key": c.key, "values": list(c.values)} for c in r.when],
                        "strength": r.strength,
                        "first_line": r.first_line,
                        "rationale": r.rationale,
                        "clinician_note": r.clinician_note,
                    }
                    for r in rules
                ],
                "therapists": int(roster.column_of("modalities", term.id).sum()),
            }
        )
    return result

"""When nobody fits: the no-match funnel, and the relaxations that would leave someone.

One job of the Matcher (matcher/matching.py), apart so that the facade stays thin: these
functions read the Matcher's rules, roster and renderer and answer the `no_match` and
`relaxed` parts of a match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from matcher import explain, i18n, ranking
from matcher.checks import HARD_CHECKS
from matcher.explain import ClinicalExplanation
from matcher.ranking import ClinicalPicture, Preferences
from matcher.rules import HardConstraint

if TYPE_CHECKING:  # the types only: matching imports this module
    from matcher.matching import Intake, Matcher

RELAXED_ENTRIES = 3
RELAXED_MATCHES = 3


def no_match(
    matcher: Matcher,
    counts: list[tuple[HardConstraint, int]],
    preferences: Preferences,
    picture: ClinicalPicture,
) -> dict[str, Any]:
    """The answer's `no_match`: the funnel of active constraints and the first to leave nobody."""
    before = len(matcher.roster.therapists)
    funnel = []
    blocking: tuple[HardConstraint, int] | None = None
    for constraint, remaining in counts:
        requirement = requirement_text(matcher, constraint, preferences, picture)
        funnel.append(
            {
                "constraint": constraint.id,
                "text": matcher._("Therapists who also {requirement}").format(
                    requirement=requirement
                ),
                "remaining": remaining,
            }
        )
        if remaining == 0 and blocking is None:
            blocking = (constraint, before)
        if blocking is None:
            before = remaining
    assert blocking is not None
    constraint, left = blocking
    requirement = requirement_text(matcher, constraint, preferences, picture)
    therapists = "therapist" if left == 1 else "therapists"
    if matcher.language != i18n.SOURCE_LANGUAGE:
        scope = (
            matcher._("of the {count} therapists in the roster")
            if left == len(matcher.roster.therapists)
            else matcher._("of the {count} therapists who meet your earlier requirements")
        ).format(count=left)
    else:
        scope = (
            f"of the {left} {therapists} in the roster"
            if left == len(matcher.roster.therapists)
            else f"of the {left} {therapists} who {'meets' if left == 1 else 'meet'} "
            "your earlier requirements"
        )
    result = {
        "constraint": constraint.id,
        "text": matcher._(
            "No therapist matched everything you asked for: {scope}, none {requirement}."
        ).format(scope=scope, requirement=requirement),
        "funnel": funnel,
    }
    if HARD_CHECKS[constraint.check].never_relaxed or constraint.staff_review:
        result["staff_review"] = matcher.knowledge.matching.staff_review
    return result


def requirement_text(
    matcher: Matcher, constraint: HardConstraint, preferences: Preferences, picture: ClinicalPicture
) -> str:
    """What `constraint` asks of a therapist, in the person's words ("speak Swahili")."""
    kind = explain.hard_kind(constraint)
    wanted = ranking.wanted(constraint, preferences, picture)
    words = matcher.renderer.placeholders(kind, wanted, None, False)
    return constraint.requirement.format(**words)


def relaxed(
    matcher: Matcher,
    intake: Intake,
    picture: ClinicalPicture,
    clinical: ClinicalExplanation,
) -> list[dict[str, Any]]:
    """The answer's `relaxed`: who fits with requirements set aside, singly, then together."""
    preferences = intake.preferences
    active_ids = [c.id for c in matcher.active_constraints(preferences, picture)]
    options = []
    by_id = {c.id: c for c in matcher.knowledge.matching.hard_constraints}
    young = preferences.age is not None and preferences.age < matcher.adult_age
    for relaxation in matcher.knowledge.matching.relaxations:
        if relaxation.only_when_format and preferences.format != relaxation.only_when_format:
            continue
        if young and any(by_id[d].check == "within_range" for d in relaxation.drops):
            continue  # a child or young person is never offered an adult-only therapist
        if young and any(by_id[d].check == "fits_clinically" for d in relaxation.drops):
            # Nor a weak fit: a clinician would not suggest to a child someone who practises
            # no approach recommended for them and does not work with what they told us.
            continue
        dropped = [c for c in active_ids if c in relaxation.drops]
        if dropped:
            options.append((relaxation, dropped))
    entries = []
    for relaxation, dropped in options:
        entry = _try_relaxation(
            matcher, [relaxation.id], dropped, relaxation.text, intake, picture, clinical
        )
        if entry:
            entries.append(entry)
        if len(entries) == RELAXED_ENTRIES:
            return entries
    if entries or len(options) < 2:
        return entries
    # No single relaxation helps: relax cumulatively, nearest first, until someone is left.
    ids: list[str] = []
    dropped_all: list[str] = []
    texts: list[str] = []
    for relaxation, dropped in options:
        ids.append(relaxation.id)
        dropped_all.extend(d for d in dropped if d not in dropped_all)
        texts.append(relaxation.text)
        entry = _try_relaxation(
            matcher, ids, dropped_all, "; ".join(texts), intake, picture, clinical
        )
        if entry:
            return [entry]
    return []


def _set_aside(matcher: Matcher, preferences: Preferences, dropped: Sequence[str]) -> Preferences:
    unanswered = Preferences()
    # `near` is where the person is, not something they asked of a therapist: the distance
    # checks are set aside by id, and the place still tells "either format" who is within
    # reach and keeps the city-by-name check (only for an unplaced city) out of the way.
    cleared: dict[str, Any] = {
        name: getattr(unanswered, name)
        for c in matcher.knowledge.matching.hard_constraints
        if c.id in dropped and c.intake_field
        for name in [c.intake_field.removeprefix("preferences.")]
        if name != "near"
    }
    return replace(preferences, **cleared)


def _try_relaxation(
    matcher: Matcher,
    ids: list[str],
    dropped: list[str],
    text: str,
    intake: Intake,
    picture: ClinicalPicture,
    clinical: ClinicalExplanation,
) -> dict[str, Any] | None:
    preferences = intake.preferences
    # A requirement set aside is as if unanswered, also for the checks that read the same
    # answer: online instead of in person is judged for either format (an online group, a
    # compact's online authority counts, an online therapist's office access does not);
    # they are ranked and explained against what the person asked for.
    eased = _set_aside(matcher, preferences, dropped)
    kept = matcher.active_constraints(eased, picture, dropped)
    survivors, _ = ranking.funnel(matcher.roster, kept, eased, picture)
    if not len(survivors):
        return None
    ranked = matcher.rank(survivors, preferences, picture, RELAXED_MATCHES)
    all_active = matcher.active_constraints(preferences, picture)
    near = preferences.near
    return {
        "relaxation": "+".join(ids),
        "relaxed": list(dropped),
        "text": text.format(
            setting=matcher.renderer.value("settings", preferences.setting),
            format=matcher.renderer.value("formats", preferences.format),
            fee=explain.fee_range([r.therapist for r in ranked], matcher.renderer),
            max_km=near.max_km if near else "",
            place=(near.place.name if near.place else matcher.renderer.gettext("your country"))
            if near
            else "",
        ),
        "matches": [matcher.match_json(r, all_active, intake, clinical, picture) for r in ranked],
    }

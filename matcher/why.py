"""Why one therapist is or is not a match for an intake: every check, the rank, the summary.

One job of the Matcher (matcher/matching.py), apart so that the facade stays thin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from matcher import explain, i18n, ranking

if TYPE_CHECKING:  # the type only: matching imports this module
    from matcher.matching import Matcher

REVIEW_SUMMARY = i18n.N_("A clinician reviews this request before any booking (safety answers).")
ROUTE_REVIEW_SUMMARY = i18n.N_("A clinician reviews this request before any booking (care route).")


def why(matcher: Matcher, therapist_id: str, payload: Any) -> dict[str, Any]:
    """Explain one therapist for an intake: each constraint failed, or their rank and why."""
    therapist = matcher.therapist(therapist_id)
    intake = matcher.parse_intake(payload)
    intake, clinical, picture = matcher.clinical_picture(intake)
    preferences = intake.preferences
    active = matcher.active_constraints(preferences, picture)
    checks = [ranking.check(c, therapist, matcher.roster, preferences, picture) for c in active]
    failed = [
        {
            "rule": f"constraint.{c.constraint.id}",
            "text": explain.check_sentence(c, matcher.renderer),
        }
        for c in checks
        if not c.passed
    ]
    survivors, _ = ranking.funnel(matcher.roster, active, preferences, picture)
    own = np.array([therapist.position], dtype=np.intp)
    lines = ranking.lines_for(
        0, therapist, matcher.scores(own, preferences, picture), preferences, picture
    )
    reasons, caveats = explain.explain_match(checks, lines, clinical, matcher.renderer)
    matcher.add_review_caveats(intake, caveats)
    rank = None
    name = therapist["name"]
    if failed:
        summary = matcher._("{name} is not a match: {reasons}.").format(
            name=name,
            reasons="; ".join(f["text"][:1].lower() + f["text"][1:] for f in failed),
        )
    else:
        scores = matcher.scores(survivors, preferences, picture)
        order = ranking.best(matcher.roster, scores)
        rank = int(np.flatnonzero(scores.at[order] == therapist.position)[0]) + 1
        most = sum(line.preference.points for line in lines)
        summary = matcher._(
            "{name} meets every requirement and ranks {rank} of {count} "
            "with {points} of {most} points."
        ).format(name=name, rank=rank, count=len(order), points=ranking.total(lines), most=most)
    if intake.risk_signals:
        summary += " " + matcher._(REVIEW_SUMMARY)
    elif intake.route.needs_review:
        summary += " " + matcher._(ROUTE_REVIEW_SUMMARY)
    return {
        "safety": matcher.safety(intake.risk_signals, matcher.crisis_country(intake)),
        "therapist": therapist.profile,
        "review_required": matcher.review_required(intake),
        "eligible": not failed,
        "summary": summary,
        "checks": [
            {
                "constraint": c.constraint.id,
                "passed": c.passed,
                "expected": explain.plain(c.expected),
                "actual": explain.plain(c.actual),
                "text": explain.check_sentence(c, matcher.renderer),
            }
            for c in checks
        ],
        "failed": failed,
        "rank": rank,
        "of": len(survivors),
        "score": ranking.total(lines) if not failed else None,
        "score_breakdown": explain.score_breakdown(lines),
        "reasons": reasons,
        "caveats": caveats,
        "rules_version": matcher.rules_version,
    }

"""Screening questionnaires scored by the service itself: totals, severity bands, risk item."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matcher.i18n import N_
from matcher.rules import ScreeningConfig

NOT_A_DIAGNOSIS = N_(
    "Screening scores describe how the last two weeks have been; they inform the match and are "
    "not a diagnosis."
)


@dataclass(frozen=True)
class Score:
    """One instrument's result, computed from its answers."""

    instrument: str
    name: str
    total: int
    max_total: int
    severity: str
    risk_item: int | None  # the number of the risk item, if the instrument has one
    risk_value: int | None  # the answer to it
    difficulty: int | None  # the unscored difficulty question, if answered
    declared_total: int | None = None  # a total the sender declared (FHIR), only compared


def score_all(
    config: ScreeningConfig,
    answers: Mapping[str, Any],
    declared_totals: Mapping[str, int] | None = None,
) -> dict[str, Score]:
    """Score every instrument present in validated `answers`, in the configuration's order."""
    scores: dict[str, Score] = {}
    for instrument in config.instruments.values():
        items = answers.get(instrument.id)
        if items is None:
            continue
        total = sum(items)
        risk_value = items[instrument.risk_item - 1] if instrument.risk_item else None
        scores[instrument.id] = Score(
            instrument=instrument.id,
            name=instrument.name,
            total=total,
            max_total=instrument.max_total,
            severity=instrument.severity(total),
            risk_item=instrument.risk_item,
            risk_value=risk_value,
            difficulty=answers.get(instrument.difficulty_field)
            if instrument.difficulty_field
            else None,
            declared_total=(declared_totals or {}).get(instrument.id),
        )
    return scores


def band_floor(config: ScreeningConfig, instrument_id: str, total: int) -> int:
    """The lowest total in the band that `total` falls in."""
    floor = 0
    for highest, _ in config.instruments[instrument_id].bands:
        if total <= highest:
            return floor
        floor = highest + 1
    return floor


def canonical_total(
    config: ScreeningConfig, instrument_id: str, total: int, thresholds: Sequence[int]
) -> int:
    """The smallest total the rules cannot tell apart from `total`.

    Rules see a total only through its band and `total_at_least` thresholds, so every total
    from the highest threshold (or band floor) reached up to `total` fires the same rules.
    """
    reached = [t for t in thresholds if t <= total]
    return max([band_floor(config, instrument_id, total), *reached])


def facts(
    scores: Mapping[str, Score],
    config: ScreeningConfig,
    thresholds: Mapping[str, Sequence[int]],
) -> list[dict[str, Any]]:
    """The facts the rules see: each total (as the rules can tell it) with its band, risk items."""
    result: list[dict[str, Any]] = []
    for score in scores.values():
        total = canonical_total(
            config, score.instrument, score.total, thresholds.get(score.instrument, ())
        )
        result.append(
            {
                "type": "screening",
                "instrument": score.instrument,
                "total": total,
                "value": score.severity,
            }
        )
        if score.difficulty is not None:
            # The unscored question on how hard the problems make daily life (PHQ-9 item 10),
            # for rules that step care by functional impairment.
            result.append(
                {
                    "type": "screening_difficulty",
                    "instrument": score.instrument,
                    "value": score.difficulty,
                }
            )
        if score.risk_item is not None:
            result.append(
                {
                    "type": "screening_item",
                    "instrument": score.instrument,
                    "item": score.risk_item,
                    "value": score.risk_value,
                }
            )
    return result


def as_json(
    scores: Mapping[str, Score],
    config: ScreeningConfig,
    gettext: Callable[[str], str] = str,
) -> dict[str, Any]:
    """The `screening` part of a response: totals, bands, disagreement with a declared total."""
    _ = gettext
    result: dict[str, Any] = {}
    for score in scores.values():
        label = config.severity_labels[score.severity]
        entry: dict[str, Any] = {
            "total": score.total,
            "max_total": score.max_total,
            "severity": score.severity,
            "text": _("A {name} total of {total} of {max_total} is in the {label} range.").format(
                name=score.name, total=score.total, max_total=score.max_total, label=label
            )
            + " "
            + _(NOT_A_DIAGNOSIS),
        }
        if score.difficulty is not None:
            entry["difficulty"] = score.difficulty
        if score.declared_total is not None:
            entry["declared_total"] = score.declared_total
            if score.declared_total != score.total:
                entry["note"] = _(
                    "The questionnaire declared a {name} total of {declared}, but its answers "
                    "add up to {total}; {total} is used."
                ).format(name=score.name, declared=score.declared_total, total=score.total)
        result[score.instrument] = entry
    return result

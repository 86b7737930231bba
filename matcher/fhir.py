"""Read PHQ-9 and GAD-7 answers out of FHIR R4 QuestionnaireResponses, by LOINC code or linkId.

Items are recognised by their LOINC codes (in the linkId, as `/44250-9` or `44250-9`, or in
`item.code`), or by a numbered linkId such as `phq9-1`; never by display text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from matcher.errors import IntakeError
from matcher.rules import ScreeningConfig

LOINC_SYSTEM = "http://loinc.org"
ORDINAL_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
}
LOINC_CODE = re.compile(r"(\d{4,5}-\d)")
NUMBERED_LINK = re.compile(r"^/?(?P<name>[a-z]+)-?(?P<digit>\d)[-_.](?P<n>\d{1,2})$", re.IGNORECASE)
TOTAL_LINK = re.compile(r"^/?(?:(?P<name>[a-z]+-?\d)[-_.])?total(?:[-_.]?score)?$", re.IGNORECASE)

# Intake fields that may ride along as query parameters with a FHIR body.
LIST_PARAMS = {"difficulties": None, "languages": "preferences", "times": "preferences"}
TEXT_PARAMS = {"format", "setting", "city", "therapist_gender"}
INT_PARAMS = {"age": "preferences", "max_fee": "preferences", "limit": None}


@dataclass
class FhirScreening:
    """Answers read from FHIR, shaped like the JSON intake's `screening`, and declared totals."""

    answers: dict[str, Any] = field(default_factory=dict)
    declared_totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    kind: str  # item, difficulty or total
    instrument: str
    position: int = 0


def _lookup(config: ScreeningConfig) -> dict[str, _Target]:
    table: dict[str, _Target] = {}
    for instrument in config.instruments.values():
        for position, (loinc, _) in enumerate(instrument.items, start=1):
            table[loinc] = _Target("item", instrument.id, position)
        table[instrument.loinc_total] = _Target("total", instrument.id)
        if instrument.difficulty_loinc:
            table[instrument.difficulty_loinc] = _Target("difficulty", instrument.id)
    return table


def _walk(items: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        here = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise IntakeError({here: ["Each item must be an object."]})
        yield item, here
        yield from _walk(item.get("item"), f"{here}.item")
        for a_index, answer in enumerate(item.get("answer") or []):
            if isinstance(answer, dict):
                yield from _walk(answer.get("item"), f"{here}.answer[{a_index}].item")


def _codes(item: dict[str, Any]) -> list[str]:
    codes = LOINC_CODE.findall(str(item.get("linkId", "")))
    for coding in item.get("code") or []:
        if isinstance(coding, dict) and coding.get("system") == LOINC_SYSTEM:
            codes.append(str(coding.get("code", "")))
    return codes


def _identify(
    item: dict[str, Any], table: Mapping[str, _Target], config: ScreeningConfig
) -> _Target | None:
    for code in _codes(item):
        if code in table:
            return table[code]
    link = str(item.get("linkId", ""))
    numbered = NUMBERED_LINK.match(link)
    if numbered:
        instrument = config.instruments.get(f"{numbered['name']}{numbered['digit']}".lower())
        if instrument is not None:
            position = int(numbered["n"])
            if 1 <= position <= len(instrument.items):
                return _Target("item", instrument.id, position)
            if position == len(instrument.items) + 1 and instrument.difficulty_field:
                return _Target("difficulty", instrument.id)
    total = TOTAL_LINK.match(link)
    if total:
        name = (total["name"] or "").replace("-", "").lower()
        return _Target("total", name)  # an empty name is resolved once the items are known
    return None


def _answer_value(item: dict[str, Any], codes: Mapping[str, int], path: str) -> Any:
    answers = item.get("answer")
    if not answers:
        return None
    if not isinstance(answers, list) or not isinstance(answers[0], dict):
        raise IntakeError({f"{path}.answer": ["Must be a list of answer objects."]})
    answer = answers[0]
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        if isinstance(code, str) and code in codes:
            return codes[code]
        for extension in coding.get("extension") or []:
            if isinstance(extension, dict) and extension.get("url") in ORDINAL_EXTENSIONS:
                return _number(extension.get("valueDecimal", extension.get("valueInteger")))
        raise IntakeError(
            {
                f"{path}.answer[0].valueCoding": [
                    f"Answer code {code!r} is not one of {', '.join(codes)}."
                ]
            }
        )
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            return _number(answer[key])
    if isinstance(answer.get("valueQuantity"), dict):
        return _number(answer["valueQuantity"].get("value"))
    raise IntakeError(
        {f"{path}.answer[0]": ["Expected valueCoding, valueInteger or valueDecimal."]}
    )


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value  # anything else is reported by the intake schema with its item number


def _responses(resource: Any) -> list[tuple[dict[str, Any], str]]:
    if not isinstance(resource, dict) or "resourceType" not in resource:
        raise IntakeError({"resourceType": ["Not a FHIR resource: resourceType is missing."]})
    kind = resource["resourceType"]
    if kind == "QuestionnaireResponse":
        return [(resource, "QuestionnaireResponse")]
    if kind == "Bundle":
        found = []
        for index, entry in enumerate(resource.get("entry") or []):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict) and inner.get("resourceType") == "QuestionnaireResponse":
                found.append((inner, f"Bundle.entry[{index}].resource"))
        if not found:
            raise IntakeError({"Bundle.entry": ["The Bundle holds no QuestionnaireResponse."]})
        return found
    raise IntakeError(
        {"resourceType": [f"Expected a QuestionnaireResponse or a Bundle of them, not {kind!r}."]}
    )


def read_screening(resource: Any, config: ScreeningConfig) -> FhirScreening:
    """Read the PHQ-9 and GAD-7 answers and declared totals out of a FHIR resource."""
    table = _lookup(config)
    items: dict[str, dict[int, Any]] = {}
    difficulties: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    seen: dict[tuple[str, str, int], str] = {}
    for response, prefix in _responses(resource):
        if not isinstance(response.get("item", []), list):
            raise IntakeError({f"{prefix}.item": ["Must be a list."]})
        for item, path in _walk(response.get("item"), f"{prefix}.item"):
            target = _identify(item, table, config)
            if target is None:
                continue
            key = (target.kind, target.instrument, target.position)
            if key in seen:
                raise IntakeError({path: [f"The same question also appears at {seen[key]}."]})
            seen[key] = path
            if target.kind == "item":
                items.setdefault(target.instrument, {})[target.position] = _answer_value(
                    item, config.answer_codes, path
                )
            elif target.kind == "difficulty":
                difficulties[target.instrument] = _answer_value(
                    item, config.difficulty_answer_codes, path
                )
            else:
                totals[target.instrument] = _answer_value(item, {}, path)
    if not items:
        raise IntakeError(
            {
                "QuestionnaireResponse.item": [
                    "No PHQ-9 or GAD-7 items were recognised (by LOINC code or a numbered linkId)."
                ]
            }
        )
    result = FhirScreening()
    for instrument in config.instruments.values():
        answered = items.get(instrument.id)
        if answered is None:
            continue
        result.answers[instrument.id] = [
            answered.get(position) for position in range(1, len(instrument.items) + 1)
        ]
        if instrument.difficulty_field and difficulties.get(instrument.id) is not None:
            result.answers[instrument.difficulty_field] = difficulties[instrument.id]
    for name, value in totals.items():
        instrument_id = name or (next(iter(items)) if len(items) == 1 else "")
        if instrument_id in result.answers and isinstance(value, int):
            result.declared_totals[instrument_id] = value
    return result


def intake_from_query(args: Mapping[str, str]) -> dict[str, Any]:
    """Build the JSON intake from query parameters named like its fields (`?difficulties=a,b`)."""
    intake: dict[str, Any] = {}
    preferences: dict[str, Any] = {}
    unknown = []
    for name, raw in args.items():
        if name in LIST_PARAMS:
            values = [v.strip() for v in raw.split(",") if v.strip()]
            (preferences if LIST_PARAMS[name] else intake)[name] = values
        elif name in TEXT_PARAMS:
            preferences[name] = raw
        elif name in INT_PARAMS:
            value: Any = int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else raw
            (preferences if INT_PARAMS[name] else intake)[name] = value
        elif name == "self_harm_thoughts":
            intake["risk"] = {"self_harm_thoughts": {"true": True, "false": False}.get(raw, raw)}
        else:
            unknown.append(name)
    if unknown:
        raise IntakeError({name: ["Unknown query parameter."] for name in unknown})
    if preferences:
        intake["preferences"] = preferences
    return intake


def item9_risk(resource: Any, config: ScreeningConfig) -> int | None:
    """The highest answer to the PHQ-9 risk item anywhere in a resource, or None; never raises.

    Every answer of the item counts, in every QuestionnaireResponse of a Bundle, whatever else
    is wrong with the resource: the safety path reads it before any validation.
    """
    table = _lookup(config)
    targets = {
        (instrument.id, instrument.risk_item)
        for instrument in config.instruments.values()
        if instrument.risk_item
    }
    highest: int | None = None
    stack: list[Any] = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(v for v in node.values() if isinstance(v, list | dict))
        if "linkId" not in node:
            continue
        try:
            target = _identify(node, table, config)
        except Exception:
            continue
        if target is None or (target.instrument, target.position) not in targets:
            continue
        for answer in node.get("answer") or [] if isinstance(node.get("answer"), list) else []:
            try:
                value = _answer_value({"answer": [answer]}, config.answer_codes, "")
            except Exception:
                continue
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                highest = max(highest or 0, min(int(value), 3) if value >= 1 else 1)
            elif highest is None and value == 0:
                highest = 0
    return highest

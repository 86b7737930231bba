"""Read PHQ-9 and GAD-7 answers out of FHIR R4 QuestionnaireResponses, by LOINC code or linkId.

Items are recognised by their LOINC codes (in the linkId, as `/44250-9` or `44250-9`, or in
`item.code`), by a linkId map the clinic declared for its Questionnaire, or by a numbered linkId
such as `phq9-1` or `PHQ.1` (the prefixes are in rules/screening.yaml); never by display text.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from matcher.errors import IntakeError
from matcher.rules import LinkTarget, ScreeningConfig

LOINC_SYSTEM = "http://loinc.org"
ORDINAL_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
}
LOINC_CODE = re.compile(r"(?<![0-9])([0-9]{4,5}-[0-9])(?![0-9])")
# What may follow an instrument's linkId prefix (from screening.yaml): a separator, maybe a word.
SEPARATOR = r"[-_./]"
ITEM_WORD = r"(?:(?:item|question|q)[-_.]?)?"
TOTAL_WORD = r"(?:score[-_.]?)?total(?:[-_.]?score)?"
# ASCII only: Unicode case folding would let `ſ` or the Kelvin sign stand for s or k.
LINK_FLAGS = re.IGNORECASE | re.ASCII
# A risk answer given as text ("3") is read too: the safety path reads what it can.
NUMERIC_TEXT = re.compile(r"[ ]*[+-]?[0-9]{1,6}(?:\.[0-9]{1,6})?[ ]*")


@dataclass(frozen=True)
class IntakeField:
    """An intake field that rides along with FHIR answers: where it goes, and how it is sent."""

    section: str | None  # "preferences", "risk", "location", "trauma", or None for the top level
    kind: str  # list, text, integer or yes_no
    # Health or personal data never travels in a URL (proxies and servers log URLs): such a
    # field is sent only in the body, as a parameter of a FHIR Parameters resource.
    in_query: bool
    key: str | None = None  # its name inside the section, when the parameter's name differs


INTAKE_FIELDS = {
    "difficulties": IntakeField(None, "list", in_query=False),
    "main_difficulty": IntakeField(None, "text", in_query=False),
    # When the trauma was, and whether it was combat-related (NG116): health data, body only.
    "trauma.since": IntakeField("trauma", "text", in_query=False, key="since"),
    "trauma.combat_related": IntakeField("trauma", "yes_no", in_query=False, key="combat_related"),
    "languages": IntakeField("preferences", "list", in_query=True),
    "times": IntakeField("preferences", "list", in_query=True),
    "format": IntakeField("preferences", "text", in_query=True),
    "setting": IntakeField("preferences", "text", in_query=True),
    "therapist_gender": IntakeField("preferences", "text", in_query=True),
    "city": IntakeField("preferences", "text", in_query=False),
    "age": IntakeField("preferences", "integer", in_query=False),
    "max_fee": IntakeField("preferences", "integer", in_query=False),
    "max_distance_km": IntakeField("preferences", "integer", in_query=False),
    "limit": IntakeField(None, "integer", in_query=True),
    "self_harm_thoughts": IntakeField("risk", "yes_no", in_query=False),
    # Access needs, an interpreter, affirming care and a shared identity say something about
    # health, disability, faith or orientation: in the body only.
    "access": IntakeField("preferences", "list", in_query=False),
    "interpreter": IntakeField("preferences", "text", in_query=False),
    "affirming": IntakeField("preferences", "list", in_query=False),
    "identity": IntakeField("preferences", "list", in_query=False),
    # Where the person will be during sessions: personal data, so in the body only.
    "location.country": IntakeField("location", "text", in_query=False, key="country"),
    "location.region": IntakeField("location", "text", in_query=False, key="region"),
    "location.city": IntakeField("location", "text", in_query=False, key="city"),
    "location.postcode": IntakeField("location", "text", in_query=False, key="postcode"),
}
RESPONSE_PARAMETER = "response"
NOT_IN_A_URL = (
    "Health and personal data do not belong in a URL (proxies log URLs): send this field in the "
    "body, as a parameter of a FHIR Parameters resource."
)
PARAMETER_VALUES = ("valueCode", "valueString", "valueInteger", "valueBoolean", "valueDecimal")


@dataclass
class FhirScreening:
    """Answers read from FHIR, shaped like the JSON intake's `screening`, and declared totals."""

    answers: dict[str, Any] = field(default_factory=dict)
    declared_totals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _LinkGrammar:
    numbered: re.Pattern[str] | None  # <prefix><separator>[item|q]<n>
    named: re.Pattern[str]  # [<prefix><separator>]total, ...score, ...difficulty
    owner: dict[str, str]  # prefix -> instrument id


@functools.lru_cache(maxsize=8)
def _grammar(prefixes: tuple[tuple[str, str], ...]) -> _LinkGrammar:
    # A prefix is followed by any one separator, unless it ends in the one it takes (`phq.`).
    spelled = [
        re.escape(prefix) if prefix[-1] in "-_./" else re.escape(prefix) + SEPARATOR
        for prefix, _ in sorted(prefixes, key=lambda pair: -len(pair[0]))  # `phq-phq9` first
    ]
    alternatives = "|".join(spelled)
    numbered = None
    named_prefix = ""
    if alternatives:
        numbered = re.compile(
            rf"/?(?P<prefix>{alternatives}){ITEM_WORD}0*(?P<n>[1-9][0-9]?)", LINK_FLAGS
        )
        named_prefix = rf"(?P<prefix>{alternatives})?"
    named = re.compile(rf"/?{named_prefix}(?P<word>{TOTAL_WORD}|score|difficulty)", LINK_FLAGS)
    return _LinkGrammar(numbered, named, {prefix: instrument for prefix, instrument in prefixes})


def _owner(grammar: _LinkGrammar, matched: str) -> str | None:
    """The instrument whose prefix `matched` (a prefix and its separator) spells."""
    spelled = matched.lower()
    return grammar.owner.get(spelled) or grammar.owner.get(spelled[:-1])


@dataclass(frozen=True)
class _Recogniser:
    """What one reading needs to recognise items: the configuration, LOINC table and linkIds."""

    config: ScreeningConfig
    by_loinc: dict[str, LinkTarget]
    grammar: _LinkGrammar

    @classmethod
    def of(cls, config: ScreeningConfig) -> _Recogniser:
        """Build the LOINC table and the linkId grammar of `config`."""
        by_loinc: dict[str, LinkTarget] = {}
        for instrument in config.instruments.values():
            for position, (loinc, _) in enumerate(instrument.items, start=1):
                by_loinc[loinc] = LinkTarget("item", instrument.id, position)
            by_loinc[instrument.loinc_total] = LinkTarget("total", instrument.id)
            if instrument.difficulty_loinc:
                by_loinc[instrument.difficulty_loinc] = LinkTarget("difficulty", instrument.id)
        prefixes = tuple(
            (prefix, instrument.id)
            for instrument in config.instruments.values()
            for prefix in instrument.link_id_prefixes
        )
        return cls(config, by_loinc, _grammar(prefixes))


@dataclass(frozen=True)
class _Where:
    """Where an item sits: built in O(1) per item, spelled out only for an error message."""

    parent: _Where | None
    step: str  # "item[3]" or "answer[0].item[1]", relative to the parent item
    link_id: Any

    def path(self, root: str) -> str:
        """The item's field path from `root`: `QuestionnaireResponse.item[0].item[2]`."""
        steps: list[str] = []
        where: _Where | None = self
        while where is not None:
            steps.append(where.step)
            where = where.parent
        return ".".join([root, *reversed(steps)])

    def link_ids(self) -> str:
        """The linkIds from the outermost item down to this one: `'mood' > 'phq9-3'`."""
        names: list[str] = []
        where: _Where | None = self
        while where is not None:
            names.append(repr(where.link_id) if isinstance(where.link_id, str) else "?")
            where = where.parent
        return " > ".join(reversed(names))


def _walk(items: Any) -> Iterator[tuple[Any, _Where]]:
    """Every item under `items`, nested ones too, in document order; without recursion."""
    stack: list[tuple[Any, _Where]] = []
    visited: set[int] = set()

    def push(children: Any, parent: _Where | None, step: str) -> None:
        if isinstance(children, list) and id(children) not in visited:
            visited.add(id(children))
            for index in range(len(children) - 1, -1, -1):
                child = children[index]
                link_id = child.get("linkId") if isinstance(child, dict) else None
                stack.append((child, _Where(parent, f"{step}[{index}]", link_id)))

    push(items, None, "item")
    while stack:
        node, where = stack.pop()
        yield node, where
        if not isinstance(node, dict) or id(node) in visited:
            continue
        visited.add(id(node))
        answers = node.get("answer")
        if isinstance(answers, dict):
            answers = [answers]
        if isinstance(answers, list):
            for index in range(len(answers) - 1, -1, -1):
                if isinstance(answers[index], dict):
                    push(answers[index].get("item"), where, f"answer[{index}].item")
        push(node.get("item"), where, "item")


def _codes(item: dict[str, Any]) -> list[str]:
    link_id = item.get("linkId")
    codes = LOINC_CODE.findall(link_id) if isinstance(link_id, str) else []
    codings = item.get("code")
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == LOINC_SYSTEM:
            code = coding.get("code")
            if isinstance(code, str):
                codes.append(code)
    return codes


def _identify(
    item: dict[str, Any], recogniser: _Recogniser, declared: Mapping[str, LinkTarget]
) -> LinkTarget | None:
    children = item.get("item")
    if isinstance(children, list) and children and not item.get("answer"):
        return None  # a group: its linkId (`phq-9`, `PHQ9`) names the questionnaire, not an item
    link = item.get("linkId")
    link = link if isinstance(link, str) else ""
    if link in declared:
        return declared[link]
    for code in _codes(item):
        if code in recogniser.by_loinc:
            return recogniser.by_loinc[code]
    return _numbered(link, recogniser) or _named(link, recogniser)


def _numbered(link: str, recogniser: _Recogniser) -> LinkTarget | None:
    grammar = recogniser.grammar
    found = grammar.numbered.fullmatch(link) if grammar.numbered else None
    instrument_id = _owner(grammar, found["prefix"]) if found else None
    if found is None or instrument_id is None:
        return None
    count = len(recogniser.config.instruments[instrument_id].items)
    position = int(found["n"])
    if position <= count:
        return LinkTarget("item", instrument_id, position)
    if position == count + 1:  # PHQ 10, GAD 8: "how difficult have these problems made it"
        return LinkTarget("difficulty", instrument_id)
    return None


def _named(link: str, recogniser: _Recogniser) -> LinkTarget | None:
    found = recogniser.grammar.named.fullmatch(link)
    if found is None:
        return None
    prefix = found.groupdict().get("prefix")
    instrument_id = (_owner(recogniser.grammar, prefix) or "") if prefix else ""
    word = found["word"].lower()
    if word in ("score", "difficulty"):
        if not instrument_id:
            return None  # a bare `score` or `difficulty` could belong to any questionnaire
        return LinkTarget("total" if word == "score" else "difficulty", instrument_id)
    return LinkTarget("total", instrument_id)  # an empty id is resolved once the items are known


def _declared_link_ids(canonical: Any, config: ScreeningConfig) -> dict[str, LinkTarget]:
    if not isinstance(canonical, str):
        return {}
    found = config.questionnaires.get(canonical)
    if found is None:
        found = config.questionnaires.get(canonical.split("|", 1)[0], {})
    return found


def _describe(target: LinkTarget, config: ScreeningConfig) -> str:
    instrument = config.instruments.get(target.instrument)
    if instrument is None:
        return "the total score"
    if target.kind == "item":
        return f"{instrument.name} item {target.position}"
    part = "difficulty question" if target.kind == "difficulty" else "total"
    return f"the {instrument.name} {part}"


def _answer_value(
    item: dict[str, Any],
    codes: Mapping[str, int],
    path: str,
    where: _Where,
    what: str,
) -> Any:
    answers = item.get("answer")
    if not answers:
        return None
    if not isinstance(answers, list) or not isinstance(answers[0], dict):
        raise IntakeError({f"{path}.answer": ["Must be a list of answer objects."]})
    if len(answers) > 1:
        raise IntakeError(
            {
                f"{path}.answer": [
                    f"linkId {where.link_ids()} is {what}, which does not repeat, but it has "
                    f"{len(answers)} answers: send one."
                ]
            }
        )
    answer = answers[0]
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        if isinstance(code, str) and code in codes:
            return codes[code]
        ordinals = _ordinal_extensions(coding)
        if ordinals:
            return _number(_ordinal(ordinals[0]))
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


def _ordinal_extensions(element: dict[str, Any]) -> list[dict[str, Any]]:
    extensions = element.get("extension")
    return [
        extension
        for extension in (extensions if isinstance(extensions, list) else [])
        if isinstance(extension, dict)
        and isinstance(extension.get("url"), str)
        and extension["url"] in ORDINAL_EXTENSIONS
    ]


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
        entries = resource.get("entry")
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
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
    recogniser = _Recogniser.of(config)
    items: dict[str, dict[int, Any]] = {}
    difficulties: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    seen: dict[tuple[str, str, int], str] = {}
    for response, prefix in _responses(resource):
        if not isinstance(response.get("item", []), list):
            raise IntakeError({f"{prefix}.item": ["Must be a list."]})
        declared = _declared_link_ids(response.get("questionnaire"), config)
        for item, where in _walk(response.get("item")):
            path = where.path(prefix)
            if not isinstance(item, dict):
                raise IntakeError({path: ["Each item must be an object."]})
            target = _identify(item, recogniser, declared)
            if target is None:
                continue
            key = (target.kind, target.instrument, target.position)
            if key in seen:
                raise IntakeError({path: [f"The same question also appears at {seen[key]}."]})
            seen[key] = path
            what = _describe(target, config)
            if target.kind == "item":
                items.setdefault(target.instrument, {})[target.position] = _answer_value(
                    item, config.answer_codes, path, where, what
                )
            elif target.kind == "difficulty":
                difficulties[target.instrument] = _answer_value(
                    item, config.difficulty_answer_codes, path, where, what
                )
            else:
                totals[target.instrument] = _answer_value(item, {}, path, where, what)
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


# --- the safety path: read before, and apart from, any validation ------------------------------


def item9_risk(resource: Any, config: ScreeningConfig) -> int | None:
    """The highest answer (0-3) to a risk item (PHQ-9 item 9) anywhere in `resource`, or None.

    Never raises, whatever it is given: it runs before validation. Every answer of every item 9
    counts, wherever it sits (a Bundle's responses, nested Bundles, contained resources,
    Parameters), also where nothing else is recognised. An answer is read by its LOINC answer
    code, ordinal extension or number; above 3 counts as 3, a fraction rounds up (0.5 is above
    0), and one that cannot be read, or is below 0, counts as nothing.
    """
    risk_items = {
        (instrument.id, instrument.risk_item)
        for instrument in config.instruments.values()
        if instrument.risk_item
    }
    recogniser = _Recogniser.of(config)
    highest: int | None = None
    # One pass over every object, without recursion; each carries the canonical URL of the
    # QuestionnaireResponse it sits in, for the clinic's declared linkIds.
    stack: list[tuple[Any, str | None]] = [(resource, None)]
    visited: set[int] = set()
    while stack:
        node, questionnaire = stack.pop()
        if not isinstance(node, dict | list) or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, list):
            stack.extend((child, questionnaire) for child in node)
            continue
        if isinstance(node.get("questionnaire"), str):
            questionnaire = node["questionnaire"]
        stack.extend((child, questionnaire) for child in node.values())
        if "answer" not in node:
            continue
        target = _identify(node, recogniser, _declared_link_ids(questionnaire, config))
        if target is None or (target.instrument, target.position) not in risk_items:
            continue
        answers = node["answer"]
        for answer in answers if isinstance(answers, list) else [answers]:
            value = _risk_value(answer, config.answer_codes)
            if value is not None and (highest is None or value > highest):
                highest = value
    return highest


def _risk_value(answer: Any, codes: Mapping[str, int]) -> int | None:
    """The highest value one answer gives, by answer code, ordinal extension or number."""
    if not isinstance(answer, dict):
        return None
    found: list[int | None] = []
    coding = answer.get("valueCoding")
    if isinstance(coding, dict):
        code = coding.get("code")
        if isinstance(code, str):
            found.append(codes.get(code))
        found.extend(_risk_number(_ordinal(e)) for e in _ordinal_extensions(coding))
    found.extend(_risk_number(_ordinal(e)) for e in _ordinal_extensions(answer))
    found.append(_risk_number(answer.get("valueInteger")))
    found.append(_risk_number(answer.get("valueDecimal")))
    quantity = answer.get("valueQuantity")
    if isinstance(quantity, dict):
        found.append(_risk_number(quantity.get("value")))
    values = [value for value in found if value is not None]
    return max(values) if values else None


def _ordinal(extension: dict[str, Any]) -> Any:
    return extension.get("valueDecimal", extension.get("valueInteger"))


def _risk_number(value: Any) -> int | None:
    """A risk answer on the 0-3 scale: above 3 is 3, a fraction rounds up, below 0 is nothing."""
    if isinstance(value, str) and NUMERIC_TEXT.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value < 0:
        return None
    # Fail closed: 0.5 is "above 0", and 7 on a 0-3 item is at least "nearly every day".
    return min(math.ceil(value), 3)


def _place(intake: dict[str, Any], name: str, value: Any) -> None:
    field = INTAKE_FIELDS[name]
    target = intake.setdefault(field.section, {}) if field.section else intake
    key = field.key or name
    if field.kind == "list":
        target.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    else:
        target[key] = value


def _from_text(field: IntakeField, raw: str) -> Any:
    if field.kind == "list":
        return [v.strip() for v in raw.split(",") if v.strip()]
    if field.kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d{1,9}", raw) else raw
    if field.kind == "yes_no":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def intake_from_query(args: Mapping[str, str]) -> dict[str, Any]:
    """The intake fields a URL may carry (`?languages=es,en&format=online`): ids, no health data."""
    intake: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, raw in args.items():
        field = INTAKE_FIELDS.get(name)
        if field is None:
            errors[name] = ["Unknown query parameter."]
        elif not field.in_query:
            errors[name] = [NOT_IN_A_URL]
        else:
            _place(intake, name, _from_text(field, raw))
    if errors:
        raise IntakeError(errors)
    return intake


def split_parameters(resource: Any) -> tuple[dict[str, Any], Any]:
    """Split a FHIR Parameters body into intake fields and the answers' resource.

    A body that is not a Parameters resource is the answers themselves, with no fields. In a
    Parameters resource, each `response` parameter holds a QuestionnaireResponse (or a Bundle),
    and the other parameters are intake fields named like the JSON intake's, with a value[x]
    (repeated for lists: one `difficulties` parameter per difficulty).
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        return {}, resource
    parameters = resource.get("parameter")
    if not isinstance(parameters, list):
        raise IntakeError({"Parameters.parameter": ["Must be a list of parameters."]})
    intake: dict[str, Any] = {}
    responses: list[Any] = []
    errors: dict[str, list[str]] = {}
    for index, parameter in enumerate(parameters):
        path = f"Parameters.parameter[{index}]"
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if name == RESPONSE_PARAMETER:
            responses.append(parameter.get("resource"))
            continue
        field = INTAKE_FIELDS.get(name) if isinstance(name, str) else None
        values = [parameter[k] for k in PARAMETER_VALUES if k in parameter] if name else []
        if field is None:
            errors[path] = [f"Unknown parameter {name!r}: expected response or an intake field."]
            continue
        if len(values) != 1:
            errors[path] = [f"Parameter {name!r} needs exactly one value[x]."]
            continue
        placed = intake.get(field.section, {}) if field.section else intake
        if field.kind != "list" and (field.key or name) in placed:
            errors[path] = [f"Parameter {name!r} is given twice."]
            continue
        value = values[0]
        if isinstance(value, str) and field.kind != "list":
            value = _from_text(field, value)
        _place(intake, str(name), value)
    if not responses:
        errors["Parameters.parameter"] = [
            f"No {RESPONSE_PARAMETER!r} parameter holds a QuestionnaireResponse."
        ]
    if errors:
        raise IntakeError(errors)
    if len(responses) == 1:
        return intake, responses[0]
    bundle = {"resourceType": "Bundle", "entry": [{"resource": r} for r in responses]}
    return intake, bundle


def self_harm_parameter(resource: Any) -> Any:
    """The value of a Parameters body's `self_harm_thoughts` parameter, or None; never raises."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Parameters":
        return None
    parameters = resource.get("parameter")
    for parameter in parameters if isinstance(parameters, list) else []:
        if isinstance(parameter, dict) and parameter.get("name") == "self_harm_thoughts":
            for key in PARAMETER_VALUES:
                if key in parameter:
                    return parameter[key]
    return None

"""Risk signals read from a request's raw input, before and apart from any validation.

Whatever else is wrong with a request, a person who says they have thought of harming themselves
must get the safety path. So these readers take any value at all (the parsed JSON of a body that
fails validation, or the text of one that does not even parse) and never raise: they look only
for the answers that signal risk, and leave every other judgement to validation.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rules.py validates with schemas.py, which reads yes/no answers from here
    from matcher.rules import ScreeningConfig

SELF_HARM = "self_harm_thoughts"
# The answers to "have you had thoughts of harming yourself?" that mean yes and no. The form
# sends "yes"/"no"; API clients send booleans, and some send 1/0 or "true"/"false". Anything
# else is refused by validation (and is no risk signal on its own).
YES = frozenset({"true", "yes", "1"})
NO = frozenset({"false", "no", "0"})
# How far past an item's LOINC code the text scan looks for its answer, in characters.
TEXT_WINDOW = 600


def yes_no(value: Any) -> bool | None:
    """True or False for an accepted yes/no answer (true, "yes", 1 ...), None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES:
            return True
        if word in NO:
            return False
    return None


def risk_item_signal(instrument: str, item: int) -> str:
    """The name of the signal a risk item above 0 raises: phq9_item9."""
    return f"{instrument}_item{item}"


def _positive(value: Any) -> bool:
    # Any positive answer counts, even one out of range: a 5 on item 9 is invalid, not safe.
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, str):
        try:
            return float(value.strip()) > 0
        except ValueError:
            return False
    return False


def _ordered(signals: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(signals))


# How much of a request the readers walk: far more than any intake, bounded for hostile ones.
WALK_LIMIT = 20_000


def _objects(raw: Any) -> Iterable[dict[str, Any]]:
    """Every object inside `raw`, at any depth (a bounded walk that never recurses).

    Parsed JSON is made of dicts and lists only: concrete types keep this cheap on every request.
    """
    stack, seen = [raw], 0
    while stack and seen < WALK_LIMIT:
        node = stack.pop()
        seen += 1
        if type(node) is dict:
            yield node
            stack.extend(v for v in node.values() if type(v) is dict or type(v) is list)
        elif type(node) is list:
            stack.extend(v for v in node if type(v) is dict or type(v) is list)


def in_intake(
    raw: Any, config: ScreeningConfig, risk_difficulties: Collection[str] = ()
) -> tuple[str, ...]:
    """Signals in a JSON intake as sent: a risk item above 0, a yes to self-harm, a risk difficulty.

    Reads the raw value, valid or not; an incomplete questionnaire still counts its risk item.
    An answer in the wrong place counts too (a `self_harm_thoughts` outside `risk`, a `phq9` list
    outside `screening`): validation refuses it, and the person still gets the safety path.
    """
    if not isinstance(raw, Mapping):
        return ()
    items: set[str] = set()
    self_harm = False
    risky_items = [(i.id, i.risk_item) for i in config.instruments.values() if i.risk_item]
    for node in _objects(raw):
        for instrument, item in risky_items:
            answers = node.get(instrument)
            if isinstance(answers, list) and len(answers) >= item:
                if _positive(answers[item - 1]):
                    items.add(risk_item_signal(instrument, item))
        if SELF_HARM in node and yes_no(node[SELF_HARM]) is True:
            self_harm = True
    # Always in one order (questionnaires, then the question, then difficulties): same intake,
    # same triggers, same bytes.
    signals = [risk_item_signal(i, n) for i, n in risky_items if risk_item_signal(i, n) in items]
    if self_harm:
        signals.append(SELF_HARM)
    difficulties = raw.get("difficulties")
    if risk_difficulties and isinstance(difficulties, list):
        signals.extend(d for d in difficulties if isinstance(d, str) and d in risk_difficulties)
    return _ordered(signals)


def in_text(text: str, config: ScreeningConfig) -> tuple[str, ...]:
    """Signals in a body that could not be parsed (malformed JSON, too large): a lenient scan.

    Finds `"self_harm_thoughts": true` (or `self_harm_thoughts=yes` in a form), a risk item
    above 0 in a JSON answer list (`"phq9": [.., 2]`) or a form field (`phq9-9=2`), and a FHIR
    item with the risk item's LOINC code followed by an answer above 0.
    """
    signals: list[str] = []
    for instrument in config.instruments.values():
        item = instrument.risk_item
        if not item:
            continue
        signal = risk_item_signal(instrument.id, item)
        name = re.escape(instrument.id)
        for found in re.finditer(rf'"{name}"\s*:\s*\[([^\[\]]*)', text):
            answers = found.group(1).split(",")
            if len(answers) >= item and _positive(answers[item - 1].strip().strip('"')):
                signals.append(signal)
        for found in re.finditer(rf"(?:^|&){name}-{item}=([^&]*)", text):
            if _positive(found.group(1)):
                signals.append(signal)
        loinc = re.escape(instrument.items[item - 1][0])
        positive_codes = [re.escape(c) for c, v in config.answer_codes.items() if v > 0]
        answer = re.compile(
            r'"(?:' + "|".join(positive_codes) + r')"'
            r'|"value(?:Integer|Decimal)"\s*:\s*"?[1-9]'
        )
        for found in re.finditer(loinc, text):
            if answer.search(text, found.end(), found.end() + TEXT_WINDOW):
                signals.append(signal)
    for found in re.finditer(rf'"?{SELF_HARM}"?\s*[:=]\s*"?([A-Za-z0-9]+)', text):
        if yes_no(found.group(1)) is True:
            signals.append(SELF_HARM)
    return _ordered(signals)


def combine(*groups: Iterable[str]) -> tuple[str, ...]:
    """Several readers' signals as one, in the order first found, without repeats."""
    return _ordered(signal for group in groups for signal in group)

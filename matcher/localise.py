"""The clinical texts in other languages: rules/translations/<language>.yaml, beside the English.

The English files stay the source (other people edit them); each translation file names the
English file, then the entry by its id, then the field, and holds the translated words only:

    vocabulary.yaml:
      difficulties:
        anxiety: {label: "Preocupación y ansiedad", phrase: ..., description: ...}
    clinical:
      ptsd.emdr: "EMDR ayuda a reprocesar ..."          # a rule's rationale, by rule id
    precedence:
      placement: {leading_only: ...}                    # why a modality is where it is
    matching.yaml:
      hard_constraints: {language: {requirement: ..., passed: ..., failed: ...}}
      outcomes: {language: {signs: ...}}      # a constraint's outcomes, by constraint id
    gazetteer.yaml:
      describe: {city: "{name} (centro de la ciudad, no su dirección)", ...}
    payment.yaml:
      network_statuses: {in_network: "concertado", ...}
      schemes:
        nl_basic: {label: ..., network_words: {in_network: ...}}   # a scheme's words, by id
    care_routes.yaml:
      routes:
        route.psychosis: {text: ..., local: {GB: ...}}   # a route's words, by route id

A text missing from a translation is the English, marked `Untranslated` (the page says
lang="en" on it, the API `"fallback": true`), never an empty string or a key. The Translator
lists each one as (file, entry, field, language) for `matcher check`. A translation that cannot
be used is treated the same way, with its problem named: malformed braces ("{name"), or
placeholders other than the English's (a template's must be exactly the English ones).

Each translation knows the English it was made from: rules/translations/made_from/<language>.yaml
holds, per text, a fingerprint of that English and of the translation, written by `matcher
translations record` (after review). A translation whose English changed since, and which was
not edited since, is stale: `matcher check` names it ("English changed since this was
translated") and the service shows today's English, marked, as for a missing one. The English
may now say something else (a number to call, whether a treatment is first-line): the person
reads what the clinic says today, in English, rather than what it said before in their own
language. A translation with no record (new, or edited since) is taken to translate today's
English, so that translations added on other branches merge without one; `matcher translations
record --new` records them. The record is a separate file, one sorted line per text, so that
the translation files keep their layout and two branches adding texts rarely meet in it.

Questionnaires (PHQ-9, GAD-7) are translated only in official wording: a translation of one
must name its `source` and `attribution`, and cover every item by LOINC code. Without one the
questionnaire is shown in English, with a note in the person's language.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from matcher.care_routes import CARE_ROUTES_FILE, CareRoutes, Route
from matcher.errors import ConfigError
from matcher.gazetteer import GAZETTEER_FILE
from matcher.payment import PAYMENT_FILE, PaymentConfig
from matcher.rules import (
    CLINICAL_DIR,
    CRISIS_FILE,
    MADE_FROM_DIR,
    MATCHING_FILE,
    SCREENING_FILE,
    VOCABULARY_FILE,
    CrisisConfig,
    Instrument,
    Knowledge,
    MatchingConfig,
    ScreeningConfig,
    Vocabulary,
)
from matcher.yamlfile import load_yaml

TRANSLATIONS_DIR = "translations"
# Where the precedence is written (any clinical file may hold it; the bundled rules keep it here).
PRECEDENCE_FILE = "clinical/co_occurring.yaml"
CHECKLIST_FILE = "checklist.yaml"


class Untranslated(str):
    """English words standing in for a translation that is missing."""

    __slots__ = ()


def is_fallback(text: object) -> bool:
    """Whether a text is the English standing in for a missing translation."""
    return isinstance(text, Untranslated)


@dataclass(frozen=True)
class Missing:
    """One text an enabled language lacks or cannot use: which file, entry and field, and why.

    `problem` is None for a text that is simply missing; otherwise what is wrong with the one
    that is there (its braces, or an English changed since it was translated).
    """

    file: str
    entry: str
    field: str
    language: str
    problem: str | None = None

    def __str__(self) -> str:
        where = f"{TRANSLATIONS_DIR}/{self.language}.yaml: {self.file}: {self.entry}: {self.field}"
        if self.problem is None:
            return f"{where}: missing in {self.language}"
        return f"{where}: {self.language}: {self.problem}"


def _placeholders(text: str) -> set[str]:
    """Each {placeholder} of a template as written, conversion and format included."""
    return {
        "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    }


def placeholder_problem(translation: str, english: str) -> str | None:
    """What is wrong with a translation's {placeholders}, or None when they are the English's."""
    try:
        used = _placeholders(translation)
    except ValueError as exc:  # "{name" or a lone "}": str.format would raise the same
        return f"malformed braces ({exc}); a placeholder is written {{name}}, a brace {{{{ or }}}}"
    try:
        wanted = _placeholders(english)
    except ValueError:
        return None  # English that is no template is never formatted: its braces are words
    if used == wanted:
        return None
    named = ", ".join(sorted(wanted)) or "none"
    wrong = [f"{p} is not in the English" for p in sorted(used - wanted)]
    wrong += [f"{p} is missing" for p in sorted(wanted - used)]
    return f"placeholders must be the English ones ({named}): {'; '.join(wrong)}"


@dataclass(frozen=True)
class Questionnaire:
    """An official translation of one questionnaire: its wording, source and attribution."""

    source: str
    attribution: str
    stem: str
    items: dict[str, str]  # LOINC code -> wording
    answers: tuple[str, ...]
    difficulty_text: str | None
    difficulty_answers: tuple[str, ...]


# What a translation whose English changed since it was translated is called, by check and docs.
ENGLISH_CHANGED = "English changed since this was translated"


def fingerprint(text: str) -> str:
    """A short fingerprint of a text, to notice that it changed (not to keep it secret)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def record_key(path: Iterable[str]) -> str:
    """A text's key in a made_from record: its path in the translation file, joined by '/'."""
    return "/".join(str(key) for key in path)


# A made_from record: text key -> (the English's fingerprint, the translation's fingerprint).
MadeFrom = Mapping[str, tuple[str, str]]


class Translator:
    """Looks up one language's texts for one English file, recording what is missing.

    With the language's made_from record, a translation whose English changed since it was
    recorded (and which was not edited since) is stale: the English, marked, and named like a
    missing one. A translation with no record yet (new, or edited since) is taken to be made
    from today's English; `unrecorded` lists them for `matcher translations record`.
    """

    def __init__(
        self,
        table: Mapping[str, Any],
        language: str,
        display: str,
        made_from: MadeFrom | None = None,
    ) -> None:
        self.table = table
        self.language = language
        self.display = display  # the translation file as people name it, for errors
        self.made_from: MadeFrom = made_from or {}
        self.missing: list[Missing] = []
        # Every usable translation looked up: key -> (English, translation) fingerprints.
        self.seen: dict[str, tuple[str, str]] = {}

    def text(self, file: str, entry: str, path: Iterable[str], english: str, field: str) -> str:
        """The translation at `path` in the table, or the English marked Untranslated."""
        if not english:
            return english
        path = tuple(path)
        node: Any = self.table
        for key in path:
            if not isinstance(node, Mapping):
                node = None
                break
            # YAML reads `1:` as a number: a numbered step may be written either way.
            node = node.get(key, node.get(int(key)) if key.isdigit() else None)
        if isinstance(node, str) and node.strip():
            problem = placeholder_problem(node, english)
            if problem is not None:
                # Never a failed page: the English (marked) until the translation is fixed;
                # `matcher check` names the problem.
                self.missing.append(Missing(file, entry, field, self.language, problem))
                return Untranslated(english)
            key = record_key(path)
            made = (fingerprint(english), fingerprint(node))
            self.seen[key] = made
            recorded = self.made_from.get(key)
            if recorded is not None and recorded[1] == made[1] and recorded[0] != made[0]:
                # The English may now say something else (a number, a first-line treatment):
                # the person reads what the clinic says today, in English, until reviewed.
                self.missing.append(Missing(file, entry, field, self.language, ENGLISH_CHANGED))
                return Untranslated(english)
            return node
        self.missing.append(Missing(file, entry, field, self.language))
        return Untranslated(english)

    def texts(self, file: str, group: str, english: Mapping[str, str]) -> dict[str, str]:
        """A table of texts by key (`group: key: text` in `file`), each in this language."""
        return {
            key: self.text(file, group, (file, group, key), text, key)
            for key, text in english.items()
        }

    def unrecorded(self) -> list[str]:
        """The keys of usable translations the made_from record does not hold as they are."""
        return sorted(
            key
            for key, made in self.seen.items()
            if self.made_from.get(key, ("", ""))[1] != made[1]
        )


# --- the parts of Knowledge ---------------------------------------------------------------------

# The fields of a vocabulary group's terms that people read, as the YAML names them.
TERM_FIELDS = {
    "modalities": {"label": "name", "description": "description"},
    # The forms' choices: their labels. Their phrases build the explanations' sentences, which
    # translate with matching.yaml's templates (and stay English inside them for now).
    "access": {"label": "label"},
    "affirming": {"label": "label"},
    "identities": {"label": "label"},
}
DEFAULT_TERM_FIELDS = {"label": "label", "phrase": "phrase", "description": "description"}


def _vocabulary(vocabulary: Vocabulary, t: Translator) -> Vocabulary:
    groups: dict[str, Any] = {}
    for group in (
        "difficulties",
        "modalities",
        "settings",
        "formats",
        "times",
        "genders",
        "trauma_details",
        "licence_types",
        "instruments",
        "access",
        "affirming",
        "identities",
    ):
        fields = TERM_FIELDS.get(group, DEFAULT_TERM_FIELDS)
        terms = {}
        for term in getattr(vocabulary, group).values():
            changes = {
                attribute: t.text(
                    VOCABULARY_FILE,
                    f"{group} {term.id!r}",
                    (VOCABULARY_FILE, group, term.id, yaml_name),
                    getattr(term, attribute),
                    yaml_name,
                )
                for attribute, yaml_name in fields.items()
            }
            terms[term.id] = replace(term, **changes)
        groups[group] = terms
    places = vocabulary.gazetteer
    if places is not None:  # where a distance is measured from: "central Madrid (...)"
        describe = t.texts(GAZETTEER_FILE, "describe", places.describe)
        groups["gazetteer"] = replace(places, describe=describe)
    if vocabulary.payment is not None:
        groups["payment"] = _payment(vocabulary.payment, t)
    return replace(vocabulary, **groups)


def _payment(payment: PaymentConfig, t: Translator) -> PaymentConfig:
    """Schemes' labels and the network words; payers keep the names they call themselves."""
    statuses = t.texts(PAYMENT_FILE, "network_statuses", payment.network_statuses)
    schemes = {}
    for scheme in payment.schemes.values():
        path = (PAYMENT_FILE, "schemes", scheme.id)
        entry = f"scheme {scheme.id!r}"
        schemes[scheme.id] = replace(
            scheme,
            label=t.text(PAYMENT_FILE, entry, (*path, "label"), scheme.label, "label"),
            network_words={
                status: t.text(
                    PAYMENT_FILE,
                    entry,
                    (*path, "network_words", status),
                    words,
                    f"network_words: {status}",
                )
                for status, words in scheme.network_words.items()
            },
        )
    return replace(payment, network_statuses=statuses, schemes=schemes)


def _matching(matching: MatchingConfig, t: Translator) -> MatchingConfig:
    def each(kind: str, items: Iterable[Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(
            replace(
                item,
                **{
                    name: t.text(
                        MATCHING_FILE,
                        f"{kind} {item.id!r}",
                        (MATCHING_FILE, kind, item.id, name),
                        getattr(item, name),
                        name,
                    )
                    for name in fields
                },
            )
            for item in items
        )

    def outcomes(item: Any) -> Any:
        # Beside the constraints' own texts, under `outcomes: <constraint id>: <outcome>`.
        worded = {
            name: t.text(
                MATCHING_FILE,
                f"hard_constraints {item.id!r}",
                (MATCHING_FILE, "outcomes", item.id, name),
                english,
                f"outcomes: {name}",
            )
            for name, english in item.outcomes.items()
        }
        return replace(item, outcomes=worded)

    hard = each("hard_constraints", matching.hard_constraints, ("requirement", "passed", "failed"))
    return replace(
        matching,
        staff_review=t.text(
            MATCHING_FILE,
            "staff_review",
            (MATCHING_FILE, "staff_review"),
            matching.staff_review,
            "staff_review",
        ),
        hard_constraints=tuple(outcomes(item) for item in hard),
        relaxations=each("relaxations", matching.relaxations, ("text",)),
        soft_preferences=each(
            "soft_preferences", matching.soft_preferences, ("label", "met", "missed")
        ),
    )


def _crisis(crisis: CrisisConfig, t: Translator) -> CrisisConfig:
    def text(path: tuple[str, ...], english: str) -> str:
        return t.text(CRISIS_FILE, ".".join(path), (CRISIS_FILE, *path), english, path[-1])

    locales: dict[str, dict[str, Any]] = {}
    for country, entry in crisis.locales.items():
        resources = []
        for resource in entry["resources"]:
            translated = dict(resource)
            for name in ("note", "contact", "hours"):
                english = str(resource.get(name) or "")
                # A number alone ("988", "24/7") reads the same in every language.
                if any(character.isalpha() for character in english):
                    translated[name] = text(
                        ("locales", country, str(resource["name"]), name), english
                    )
            # A service's own name is kept as it is known locally, unless translated.
            given = t.table.get(CRISIS_FILE, {}).get("locales", {}).get(country, {})
            own = given.get(str(resource["name"]), {}) if isinstance(given, Mapping) else {}
            if isinstance(own, Mapping) and isinstance(own.get("name"), str):
                translated["name"] = own["name"]
            resources.append(translated)
        locales[country] = {**entry, "resources": resources}
    return replace(
        crisis,
        message=text(("message",), crisis.message),
        follow_up=text(("follow_up",), crisis.follow_up),
        emergency_template=text(("emergency_template",), crisis.emergency_template),
        review_notice=text(("review_notice",), crisis.review_notice),
        no_list=text(("no_list",), crisis.no_list),
        fallback_emergency=text(("fallback", "emergency"), crisis.fallback_emergency),
        fallback_text=text(("fallback", "text"), crisis.fallback_text),
        contact_promise={
            key: text(("contact_promise", key), value)
            for key, value in crisis.contact_promise.items()
        },
        staff_protocol_steps=tuple(
            t.text(
                CRISIS_FILE,
                f"staff_protocol step {number}",
                (CRISIS_FILE, "staff_protocol", "steps", str(number)),
                step,
                "text",
            )
            for number, step in enumerate(crisis.staff_protocol_steps, 1)
        ),
        on_call_unset=text(("staff_protocol", "on_call_unset"), crisis.on_call_unset),
        locales=locales,
    )


def _care_routes(care_routes: CareRoutes, t: Translator) -> CareRoutes:
    def text(path: tuple[str, ...], english: str, entry: str, field: str) -> str:
        return t.text(CARE_ROUTES_FILE, entry, (CARE_ROUTES_FILE, *path), english, field)

    def route(item: Route, path: tuple[str, ...], entry: str) -> Route:
        local = {
            country: text((*path, "local", country), words, entry, f"local {country}")
            for country, words in (item.local or {}).items()
        }
        return replace(
            item,
            text=text((*path, "text"), item.text, entry, "text"),
            local=local or item.local,
        )

    return replace(
        care_routes,
        self_match=route(care_routes.self_match, ("self_match",), "self_match"),
        routes=tuple(
            route(item, ("routes", item.id), f"route {item.id!r}") for item in care_routes.routes
        ),
        review_caveat=text(("review_caveat",), care_routes.review_caveat, "review_caveat", "text"),
        about_age=text(("about_age",), care_routes.about_age, "about_age", "text"),
    )


def official_questionnaire(
    table: Mapping[str, Any], instrument: Instrument, display: str
) -> Questionnaire | None:
    """The official translation of a questionnaire in a translation file, or None.

    One that is there must be whole and say where it comes from: a partial or unattributed
    questionnaire is refused, never mixed with English items.
    """
    given = table.get(SCREENING_FILE, {}).get("questionnaires", {}).get(instrument.id)
    if given is None:
        return None
    where = f"{SCREENING_FILE}: questionnaires: {instrument.id}"
    if not isinstance(given, Mapping):
        raise ConfigError(display, f"{where}: must be a mapping")
    for required in ("source", "attribution", "stem", "items", "answers"):
        if not given.get(required):
            raise ConfigError(display, f"{where}: {required} is required (official wording only)")
    items = given["items"]
    codes = [code for code, _ in instrument.items]
    if not isinstance(items, Mapping) or sorted(items) != sorted(codes):
        raise ConfigError(
            display, f"{where}: items must be keyed by LOINC code: {', '.join(codes)}"
        )
    return Questionnaire(
        source=str(given["source"]),
        attribution=str(given["attribution"]),
        stem=str(given["stem"]),
        items={str(code): str(text) for code, text in items.items()},
        answers=tuple(given["answers"]),
        difficulty_text=given.get("difficulty_text"),
        difficulty_answers=tuple(given.get("difficulty_answers") or ()),
    )


def _screening(screening: ScreeningConfig, t: Translator) -> ScreeningConfig:
    """Severity words translated; each questionnaire in its official translation, or English.

    A questionnaire without one keeps its English wording, marked Untranslated, so that the
    page says it is in English (with a note in the person's language): never our own wording.
    """
    instruments: dict[str, Instrument] = {}
    official: list[Questionnaire] = []
    for instrument in screening.instruments.values():
        found = official_questionnaire(t.table, instrument, t.display)
        if found is None:
            instruments[instrument.id] = replace(
                instrument,
                stem=Untranslated(instrument.stem),
                items=tuple((code, Untranslated(text)) for code, text in instrument.items),
                difficulty_text=(
                    Untranslated(instrument.difficulty_text) if instrument.difficulty_text else None
                ),
            )
            continue
        official.append(found)
        instruments[instrument.id] = replace(
            instrument,
            stem=found.stem,
            items=tuple((code, found.items[code]) for code, _ in instrument.items),
            difficulty_text=found.difficulty_text or instrument.difficulty_text,
        )
    # PHQ-9 and GAD-7 share one answer scale: translated only when every questionnaire is.
    whole = official and len(official) == len(screening.instruments)
    return replace(
        screening,
        instruments=instruments,
        answers=official[0].answers if whole else screening.answers,
        difficulty_answers=(
            official[0].difficulty_answers or screening.difficulty_answers
            if whole
            else screening.difficulty_answers
        ),
        severity_labels=t.texts(SCREENING_FILE, "severity_labels", screening.severity_labels),
    )


def localise(knowledge: Knowledge, t: Translator) -> Knowledge:
    """The knowledge with its texts in t's language; what is missing stays English, marked.

    What is missing or unusable is in `t.missing` afterwards, what was used in `t.seen`.
    """
    rules = tuple(
        replace(
            rule,
            rationale=t.text(
                rule.file.split("/", 1)[-1],
                f"rule {rule.id!r}",
                (CLINICAL_DIR, rule.id),
                rule.rationale,
                "rationale",
            ),
        )
        for rule in knowledge.rules
    )
    precedence = knowledge.precedence
    # Why a modality is where it is, and the setting decision's sentences: the person reads them.
    worded = {
        group: {
            kind: t.text(
                PRECEDENCE_FILE, "precedence", ("precedence", group, kind), text, f"{group}: {kind}"
            )
            for kind, text in getattr(precedence, group).items()
        }
        for group in ("placement", "setting_texts")
    }
    localised = replace(
        knowledge,
        precedence=replace(
            precedence, placement=worded["placement"], setting_texts=worded["setting_texts"]
        ),
        vocabulary=_vocabulary(knowledge.vocabulary, t),
        rules=rules,
        matching=_matching(knowledge.matching, t),
        crisis=_crisis(knowledge.crisis, t),
        screening=_screening(knowledge.screening, t),
        care_routes=_care_routes(knowledge.care_routes, t),
    )
    return localised


def checklist_texts(
    questions: Iterable[tuple[str, str]], headings: Mapping[str, str], t: Translator
) -> tuple[dict[str, str], dict[str, str]]:
    """The checklist's questions (id -> text) and headings in t's language (missing: t.missing)."""
    texts = {
        qid: t.text(
            CHECKLIST_FILE, f"question {qid!r}", (CHECKLIST_FILE, "questions", qid), text, "text"
        )
        for qid, text in questions
    }
    titled = t.texts(CHECKLIST_FILE, "headings", headings)
    return texts, titled


def translation_files(rules_dir: Path) -> dict[str, tuple[Mapping[str, Any], str]]:
    """Each language's translation table from rules/translations/<language>.yaml, with its name."""
    folder = rules_dir / TRANSLATIONS_DIR
    base = rules_dir.name or str(rules_dir)
    tables: dict[str, tuple[Mapping[str, Any], str]] = {}
    if not folder.is_dir():
        return tables
    for path in sorted(folder.glob("*.yaml")):
        display = f"{base}/{TRANSLATIONS_DIR}/{path.name}"
        data = load_yaml(path, display)
        if not isinstance(data, Mapping):
            raise ConfigError(display, "must be a mapping of English file -> entries")
        if data.get("language") != path.stem:
            raise ConfigError(display, f"language: must say {path.stem!r}, the file's name")
        tables[path.stem] = (data, display)
    return tables


def made_from_files(rules_dir: Path) -> dict[str, dict[str, tuple[str, str]]]:
    """Each language's made_from record, from rules/translations/made_from/<language>.yaml."""
    folder = rules_dir / TRANSLATIONS_DIR / MADE_FROM_DIR
    base = rules_dir.name or str(rules_dir)
    records: dict[str, dict[str, tuple[str, str]]] = {}
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.yaml")):
        display = f"{base}/{TRANSLATIONS_DIR}/{MADE_FROM_DIR}/{path.name}"
        data = load_yaml(path, display)
        if not isinstance(data, Mapping) or data.get("language") != path.stem:
            raise ConfigError(display, f"must say language: {path.stem!r} and list texts:")
        texts = data.get("texts") or {}
        if not isinstance(texts, Mapping):
            raise ConfigError(display, "texts: must map each text's key to its fingerprints")
        record = {}
        for key, value in texts.items():
            parts = value.split() if isinstance(value, str) else []
            if len(parts) != 2:
                raise ConfigError(
                    display,
                    f"texts: {key!r}: must be two fingerprints, the English's and the "
                    f"translation's (rewrite the file with `matcher translations record`)",
                )
            record[str(key)] = (parts[0], parts[1])
        records[path.stem] = record
    return records


MADE_FROM_HEADER = """\
# What each text of rules/translations/{language}.yaml was translated from: per text (its path in
# that file), a fingerprint of the English it was made from, then one of the translation as it
# was (the first 12 hex digits of each one's SHA-256). `matcher check` reports a translation whose
# English has changed since ("English changed since this was translated") and the service shows
# the English, marked, for it. Written by `matcher translations record` after review; a text not
# listed here (new, or edited since) is taken to translate today's English. Not edited by hand:
# after a merge conflict, keep either side and run `matcher translations record --new`.
"""


def write_made_from(
    rules_dir: Path, t: Translator, only_new: bool = False
) -> tuple[Path, int, int]:
    """Record the English each of t's translations is made from; return the file, the number
    of texts recorded anew, and of those whose English had changed (now taken as reviewed).

    `only_new` records only translations not recorded as they are (new, or edited), and keeps
    every other record, stale ones included: safe whenever, since it reviews nothing.
    """
    record = {}
    anew = reviewed = 0
    for key, made in sorted(t.seen.items()):
        before = t.made_from.get(key)
        if before is not None and before[1] == made[1] and (only_new or before == made):
            record[key] = before
            continue
        if before is not None and before[1] == made[1]:
            reviewed += 1  # the translation as it was, now said to translate today's English
        anew += 1
        record[key] = made
    folder = rules_dir / TRANSLATIONS_DIR / MADE_FROM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{t.language}.yaml"
    lines = [MADE_FROM_HEADER.format(language=t.language), f"language: {t.language}\n", "texts:\n"]
    # One line per text, sorted: two helpers adding texts rarely touch the same lines.
    lines += [
        f"  {json.dumps(key, ensure_ascii=False)}: '{english} {translation}'\n"
        for key, (english, translation) in record.items()
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path, anew, reviewed

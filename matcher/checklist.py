"""The questions to ask a therapist: load rules/checklist.yaml and tailor it to a match."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from matcher.errors import ConfigError, IntakeError
from matcher.i18n import SOURCE_LANGUAGE
from matcher.localise import (
    Missing,
    Translator,
    checklist_texts,
    is_fallback,
    made_from_files,
    translation_files,
)
from matcher.rules import Source, Vocabulary, _validate
from matcher.schemas import (
    ChecklistFileSchema,
    ChecklistQuerySchema,
    load_intake_part,
)
from matcher.yamlfile import load_yaml

CHECKLIST_FILE = "checklist.yaml"
ANY = "any"


@dataclass(frozen=True)
class Question:
    """One question, the source it comes from, and when it applies."""

    id: str
    text: str
    source: Source
    when_key: str  # always, modality, format, setting or language
    when_values: tuple[str, ...]
    ask: str  # therapist or yourself

    def as_json(self) -> dict[str, Any]:
        """The question as the API and the page show it, with its source."""
        source: dict[str, str] = {
            "id": self.source.id,
            "cite": self.source.cite,
            "title": self.source.title,
        }
        if self.source.url:
            source["url"] = self.source.url
        shown: dict[str, Any] = {"id": self.id, "text": str(self.text), "source": source}
        if is_fallback(self.text):
            shown["fallback"] = True
        return shown


@dataclass(frozen=True)
class Tailoring:
    """What a checklist is tailored to: kinds of therapy and how to meet, nothing personal."""

    modalities: tuple[str, ...] = ()
    format: str = ANY
    setting: str = ANY
    languages: tuple[str, ...] = ()

    def applies(self, question: Question) -> bool:
        """Say whether `question` belongs on a checklist with this tailoring."""
        chosen = {
            "always": None,
            "modality": self.modalities,
            "format": (self.format,),
            "setting": (self.setting,),
            "language": (ANY,) if self.languages else (),
        }[question.when_key]
        return chosen is None or any(value in chosen for value in question.when_values)

    def link_query(self) -> dict[str, str]:
        """Query parameters for a shareable link: modalities, format, setting and languages."""
        query = {}
        if self.modalities:
            query["modalities"] = ",".join(self.modalities)
        if self.format != ANY:
            query["format"] = self.format
        if self.setting != ANY:
            query["setting"] = self.setting
        if self.languages:
            query["languages"] = ",".join(self.languages)
        return query


class Checklist:
    """Every question in rules/checklist.yaml, validated against the vocabulary and sources."""

    def __init__(
        self,
        questions: Sequence[Question],
        headings: Mapping[str, str],
        vocabulary: Vocabulary,
        translations: Mapping[str, tuple[Mapping[str, Any], str]] | None = None,
        made_from: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
    ) -> None:
        self.questions = tuple(questions)
        self.headings = dict(headings)
        self.vocabulary = vocabulary
        # language -> (its table from rules/translations/<language>.yaml, that file's name)
        self.translations = dict(translations or {})
        # language -> the English each of its texts was made from (localise.made_from_files)
        self.made_from = dict(made_from or {})
        self._in_language: dict[str, Checklist] = {}

    def localised(
        self, language: str, translator: Translator | None = None
    ) -> tuple[dict[str, str], dict[str, str], list[Missing]]:
        """The questions (id -> text) and headings in `language`, and what is missing there.

        A `translator` given (one a Matcher made) also collects what the checklist uses.
        """
        if language == SOURCE_LANGUAGE:
            return {q.id: q.text for q in self.questions}, dict(self.headings), []
        table, display = self.translations.get(language, ({}, f"translations/{language}.yaml"))
        t = translator or Translator(table, language, display, self.made_from.get(language))
        before = len(t.missing)
        texts, headings = checklist_texts(
            ((q.id, q.text) for q in self.questions), self.headings, t
        )
        return texts, headings, t.missing[before:]

    def in_language(self, language: str, vocabulary: Vocabulary) -> Checklist:
        """The checklist in `language` (English where a translation is missing, marked)."""
        if language == SOURCE_LANGUAGE:
            return self
        if language not in self._in_language:
            texts, headings, _ = self.localised(language)
            questions = [replace(q, text=texts[q.id]) for q in self.questions]
            self._in_language[language] = Checklist(questions, headings, vocabulary)
        return self._in_language[language]

    def tailoring(self, query: Mapping[str, Any]) -> Tailoring:
        """Read a query (modalities=emdr,cbt&format=online...); raise IntakeError naming fields."""
        params = load_intake_part(ChecklistQuerySchema(), dict(query))
        vocabulary = self.vocabulary
        errors: dict[str, list[str]] = {}
        modalities = _split(params["modalities"])
        unknown = [m for m in modalities if m not in vocabulary.modalities]
        if unknown:
            errors["modalities"] = [
                f"{', '.join(repr(m) for m in unknown)}: not a kind of therapy we know; "
                f"use one of: {', '.join(vocabulary.modalities)}."
            ]
        for name, group in (("format", vocabulary.formats), ("setting", vocabulary.settings)):
            if params[name] != ANY and params[name] not in group:
                errors[name] = [f"Must be one of: {', '.join([*group, ANY])}."]
        languages = _split(params["languages"])
        bad_languages = [code for code in languages if not vocabulary.is_language(code)]
        if bad_languages:
            errors["languages"] = [
                f"{', '.join(repr(c) for c in bad_languages)}: not an ISO 639-1 language code."
            ]
        if errors:
            raise IntakeError(errors)
        return Tailoring(
            modalities=tuple(dict.fromkeys(modalities)),  # a repeat asks nothing new
            format=params["format"],
            setting=params["setting"],
            languages=tuple(dict.fromkeys(languages)),
        )

    def tailoring_kept(self, query: Mapping[str, Any]) -> tuple[Tailoring, list[str]]:
        """Read an old or garbled link as far as it goes: what is known, and what was set aside.

        For the page people open from a link: an unknown id (a kind of therapy since renamed)
        is left out with a note, never a page without a checklist. The API stays strict.
        """
        vocabulary = self.vocabulary
        known = {"modalities", "format", "setting", "languages"}
        ignored = [
            f"{name}: not something a checklist is tailored by"
            for name in query
            if name not in known
        ]
        # At most 200 characters of each: a note quotes what it sets aside.
        raw = {name: str(query[name])[:200] for name in known if name in query}
        modalities = [m for m in _split(raw.get("modalities", "")) if m in vocabulary.modalities]
        dropped = [m for m in _split(raw.get("modalities", "")) if m not in vocabulary.modalities]
        if dropped:
            ignored.append(f"kinds of therapy we do not know: {', '.join(dropped)}")
        chosen = {}
        for name, group in (("format", vocabulary.formats), ("setting", vocabulary.settings)):
            value = raw.get(name, ANY) or ANY
            if value != ANY and value not in group:
                ignored.append(f"{name} {value!r}: not one we know")
                value = ANY
            chosen[name] = value
        languages = [c for c in _split(raw.get("languages", "")) if vocabulary.is_language(c)]
        bad = [c for c in _split(raw.get("languages", "")) if not vocabulary.is_language(c)]
        if bad:
            ignored.append(f"language codes we do not know: {', '.join(bad)}")
        tailoring = Tailoring(
            modalities=tuple(dict.fromkeys(modalities)),
            format=chosen["format"],
            setting=chosen["setting"],
            languages=tuple(dict.fromkeys(languages)),
        )
        return tailoring, ignored

    def build(self, tailoring: Tailoring) -> dict[str, Any]:
        """The tailored checklist: for yourself, for any therapist, per modality, preferences."""
        chosen = [q for q in self.questions if tailoring.applies(q)]
        sections: list[dict[str, Any]] = []

        def add(section_id: str, title: str, questions: Iterable[Question], **extra: str) -> None:
            listed = [q.as_json() for q in questions]
            if listed:
                sections.append({"id": section_id, "title": title, **extra, "questions": listed})

        always = [q for q in chosen if q.when_key == "always"]
        add("yourself", self.headings["yourself"], (q for q in always if q.ask == "yourself"))
        add("general", self.headings["general"], (q for q in always if q.ask != "yourself"))
        for modality in tailoring.modalities:
            name = self.vocabulary.modalities[modality].label
            add(
                f"modality.{modality}",
                self.headings["modality"].format(name=name),
                (q for q in chosen if q.when_key == "modality" and modality in q.when_values),
                modality=modality,
            )
        _dedupe_modality_sections(sections)
        add(
            "preferences",
            self.headings["preferences"],
            (q for q in chosen if q.when_key in ("format", "setting", "language")),
        )
        return {
            "modalities": list(tailoring.modalities),
            "format": tailoring.format,
            "setting": tailoring.setting,
            "languages": list(tailoring.languages),
            "sections": sections,
        }


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _dedupe_modality_sections(sections: list[dict[str, Any]]) -> None:
    # A question for several modalities (CBT homework) is asked once, under the first of them.
    seen: set[str] = set()
    for section in sections:
        kept = [q for q in section["questions"] if q["id"] not in seen]
        seen.update(q["id"] for q in section["questions"])
        section["questions"] = kept
    sections[:] = [s for s in sections if s["questions"]]


def load_checklist(
    path: Path, name: str, vocabulary: Vocabulary, sources: Mapping[str, Source]
) -> Checklist:
    """Load and validate rules/checklist.yaml; raise ConfigError naming file, entry, problem."""
    data = _validate(ChecklistFileSchema(), load_yaml(path, name), name, "questions", "question")
    allowed = {
        "modality": vocabulary.modalities,
        "format": vocabulary.formats,
        "setting": vocabulary.settings,
    }
    questions: list[Question] = []
    seen: set[str] = set()
    for raw in data["questions"]:
        entry = f"question {raw['id']!r}"
        if raw["id"] in seen:
            raise ConfigError(name, "id is listed twice", entry)
        seen.add(raw["id"])
        if raw["source"] not in sources:
            known = ", ".join(sources)
            raise ConfigError(
                name, f"source {raw['source']!r} is not in sources.yaml ({known})", entry
            )
        key, values = raw["when"]["key"], raw["when"]["values"]
        for value in values if key in allowed else ():
            if value not in allowed[key]:
                raise ConfigError(
                    name,
                    f"when: {key} {value!r} is not in the vocabulary ({', '.join(allowed[key])})",
                    entry,
                )
        if raw["ask"] == "yourself" and key != "always":
            raise ConfigError(name, "a question for yourself must apply 'always'", entry)
        questions.append(
            Question(
                id=raw["id"],
                text=raw["text"],
                source=sources[raw["source"]],
                when_key=key,
                when_values=tuple(values),
                ask=raw["ask"],
            )
        )
    if not any(q.when_key == "always" and q.ask == "therapist" for q in questions):
        raise ConfigError(name, "no question applies 'always': every checklist needs some")
    return Checklist(
        questions,
        data["headings"],
        vocabulary,
        translation_files(path.parent),
        made_from_files(path.parent),
    )

"""Care routes: what to do first when an intake is out of scope for self-matching.

rules/care_routes.yaml says, for answers such as an eating difficulty or abuse at home, which
level of care comes before any match (clinician_review, specialist, urgent) and what to tell
the person. This module loads and checks that file, decides the routes of one intake, and
renders them. A route never replaces the safety path (matcher/safety.py): it comes after it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from matcher.errors import ConfigError
from matcher.schemas import CARE_ROUTE_LEVELS, CareRoutesFileSchema, flatten_errors
from matcher.text import template_fields
from matcher.yamlfile import load_yaml

CARE_ROUTES_FILE = "care_routes.yaml"
SELF_MATCH_RULE = "route.self_match"
PLACEHOLDERS = {"emergency"}


@dataclass(frozen=True)
class RouteEvidence:
    """What one source says in support of a route."""

    source: str
    says: str


@dataclass(frozen=True)
class Route:
    """One route: when it applies, its level, its words and what it holds back."""

    id: str
    level: str
    text: str
    evidence: tuple[RouteEvidence, ...]
    difficulties: frozenset[str] = frozenset()
    age: str | None = None
    withhold_modalities: frozenset[str] = frozenset()
    withhold_settings: frozenset[str] = frozenset()
    local: Mapping[str, str] | None = None
    lists_matches: bool = True
    offers_alternatives: bool = True  # false: no nearest alternatives beside this route
    when_nobody_listed: bool = False  # `matches: none`: decided after matching, see CareRoutes

    def applies(
        self,
        difficulties: Collection[str],
        age: int | None,
        youngest_seen: int,
        adult_age: int,
        nobody_listed: bool = False,
    ) -> bool:
        """Whether this route's `when` holds for these answers (and the list, when it asks)."""
        if self.when_nobody_listed and not nobody_listed:
            return False
        if self.difficulties and not self.difficulties & set(difficulties):
            return False
        if self.age == "below_youngest_seen":
            return age is not None and age < youngest_seen
        if self.age == "young_person":
            return age is not None and age < adult_age
        if self.age == "adult":
            return age is None or age >= adult_age
        return bool(self.difficulties)

    @property
    def rank(self) -> int:
        """How serious the level is: 0 for self_match up to 3 for urgent."""
        return CARE_ROUTE_LEVELS.index(self.level)


@dataclass(frozen=True)
class CareRoutes:
    """The routes of rules/care_routes.yaml, with the default self-match route."""

    self_match: Route
    routes: tuple[Route, ...]
    alternatives_up_to: str
    review_caveat: str  # a template with {about}
    about_age: str

    def decide(
        self,
        difficulties: Collection[str],
        age: int | None,
        youngest_seen: int,
        adult_age: int = 18,
    ) -> Decision:
        """The routes that apply to these answers, most serious first (ties in file order)."""
        applying = [
            route
            for route in self.routes
            if route.applies(difficulties, age, youngest_seen, adult_age)
        ]
        applying.sort(key=lambda route: -route.rank)  # stable: file order within a level
        return Decision(tuple(applying) or (self.self_match,), self)

    def when_nobody_listed(
        self,
        decision: Decision,
        difficulties: Collection[str],
        age: int | None,
        youngest_seen: int,
        adult_age: int = 18,
    ) -> Decision:
        """The decision once nobody was listed and no alternative offered: a `matches: none`
        route for these answers takes the place of self-matching (never of another route)."""
        if decision.level != "self_match":
            return decision
        applying = tuple(
            route
            for route in self.routes
            if route.when_nobody_listed
            and route.applies(difficulties, age, youngest_seen, adult_age, nobody_listed=True)
        )
        return Decision(applying, self) if applying else decision


@dataclass(frozen=True)
class Decision:
    """The routes of one intake, most serious first; the first is the answer's care route."""

    routes: tuple[Route, ...]
    config: CareRoutes

    @property
    def level(self) -> str:
        """The level of the most serious route."""
        return self.routes[0].level

    @property
    def needs_review(self) -> bool:
        """Whether a clinician reviews the request before any booking."""
        return self.level != "self_match"

    @property
    def lists_matches(self) -> bool:
        """Whether therapists are listed at all (not beside a route whose answer is a person)."""
        return all(route.lists_matches for route in self.routes)

    @property
    def offers_alternatives(self) -> bool:
        """Whether nearest alternatives may be shown when nobody fits."""
        within_level = self.routes[0].rank <= CARE_ROUTE_LEVELS.index(
            self.config.alternatives_up_to
        )
        return within_level and all(route.offers_alternatives for route in self.routes)

    @property
    def withheld_modalities(self) -> frozenset[str]:
        """Modalities no route allows for this person (couples therapy beside abuse)."""
        return frozenset().union(*(r.withhold_modalities for r in self.routes))

    @property
    def withheld_settings(self) -> frozenset[str]:
        """Settings no route allows for this person (couple sessions beside abuse)."""
        return frozenset().union(*(r.withhold_settings for r in self.routes))

    def review_caveat(self, phrase: Mapping[str, str], join: Callable[[list[str]], str]) -> str:
        """The caveat on each match: why a clinician reviews first, in the person's words."""
        about = [phrase[d] for r in self.routes for d in sorted(r.difficulties) if d in phrase]
        return self.config.review_caveat.format(
            about=join(about) if about else self.config.about_age
        )


def _source_refs(route: Route, sources: Mapping[str, Any]) -> list[dict[str, str]]:
    refs = []
    for evidence in route.evidence:
        source = sources[evidence.source]
        ref = {"id": source.id, "cite": source.cite, "title": source.title}
        if source.url:
            ref["url"] = source.url
        refs.append(ref)
    return refs


def step_json(
    route: Route, sources: Mapping[str, Any], emergency: str, locale: str | None
) -> dict[str, Any]:
    """One route as the answer carries it: level, text for the person, rule and citation."""
    text = route.text.format(emergency=emergency)
    local = (route.local or {}).get((locale or "").upper())
    if local:
        text = f"{text} {local}"
    cites = list(dict.fromkeys(sources[e.source].cite for e in route.evidence))
    return {
        "level": route.level,
        "text": text,
        "rule": route.id,
        "source": "; ".join(cites),
        "evidence": "; ".join(f"{sources[e.source].cite}: {e.says}" for e in route.evidence),
        "sources": _source_refs(route, sources),
    }


def as_json(
    decision: Decision, sources: Mapping[str, Any], emergency: str, locale: str | None
) -> dict[str, Any]:
    """The answer's `care_route`: the most serious route, and the others in `also`."""
    first, *others = decision.routes
    return {
        **step_json(first, sources, emergency, locale),
        "also": [step_json(r, sources, emergency, locale) for r in others],
        "lists_matches": decision.lists_matches,
    }


# --- loading ----------------------------------------------------------------------------------


def _evidence(
    raw: Sequence[Mapping[str, str]], sources: Collection[str], name: str, entry: str
) -> tuple[RouteEvidence, ...]:
    for item in raw:
        if item["source"] not in sources:
            raise ConfigError(
                name, f"evidence: unknown source {item['source']!r} (add it to sources.yaml)", entry
            )
    return tuple(RouteEvidence(item["source"], item["says"]) for item in raw)


def _check_text(text: str, name: str, entry: str) -> None:
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise ConfigError(name, f"text: {exc}", entry) from None
    unknown = sorted(used - PLACEHOLDERS)
    if unknown:
        raise ConfigError(
            name, f"text: unknown placeholder {{{unknown[0]}}} (use {{emergency}})", entry
        )


def load_care_routes(
    path: Path,
    name: str,
    difficulties: Collection[str],
    modalities: Collection[str],
    settings: Collection[str],
    sources: Collection[str],
) -> CareRoutes:
    """Load and check rules/care_routes.yaml; raise ConfigError naming the route and problem."""
    raw = load_yaml(path, name)
    try:
        data = CareRoutesFileSchema().load(raw if raw is not None else {})
    except ValidationError as exc:
        flat = flatten_errors(exc.messages)
        field_path, messages = next(iter(flat.items()))
        entry = None
        parts = field_path.split(".")
        if len(parts) >= 2 and parts[0] == "routes" and parts[1].isdigit():
            items = raw.get("routes") if isinstance(raw, dict) else None
            index = int(parts[1])
            item = items[index] if isinstance(items, list) and index < len(items) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            entry = f"route {item_id!r}" if isinstance(item_id, str) else f"route #{index + 1}"
            parts = parts[2:]
        where = f"field {'.'.join(parts)!r}: " if parts and parts != ["_schema"] else ""
        raise ConfigError(name, f"{where}{'; '.join(messages)}", entry) from None
    self_match = Route(
        id=SELF_MATCH_RULE,
        level="self_match",
        text=data["self_match"]["text"].strip(),
        evidence=_evidence(data["self_match"]["evidence"], sources, name, "self_match"),
    )
    _check_text(self_match.text, name, "self_match")
    routes: list[Route] = []
    seen: set[str] = set()
    for item in data["routes"]:
        entry = f"route {item['id']!r}"
        if item["id"] in seen or item["id"] == SELF_MATCH_RULE:
            raise ConfigError(name, "id is listed twice", entry)
        seen.add(item["id"])
        wanted = item["when"].get("difficulty", [])
        for what, ids, allowed in (
            ("when.difficulty", wanted, difficulties),
            ("withhold.modalities", item["withhold"].get("modalities", []), modalities),
            ("withhold.settings", item["withhold"].get("settings", []), settings),
        ):
            for value in ids:
                if value not in allowed:
                    raise ConfigError(name, f"{what}: {value!r} is not in the vocabulary", entry)
        _check_text(item["text"], name, entry)
        routes.append(
            Route(
                id=item["id"],
                level=item["level"],
                text=" ".join(item["text"].split()),
                evidence=_evidence(item["evidence"], sources, name, entry),
                difficulties=frozenset(wanted),
                age=item["when"].get("age"),
                withhold_modalities=frozenset(item["withhold"].get("modalities", [])),
                withhold_settings=frozenset(item["withhold"].get("settings", [])),
                local=dict(item["local"]),
                lists_matches=item["matches"],
                offers_alternatives=item["offers_alternatives"],
                when_nobody_listed=item["when"].get("matches") == "none",
            )
        )
    return CareRoutes(
        self_match=self_match,
        routes=tuple(routes),
        alternatives_up_to=data["alternatives_up_to"],
        review_caveat=_checked_caveat(data["review_caveat"].strip(), name),
        about_age=data["about_age"].strip(),
    )


def _checked_caveat(text: str, name: str) -> str:
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise ConfigError(name, f"review_caveat: {exc}") from None
    if used != {"about"}:
        raise ConfigError(name, "review_caveat: must have exactly one placeholder, {about}")
    return text

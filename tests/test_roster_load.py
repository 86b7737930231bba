"""Loading checks the whole roster at once; it must catch whatever the therapist-by-therapist check names.

A roster is first checked field by field over every therapist (fast: 100k therapists in
seconds); only when that finds something is each therapist checked in turn, which names the
first problem. So every problem the per-therapist check can name must make the bulk check say
"look closer", and a valid roster must pass it (or large rosters would load slowly again).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks.generate_roster import roster as synthetic_roster
from matcher import PROJECT_ROOT
from matcher import roster as roster_module
from matcher.errors import ConfigError
from matcher.roster import (
    GROUP_FITS,
    AgeRange,
    CompactAuthority,
    Identity,
    Office,
    Payer,
    Roster,
    Therapist,
    TherapistRecord,
    _check_therapist,
    _checked_type,
    _plainly_valid,
    _read,
    _with_defaults,
    load_roster,
)
from matcher.rules import load_knowledge

KNOWLEDGE = load_knowledge(PROJECT_ROOT / "rules")
VOCABULARY = KNOWLEDGE.vocabulary
PLACES = KNOWLEDGE.places


def decoded(path: Path) -> list[TherapistRecord]:
    """A roster file's therapists, decoded (not checked) and with their defaults filled."""
    data, _, _ = _read(path, path.name)
    for record in data.therapists:
        _with_defaults(record, data.currency, VOCABULARY)
    return data.therapists


def bundled_records() -> list[TherapistRecord]:
    """The bundled roster's therapists, decoded and with their defaults filled."""
    return decoded(PROJECT_ROOT / "therapists.yaml")


def plainly_valid(records: list[TherapistRecord]) -> bool:
    """What the bulk check says of these therapists, from the columns they make."""
    roster = Roster(
        therapists=tuple(Therapist(n, record) for n, record in enumerate(records)),
        digest="",
        compacts=dict(PLACES.compacts),
        practising=VOCABULARY.practising_statuses,
        covered_by=VOCABULARY.payment.covered_by if VOCABULARY.payment else frozenset(),
    )
    return _plainly_valid(records, roster, VOCABULARY, PLACES)


def by_id(records: list[TherapistRecord], therapist_id: str) -> int:
    return next(i for i, record in enumerate(records) if record.id == therapist_id)


def test_the_bundled_and_a_synthetic_roster_pass_the_bulk_check(tmp_path: Path) -> None:
    assert plainly_valid(bundled_records())
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(synthetic_roster(500)), encoding="utf-8")
    assert plainly_valid(decoded(path))


Change = Callable[[TherapistRecord], dict[str, Any]]

OFFICE_FAR = Office(city="Madrid", postcode=None, lat=-3.703, lon=40.434)  # lat and lon swapped
# (therapist, the change, what the per-therapist check says): one for every problem it names.
CHANGES: list[tuple[str, Change, str]] = [
    ("t-001", lambda r: {"modalities": ["emdr", "tfcbt"]}, "unknown modalities id 'tfcbt'"),
    ("t-001", lambda r: {"modalities": ["emdr", "emdr"]}, "an id is listed twice"),
    ("t-001", lambda r: {"difficulties": ["ptsd", "fear"]}, "unknown difficulties id 'fear'"),
    ("t-001", lambda r: {"difficulties": ["ptsd", "ptsd"]}, "an id is listed twice"),
    ("t-001", lambda r: {"formats": ["online", "video"]}, "unknown formats id 'video'"),
    ("t-001", lambda r: {"settings": ["individual", "solo"]}, "unknown settings id 'solo'"),
    ("t-001", lambda r: {"settings": ["individual", "individual"]}, "an id is listed twice"),
    ("t-001", lambda r: {"availability": ["night"]}, "unknown availability id 'night'"),
    ("t-001", lambda r: {"availability": ["weekend", "weekend"]}, "an id is listed twice"),
    ("t-001", lambda r: {"measures_outcomes": ["bdi"]}, "unknown measures_outcomes id 'bdi'"),
    ("t-001", lambda r: {"measures_outcomes": ["phq9", "phq9"]}, "an id is listed twice"),
    ("t-001", lambda r: {"languages": ["es", "xx"]}, "'xx' is not an ISO 639-1 language code"),
    ("t-001", lambda r: {"languages": ["es", "es"]}, "a language is listed twice"),
    ("t-001", lambda r: {"gender": "robot"}, "unknown gender id 'robot'"),
    ("t-001", lambda r: {"licence_type": "healer"}, "unknown licence type 'healer'"),
    ("t-001", lambda r: {"city": None}, "required when formats include in_person"),
    ("t-001", lambda r: {"city": "  "}, "required when formats include in_person"),
    ("t-001", lambda r: {"ages": AgeRange(min=40, max=30)}, "min 40 is above max 30"),
    ("t-001", lambda r: {"sliding_scale_min": r.fee}, "must be below the fee"),
    ("t-001", lambda r: {"currency": "EUX"}, "'EUX' is not an ISO 4217 currency code"),
    (
        "t-002",
        lambda r: {"low_fee_places": 2},
        "field 'low_fee_places': set, but there is no sliding_scale_min",
    ),
    (
        "t-001",
        lambda r: {"payers": [Payer("xx_plan", None, "in_network", date(2026, 11, 1))]},
        "unknown scheme 'xx_plan'",
    ),
    (
        "t-001",
        lambda r: {"payers": [Payer("gb_nhs", None, "in_network", date(2026, 11, 1))]},
        "scheme 'gb_nhs' is for GB, not ES",
    ),
    (
        "t-001",
        lambda r: {"payers": [Payer("es_private", None, "in_network", date(2026, 11, 1))]},
        "scheme 'es_private' needs a payer",
    ),
    (
        "t-001",
        lambda r: {"payers": [Payer("es_private", "acme", "in_network", date(2026, 11, 1))]},
        "unknown payer 'acme'",
    ),
    ("t-001", lambda r: {"payers": [r.payers[0], r.payers[0]]}, "is listed twice"),
    ("t-001", lambda r: {"offices": []}, "required when formats include in_person"),
    ("t-004", lambda r: {"offices": [OFFICE_FAR]}, "listed, but formats do not include in_person"),
    (
        "t-001",
        lambda r: {"offices": [Office(city="Getafe", postcode=None, lat=40.306, lon=-3.731)]},
        "none is in the therapist's city 'Madrid'",
    ),
    ("t-001", lambda r: {"offices": [OFFICE_FAR]}, "check the coordinates"),
    (
        "t-001",
        lambda r: {"settings": ["individual", "group"]},
        "settings include group, so list at least one group",
    ),
    (
        "t-004",
        lambda r: {"settings": ["individual"]},
        "groups are listed but settings do not include group",
    ),
    (
        "t-004",
        lambda r: {"groups": [msgspec.structs.replace(r.groups[0], topic="boredom")]},
        "unknown topic 'boredom'",
    ),
    (
        "t-004",
        lambda r: {"groups": [msgspec.structs.replace(r.groups[0], modality="emdr")]},
        "modality 'emdr' is not among their modalities",
    ),
    (
        "t-004",
        lambda r: {"groups": [msgspec.structs.replace(r.groups[0], format="in_person")]},
        "format 'in_person' is not among their formats",
    ),
    (
        "t-001",
        lambda r: {"licences": [msgspec.structs.replace(r.licences[0], jurisdiction="ES-ZZ")]},
        "jurisdiction 'ES-ZZ' is not an ISO 3166-1 alpha-2",
    ),
    (
        "t-001",
        lambda r: {"licences": [msgspec.structs.replace(r.licences[0], status="dormant")]},
        "unknown licence status 'dormant'",
    ),
    (
        "t-001",
        lambda r: {"compacts": [CompactAuthority("eupact", "X 1", None, date(2026, 11, 1))]},
        "unknown compact 'eupact'",
    ),
    (
        "t-001",
        lambda r: {"compacts": [CompactAuthority("psypact", "X 1", None, date(2026, 11, 1))]},
        "PSYPACT needs a licence in one of its members",
    ),
    (
        "t-049",
        lambda r: {"compacts": [msgspec.structs.replace(r.compacts[0], status="paused")]},
        "unknown status 'paused'",
    ),
    (
        "t-001",
        lambda r: {
            "accepting": msgspec.structs.replace(
                r.accepting, next_available=date(2026, 1, 1), verified_at=date(2026, 2, 1)
            )
        },
        "next_available 2026-01-01 is before verified_at 2026-02-01",
    ),
    (
        "t-001",
        lambda r: {
            "offices": [r.offices[0], msgspec.structs.replace(r.offices[1], access=["lift"])]
        },
        "field 'offices': #2: unknown access id 'lift'",
    ),
    (
        "t-001",
        lambda r: {
            "offices": [msgspec.structs.replace(r.offices[0], access=["pubtrans", "pubtrans"])]
        },
        "field 'offices': #1: an access id is listed twice",
    ),
    ("t-001", lambda r: {"affirming": ["kind"]}, "unknown affirming id 'kind'"),
    ("t-001", lambda r: {"affirming": ["lgbtq", "lgbtq"]}, "an id is listed twice"),
    (
        "t-001",
        lambda r: {"identity": Identity(consent=date(2026, 1, 1), values=["faith:none"])},
        "unknown identity id 'faith:none'",
    ),
    (
        "t-001",
        lambda r: {"identity": Identity(date(2026, 1, 1), ["faith:islam", "faith:islam"])},
        "an id is listed twice",
    ),
]


@pytest.mark.parametrize(("therapist_id", "change", "named"), CHANGES)
def test_every_problem_a_therapist_can_have_fails_the_bulk_check(
    therapist_id: str, change: Change, named: str
) -> None:
    records = bundled_records()
    position = by_id(records, therapist_id)
    changed = msgspec.structs.replace(records[position], **change(records[position]))
    records[position] = changed
    problem = _check_therapist(changed, VOCABULARY, PLACES)
    assert problem is not None and named in problem
    assert not plainly_valid(records)


def messages_of(function_name: str) -> tuple[set[str], set[str]]:
    """Every problem `function_name` in matcher.roster (and each _check_* it calls) can return,
    as a pattern (the message's words; what it fills in, ids and numbers, as wildcards), and
    the functions read."""
    found: set[str] = set()
    queue, read = [function_name], set()
    while queue:
        name = queue.pop()
        if name in read:
            continue
        read.add(name)
        for node in ast.walk(ast.parse(inspect.getsource(getattr(roster_module, name)))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id.startswith("_check_"):
                    queue.append(node.func.id)
            if not isinstance(node, ast.Return):
                continue
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                value = value.func.value  # f"...".replace(...)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(re.escape(value.value))
            elif isinstance(value, ast.JoinedStr):
                found.add(
                    "".join(
                        re.escape(str(part.value)) if isinstance(part, ast.Constant) else ".*"
                        for part in value.values
                    )
                )
    return found, read


def test_every_problem_the_per_therapist_check_names_has_a_case_the_bulk_check_must_catch() -> None:
    # A check added to _check_therapist and not to _plainly_valid would let a large roster with
    # that problem load: so each of its messages needs a case in CHANGES above, which proves
    # that the bulk check says "look closer" for it.
    messages, read = messages_of("_check_therapist")
    assert read == {"_check_therapist", "_check_payment", "_check_offices", "_check_licensure"}
    records = bundled_records()
    named = set()
    for therapist_id, change, _ in CHANGES:
        record = records[by_id(records, therapist_id)]
        changed = msgspec.structs.replace(record, **change(record))
        named.add(_check_therapist(changed, VOCABULARY, PLACES) or "")
    without_a_case = sorted(m for m in messages if not any(re.fullmatch(m, n) for n in named))
    assert without_a_case == []


def test_a_duplicate_id_fails_the_bulk_check() -> None:
    records = bundled_records()
    records[1] = msgspec.structs.replace(records[1], id=records[0].id)
    assert not plainly_valid(records)


def test_a_large_roster_names_the_first_bad_therapist_like_a_small_one(tmp_path: Path) -> None:
    document = synthetic_roster(300)
    document["therapists"][120]["languages"].append("xx")
    document["therapists"][200]["gender"] = "robot"
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_roster(path, VOCABULARY, places=PLACES)
    assert str(caught.value) == (
        "roster.json: therapist 't-000121': field 'languages': 'xx' is not an ISO 639-1 "
        "language code or an ISO 639-3 sign language code"
    )


def test_the_columns_are_the_ones_each_therapist_gives() -> None:
    roster = load_roster(PROJECT_ROOT / "therapists.yaml", VOCABULARY, places=PLACES)
    for therapist in roster.therapists:
        record, at = therapist.record, therapist.position
        for name, codes in roster.values.items():
            if name in ("identity", "payers", GROUP_FITS):
                continue  # derived from other fields
            listed = {value for value, column in codes.items() if roster.lists[name][at, column]}
            assert listed == set(getattr(record, name)), (therapist.id, name)
        assert roster.fee[at] == record.fee
        assert roster.age_min[at] == record.ages.min and roster.age_max[at] == record.ages.max
        assert roster.country[at] == roster.country_code(record.country)
        assert roster.currency[at] == roster.currency_code(record.currency or "")
        if record.city:
            assert roster.city[at] == roster.city_code(record.city)
        assert roster.accepting[at] == record.accepting_new_clients
        assert roster.confirmed_on[at] == record.accepting.verified_at.toordinal()
        starts = roster.office_start[at]
        offices = record.offices or []
        assert list(roster.office_lat[starts : starts + len(offices)]) == [o.lat for o in offices]
        assert roster.by_id[record.id] is therapist
    ranked = sorted(roster.therapists, key=lambda t: t.id)
    assert [roster.id_rank[t.position] for t in ranked] == list(range(roster.size))


def test_a_valid_roster_decodes_each_id_as_one_shared_string(tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(synthetic_roster(50)), encoding="utf-8")
    data, _, checked = _read(path, path.name, _checked_type(VOCABULARY))
    assert checked
    assert isinstance(data.therapists[0], TherapistRecord)
    listed = [value for record in data.therapists for value in record.modalities]
    assert len({id(value) for value in listed}) == len(set(listed))  # one object per id


def test_an_unknown_id_is_decoded_again_and_named_as_before(tmp_path: Path) -> None:
    document = synthetic_roster(50)
    document["therapists"][7]["modalities"] = ["cbt", "tfcbt"]
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _, _, checked = _read(path, path.name, _checked_type(VOCABULARY))
    assert not checked
    with pytest.raises(ConfigError) as caught:
        load_roster(path, VOCABULARY, places=PLACES)
    assert str(caught.value) == (
        "roster.json: therapist 't-000008': field 'modalities': unknown modalities id 'tfcbt'"
    )

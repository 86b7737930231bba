"""Write a realistic synthetic roster of N fictional therapists, same schema as therapists.yaml.

    python benchmarks/generate_roster.py 10000 > /tmp/roster-10k.json

The output is JSON, which is valid YAML, so the service reads it like the bundled roster.
Mixes of countries, cities, languages, modalities and the difficulties they fit, formats,
settings, groups, fees, sliding scales and availability follow the bundled roster's proportions;
so do the fields issue 15 added: licences from each country's real kind of register (state
boards and PSYPACT in the US, HCPC and Social Work England in the UK, the BIG-register...),
some lapsed or expired, confirmations of availability some fresh and some stale, per-therapist
currency and the payers that make sense per country, offices with coordinates and postcodes
near the city's centre, office access, sign languages, interpreters, affirming care and, for a
few who opted in, identity. Every hard and soft check then has real work to do, and a fair
share of therapists passes each gate.

Dates are days before or after AS_OF, so a roster is the same whenever it is generated; the
benchmarks match on that day. Each therapist is drawn from a generator of their own (the seed
and their number), so the first 1,000 of the 100k roster are the 1k roster.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

# The day the roster's dates are relative to, and the day the benchmarks match on.
AS_OF = date(2026, 12, 1)

COUNTRIES: dict[str, dict[str, Any]] = {
    "ES": {
        "weight": 18,
        "languages": ["es"],
        "extra": ["ca", "en", "fr", "ar"],
        "sign": "ssp",
        "fee": (50, 100),
        "cities": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza"],
    },
    "NL": {
        "weight": 14,
        "languages": ["nl"],
        "extra": ["en", "de", "ar", "tr"],
        "sign": "dse",
        "fee": (70, 120),
        "cities": ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen"],
    },
    "GB": {
        "weight": 20,
        "languages": ["en"],
        "extra": ["pl", "ur", "ar", "fr", "es"],
        "sign": "bfi",
        "fee": (60, 140),
        "cities": [
            "London",
            "Manchester",
            "Birmingham",
            "Leeds",
            "Glasgow",
            "Bristol",
            "Edinburgh",
            "Liverpool",
            "Brighton",
        ],
    },
    "DE": {
        "weight": 16,
        "languages": ["de"],
        "extra": ["en", "tr", "ar", "pl"],
        "sign": "gsg",
        "fee": (70, 130),
        "cities": ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Leipzig"],
    },
    "FR": {
        "weight": 14,
        "languages": ["fr"],
        "extra": ["en", "ar", "es", "it"],
        "sign": "fsl",
        "fee": (55, 120),
        "cities": ["Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux"],
    },
    "US": {
        "weight": 18,
        "languages": ["en"],
        "extra": ["es", "zh", "ko", "ar", "fr"],
        "sign": "ase",
        "fee": (90, 220),
        "cities": [
            "New York",
            "Los Angeles",
            "Chicago",
            "Houston",
            "Philadelphia",
            "Seattle",
            "Boston",
            "Miami",
            "Jersey City",
        ],
    },
}
# modality -> the difficulties a therapist practising it typically lists
MODALITY_FIT = {
    "cbt": ["anxiety", "panic", "social_anxiety", "phobia", "depression", "stress", "self_esteem"],
    "tf_cbt": ["ptsd", "complex_trauma"],
    "emdr": ["ptsd", "complex_trauma", "phobia"],
    "erp": ["ocd"],
    "dbt": ["emotion_regulation", "complex_trauma"],
    "ipt": ["depression", "grief", "life_transition", "relationship"],
    "behavioural_activation": ["depression"],
    "applied_relaxation": ["anxiety", "stress", "panic"],
    "transdiagnostic_cbt": ["anxiety", "depression", "stress"],
    "process_based": ["complex_trauma", "anxiety", "depression"],
    "psychodynamic": ["self_esteem", "grief", "relationship", "life_transition", "depression"],
    "humanistic": ["grief", "life_transition", "self_esteem", "stress"],
    "couples_therapy": ["relationship"],
    "family_therapy": ["family_conflict"],
    "counselling": ["depression", "grief", "stress", "life_transition", "self_esteem"],
    "guided_self_help": ["anxiety", "depression", "panic"],
    "mbct": ["depression", "stress"],
}
MODALITY_WEIGHTS = {
    "cbt": 30,
    "humanistic": 10,
    "psychodynamic": 9,
    "emdr": 8,
    "tf_cbt": 7,
    "erp": 5,
    "ipt": 6,
    "couples_therapy": 6,
    "family_therapy": 5,
    "dbt": 5,
    "behavioural_activation": 4,
    "applied_relaxation": 4,
    "transdiagnostic_cbt": 4,
    "process_based": 3,
    "counselling": 6,
    "guided_self_help": 3,
    "mbct": 3,
}
# Licence types by country, in the proportions their registers hold them.
LICENCE_TYPES = {
    "ES": {
        "clinical_psychologist": 35,
        "counselling_psychologist": 40,
        "psychotherapist": 18,
        "psychiatrist": 7,
    },
    "NL": {
        "clinical_psychologist": 20,
        "counselling_psychologist": 40,
        "psychotherapist": 20,
        "clinical_social_worker": 5,
        "professional_counsellor": 5,
        "marriage_family_therapist": 4,
        "psychiatrist": 6,
    },
    "GB": {
        "clinical_psychologist": 30,
        "counselling_psychologist": 15,
        "psychotherapist": 20,
        "professional_counsellor": 20,
        "clinical_social_worker": 5,
        "marriage_family_therapist": 4,
        "psychiatrist": 6,
    },
    "DE": {
        "clinical_psychologist": 30,
        "psychotherapist": 45,
        "professional_counsellor": 12,
        "psychiatrist": 13,
    },
    "FR": {
        "clinical_psychologist": 45,
        "counselling_psychologist": 20,
        "psychotherapist": 25,
        "psychiatrist": 10,
    },
    "US": {
        "clinical_psychologist": 22,
        "counselling_psychologist": 6,
        "clinical_social_worker": 30,
        "professional_counsellor": 22,
        "marriage_family_therapist": 14,
        "psychiatrist": 6,
    },
}
PSYCHOLOGISTS = {"clinical_psychologist", "counselling_psychologist"}

WEEKDAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays"]
TIMES = ["weekday_morning", "weekday_afternoon", "weekday_evening", "weekend"]
FIRST = [
    "Alex",
    "Sam",
    "Noor",
    "Maria",
    "Jonas",
    "Léa",
    "Omar",
    "Ana",
    "Pieter",
    "Chloé",
    "Yusuf",
    "Hannah",
    "Lucas",
    "Sofia",
    "Daniel",
    "Fatima",
    "Emma",
    "Javier",
    "Ingrid",
    "Kenji",
]
LAST = [
    "García",
    "de Vries",
    "Smith",
    "Müller",
    "Martin",
    "Haddad",
    "Jansen",
    "Rossi",
    "Kowalski",
    "Okafor",
    "Nguyen",
    "Fernández",
    "Bakker",
    "Dubois",
    "Schmidt",
    "Khan",
    "Lopez",
    "Cohen",
]


def day(offset: int) -> str:
    """The ISO date `offset` days after AS_OF (before, when negative)."""
    return (AS_OF + timedelta(days=offset)).isoformat()


def gendered(gender: str, woman: str, man: str, either: str) -> str:
    """A title in the form that fits the therapist (Spanish and German titles are gendered)."""
    return {"woman": woman, "man": man}.get(gender, either)


# --- licences: each country's registers, a US licence per state, PSYPACT ----------------------

US_HOME = {
    "New York": "US-NY",
    "Los Angeles": "US-CA",
    "Chicago": "US-IL",
    "Houston": "US-TX",
    "Philadelphia": "US-PA",
    "Seattle": "US-WA",
    "Boston": "US-MA",
    "Miami": "US-FL",
    "Jersey City": "US-NJ",
}
# A second state licence is usually for a neighbouring state (people commute, or move).
US_NEIGHBOURS = {
    "US-NY": ["US-NJ", "US-NJ", "US-CT", "US-PA"],
    "US-NJ": ["US-NY", "US-NY", "US-PA"],
    "US-PA": ["US-NJ", "US-NY", "US-DE"],
    "US-CA": ["US-OR", "US-AZ", "US-NV"],
    "US-IL": ["US-IN", "US-WI", "US-MO"],
    "US-TX": ["US-OK", "US-LA", "US-NM"],
    "US-WA": ["US-OR", "US-ID"],
    "US-MA": ["US-NH", "US-RI", "US-CT"],
    "US-FL": ["US-GA", "US-AL"],
}
US_STATE_NAMES = {
    "US-NY": "New York",
    "US-NJ": "New Jersey",
    "US-PA": "Pennsylvania",
    "US-CT": "Connecticut",
    "US-DE": "Delaware",
    "US-CA": "California",
    "US-OR": "Oregon",
    "US-AZ": "Arizona",
    "US-NV": "Nevada",
    "US-IL": "Illinois",
    "US-IN": "Indiana",
    "US-WI": "Wisconsin",
    "US-MO": "Missouri",
    "US-TX": "Texas",
    "US-OK": "Oklahoma",
    "US-LA": "Louisiana",
    "US-NM": "New Mexico",
    "US-WA": "Washington",
    "US-ID": "Idaho",
    "US-MA": "Massachusetts",
    "US-NH": "New Hampshire",
    "US-RI": "Rhode Island",
    "US-FL": "Florida",
    "US-GA": "Georgia",
    "US-AL": "Alabama",
}
# PSYPACT members among those states (rules/jurisdictions.yaml): not NY, CA, MA, OR, NM, LA.
PSYPACT = {
    "US-NJ",
    "US-PA",
    "US-CT",
    "US-DE",
    "US-AZ",
    "US-NV",
    "US-IL",
    "US-IN",
    "US-WI",
    "US-MO",
    "US-TX",
    "US-OK",
    "US-WA",
    "US-ID",
    "US-NH",
    "US-RI",
    "US-FL",
    "US-GA",
    "US-AL",
}
US_TITLES = {  # licence type -> (board, title, number prefix)
    "clinical_psychologist": ("Board of Psychology", "Licensed Psychologist", "PSY"),
    "counselling_psychologist": ("Board of Psychology", "Licensed Psychologist", "PSY"),
    "clinical_social_worker": (
        "Board of Social Work Examiners",
        "Licensed Clinical Social Worker",
        "LCSW",
    ),
    "professional_counsellor": (
        "Board of Professional Counselors",
        "Licensed Professional Counselor",
        "LPC",
    ),
    "marriage_family_therapist": (
        "Board of Marriage and Family Therapy",
        "Licensed Marriage and Family Therapist",
        "LMFT",
    ),
    "psychiatrist": ("Medical Board", "Physician and Surgeon (psychiatry)", "MD"),
}
ES_COLEGIOS = {  # city -> (the colegio's territory, number prefix)
    "Madrid": ("Madrid", "M"),
    "Barcelona": ("Catalunya", "B"),
    "Valencia": ("la Comunitat Valenciana", "CV"),
    "Sevilla": ("Andalucía Occidental", "AO"),
    "Málaga": ("Andalucía Oriental", "AN"),
    "Bilbao": ("Bizkaia", "BI"),
    "Zaragoza": ("Aragón", "A"),
}
DE_KAMMERN = {
    "Berlin": "Berlin",
    "Hamburg": "Hamburg",
    "München": "Bayern",
    "Köln": "Nordrhein-Westfalen",
    "Frankfurt": "Hessen",
    "Leipzig": "Ostdeutsche Psychotherapeutenkammer",
}
SCOTLAND = {"Glasgow", "Edinburgh"}
STATUSES = {"active": 955, "provisional": 15, "lapsed": 18, "suspended": 7, "retired": 5}


def _us_licence(state: str, kind: str, rng: random.Random) -> dict[str, Any]:
    board, title, prefix = US_TITLES[kind]
    register = (
        "New York State Education Department, Office of the Professions"
        if state == "US-NY"
        else f"{US_STATE_NAMES[state]} {board}"
    )
    return {
        "jurisdiction": state,
        "register": register,
        "number": f"{prefix} {rng.randint(1000, 129999):06d}",
        "title": title,
        # US licences are renewed every two or three years; a few have run out unrenewed.
        "expires": day(rng.randint(-150, -1) if rng.random() < 0.03 else rng.randint(20, 1000)),
    }


def _european_licence(entry: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    country, city, kind, gender = (
        entry["country"],
        entry["city"],
        entry["licence_type"],
        entry["gender"],
    )
    expires: str | None = None
    if country == "ES":
        territory, prefix = ES_COLEGIOS[city]
        if kind == "psychiatrist":
            register, title = (
                f"Colegio Oficial de Médicos de {city}",
                "Médico especialista en Psiquiatría",
            )
        else:
            register = (
                "Col·legi Oficial de Psicologia de Catalunya"
                if city == "Barcelona"
                else f"Colegio Oficial de la Psicología de {territory}"
            )
            title = (
                gendered(
                    gender,
                    "Psicóloga Especialista en Psicología Clínica",
                    "Psicólogo Especialista en Psicología Clínica",
                    "Psicólogo/a Especialista en Psicología Clínica",
                )
                if kind == "clinical_psychologist"
                else gendered(
                    gender,
                    "Psicóloga General Sanitaria",
                    "Psicólogo General Sanitario",
                    "Psicólogo/a General Sanitario/a",
                )
            )
        number, jurisdiction = f"{prefix}-{rng.randint(1000, 39999)}", "ES"
    elif country == "NL":
        big = {
            "clinical_psychologist": "Klinisch psycholoog",
            "counselling_psychologist": "Gezondheidszorgpsycholoog",
            "psychotherapist": "Psychotherapeut",
            "psychiatrist": "Arts (specialist psychiatrie)",
        }
        if kind in big:
            register, title = "BIG-register", big[kind]
            number = f"{rng.randint(10**10, 10**11 - 1)}"
            expires = day(rng.randint(-60, -1) if rng.random() < 0.02 else rng.randint(30, 1800))
        else:  # not a BIG profession: a professional body's register, renewed every year
            register, title = {
                "clinical_social_worker": ("Registerplein", "Geregistreerd sociaal werker"),
                "professional_counsellor": (
                    "Algemene Beroepsvereniging voor Counselling",
                    "Geregistreerd counselor ABvC",
                ),
                "marriage_family_therapist": (
                    "Nederlandse Vereniging voor Relatie- en Gezinstherapie",
                    "Geregistreerd relatie- en gezinstherapeut",
                ),
            }[kind]
            number = f"R{rng.randint(10000, 99999)}"
            expires = day(rng.randint(-30, -1) if rng.random() < 0.03 else rng.randint(20, 400))
        jurisdiction = "NL"
    elif country == "GB":
        jurisdiction = "GB"
        if kind in PSYCHOLOGISTS:
            register = "Health and Care Professions Council"
            title = "Practitioner psychologist (" + (
                "clinical)" if kind == "clinical_psychologist" else "counselling)"
            )
            number, expires = f"PYL{rng.randint(10000, 79999):06d}", "2027-05-31"
        elif kind == "psychiatrist":
            register = "General Medical Council (specialist register: psychiatry)"
            title, number = "Registered medical practitioner", f"{rng.randint(3000000, 7999999)}"
        elif kind == "clinical_social_worker":  # social work is registered per nation
            if city in SCOTLAND:
                register, jurisdiction = "Scottish Social Services Council", "GB-SCT"
            else:
                register, jurisdiction = "Social Work England", "GB-ENG"
            title, number = "Registered social worker", f"SW{rng.randint(10000, 199999)}"
            expires = day(rng.randint(-40, -1) if rng.random() < 0.03 else rng.randint(20, 365))
        elif kind == "professional_counsellor":
            register = "British Association for Counselling and Psychotherapy (accredited register)"
            title, number = (
                "Accredited registered counsellor",
                f"BACP-{rng.randint(100000, 499999)}",
            )
            expires = day(rng.randint(-40, -1) if rng.random() < 0.03 else rng.randint(20, 365))
        else:
            register = "UK Council for Psychotherapy (accredited register)"
            title = (
                "UKCP registered systemic psychotherapist"
                if kind == "marriage_family_therapist"
                else "UKCP registered psychotherapist"
            )
            number = f"UKCP-{rng.randint(1995, 2025)}-{rng.randint(1, 2999):04d}"
            expires = day(rng.randint(-40, -1) if rng.random() < 0.03 else rng.randint(20, 365))
    elif country == "DE":
        jurisdiction = "DE"
        land = DE_KAMMERN[city]
        if kind == "psychiatrist":
            register = f"Ärztekammer {land}".replace(
                "Ärztekammer Ostdeutsche Psychotherapeutenkammer", "Sächsische Landesärztekammer"
            )
            title = gendered(
                gender,
                "Fachärztin für Psychiatrie und Psychotherapie",
                "Facharzt für Psychiatrie und Psychotherapie",
                "Fachärzt*in für Psychiatrie und Psychotherapie",
            )
        elif kind == "professional_counsellor":  # a Heilpraktiker licence, from the local office
            register = f"Gesundheitsamt {city}"
            title = gendered(
                gender,
                "Heilpraktikerin für Psychotherapie",
                "Heilpraktiker für Psychotherapie",
                "Heilpraktiker*in für Psychotherapie",
            )
        else:  # the Approbation, with membership of the Land's chamber
            register = land if land.startswith("Ost") else f"Psychotherapeutenkammer {land}"
            title = gendered(
                gender,
                "Psychologische Psychotherapeutin",
                "Psychologischer Psychotherapeut",
                "Psychologische*r Psychotherapeut*in",
            )
        number = f"{rng.randint(10000, 99999)}-{rng.randint(10, 99)}"
    else:  # FR
        jurisdiction = "FR"
        if kind in PSYCHOLOGISTS:
            register, title = "RPPS (Répertoire partagé des professionnels de santé)", "Psychologue"
        elif kind == "psychiatrist":
            register, title = "Ordre des médecins (RPPS)", "Médecin psychiatre"
        else:
            register, title = "ARS, registre national des psychothérapeutes", "Psychothérapeute"
        number = f"10{rng.randint(10**8, 10**9 - 1)}"
    return {
        "jurisdiction": jurisdiction,
        "register": register,
        "number": number,
        "title": title,
        "expires": expires,
    }


def licences_and_compacts(entry: dict[str, Any], rng: random.Random) -> None:
    """Licences (a few lapsed, suspended or expired), and PSYPACT for some US psychologists."""
    kind = entry["licence_type"]
    if entry["country"] == "US":
        home = US_HOME[entry["city"]]
        drafts = [_us_licence(home, kind, rng)]
        if rng.random() < 0.25:
            drafts.append(_us_licence(rng.choice(US_NEIGHBOURS[home]), kind, rng))
    else:
        drafts = [_european_licence(entry, rng)]
    statuses = list(STATUSES)
    entry["licences"] = [
        {
            "jurisdiction": draft["jurisdiction"],
            "register": draft["register"],
            "number": draft["number"],
            "title": draft["title"],
            "status": rng.choices(statuses, list(STATUSES.values()))[0],
            "expires": draft["expires"],
            "verified_at": day(-rng.randint(0, 150)),  # registers are checked every few months
        }
        for draft in drafts
    ]
    entry["compacts"] = []
    members = [lic for lic in entry["licences"] if lic["jurisdiction"] in PSYPACT]
    if kind in PSYCHOLOGISTS and members and rng.random() < 0.5:
        entry["compacts"].append(
            {
                "compact": "psypact",
                "number": f"APIT {rng.randint(100, 9999)}",
                "expires": day(
                    rng.randint(-30, -1) if rng.random() < 0.03 else rng.randint(30, 700)
                ),
                "verified_at": day(-rng.randint(0, 150)),
            }
        )


# --- availability, communication, access, affirming care, identity ----------------------------


def accepting(entry: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """When accepting_new_clients was confirmed: most within 30 days, some stale past 90."""
    age = rng.choices([(0, 30), (31, 90), (91, 240)], [55, 30, 15])[0]
    confirmed = -rng.randint(*age)
    opening = None
    if entry["accepting_new_clients"] and rng.random() < 0.45:
        opening = day(rng.randint(2, 45))  # the next opening, after today
    return {
        "verified_at": day(confirmed),
        "next_available": opening,
        "weekly_cap": rng.choices([None, 1, 2, 3, 4], [55, 15, 15, 10, 5])[0],
    }


# In the vocabulary's order (rules/vocabulary.yaml), with how often an office has each.
ACCESS = {
    "handiaccess": 0.55,
    "adacomp": 0.0,  # US offices only: see office_access
    "pubtrans": 0.7,
    "mobility": 0.08,
    "cognitive": 0.04,
    "cultcomp": 0.06,
    "anssrvc": 0.05,
    "accessible_toilet": 0.35,
    "hearing_loop": 0.12,
    "quiet_waiting_room": 0.2,
}
CAR_CITIES = {"Los Angeles", "Houston", "Miami"}


def office_access(entry: dict[str, Any], rng: random.Random) -> list[str]:
    """One office's access (Plan-Net codes and local ones); none for someone online only."""
    if "in_person" not in entry["formats"]:
        return []
    found = []
    for code, share in ACCESS.items():
        if code == "adacomp":
            share = 0.6 if entry["country"] == "US" else 0.0
        elif code == "pubtrans" and entry["city"] in CAR_CITIES:
            share = 0.3
        elif code == "hearing_loop" and entry["country"] == "GB":
            share = 0.25
        if rng.random() < share:
            found.append(code)
    return found


# Languages whose speakers are often people who migrated: a therapist speaking one is likelier
# to list experience with migration, and to integrate a faith.
MIGRATION_LANGUAGES = {"ar", "tr", "ur", "pl", "zh", "ko"}
MUSLIM_LANGUAGES = {"ar", "tr", "ur"}


def affirming_care(entry: dict[str, Any], rng: random.Random) -> list[str]:
    """Affirming competences, in the vocabulary's order: about one therapist in three lists some."""
    languages = set(entry["languages"])
    migrant = bool(languages & MIGRATION_LANGUAGES)
    lgbtq = rng.random() < 0.22
    shares = {
        "lgbtq": lgbtq,
        "transgender": lgbtq and rng.random() < 0.4,
        "neurodivergent": rng.random() < 0.12,
        "migration": rng.random() < (0.3 if migrant else 0.05),
        "racial_trauma": rng.random() < (0.1 if entry["country"] in ("US", "GB", "FR") else 0.02),
        "disability": rng.random() < 0.05,
        "faith_integrated:islam": rng.random() < (0.15 if languages & MUSLIM_LANGUAGES else 0.005),
        "faith_integrated:christianity": rng.random() < 0.03,
        "faith_integrated:judaism": rng.random() < 0.012,
    }
    return [code for code, listed in shares.items() if listed]


def identity(entry: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """Who the therapist is, for the one in eight who opted in to show it (GDPR article 9)."""
    if rng.random() >= 0.12:
        return None
    languages, affirming = set(entry["languages"]), set(entry["affirming"])
    weights = {
        "faith:islam": 6 if languages & MUSLIM_LANGUAGES else 0.5,
        "faith:christianity": 2,
        "faith:judaism": 0.7,
        "orientation:lgbtq": 8 if "lgbtq" in affirming else 1,
        "ethnicity:black": 2 if entry["country"] in ("US", "GB", "FR") else 0.5,
        "ethnicity:south_asian": 5 if "ur" in languages else 0.5,
        "ethnicity:arab": 5 if "ar" in languages else 0.3,
        "ethnicity:latin_american": 4 if entry["country"] == "US" and "es" in languages else 0.3,
        "ethnicity:east_asian": 5 if languages & {"zh", "ko"} else 0.3,
    }
    values: list[str] = []
    for _ in range(rng.choice([1, 1, 2])):
        pick = rng.choices(list(weights), list(weights.values()))[0]
        if pick not in values:
            values.append(pick)
    return {"consent": day(-rng.randint(10, 700)), "values": values}


# --- payment ------------------------------------------------------------------------------------

CURRENCIES = {"GB": "GBP", "US": "USD"}  # the others: EUR
NETWORKS = ["in_network", "reimbursement", "out_of_network"]


def _plan(
    scheme: str, payer: str | None, networks: list[int], rng: random.Random
) -> dict[str, Any]:
    return {
        "scheme": scheme,
        "payer": payer,
        "network": rng.choices(NETWORKS, networks)[0],
        "verified_at": day(-rng.randint(0, 200)),
    }


def payers(entry: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """The plans (rules/payment.yaml) a therapist works with, as they go in each country."""
    country, kind = entry["country"], entry["licence_type"]
    plans: list[dict[str, Any]] = []

    def some(scheme: str, payer: str | None, share: float, networks: list[int]) -> None:
        if rng.random() < share:
            plans.append(_plan(scheme, payer, networks, rng))

    if country == "US":
        new_york = entry["city"] == "New York"
        for payer in ("aetna", "cigna", "unitedhealthcare", "oscar"):
            some("us_commercial", payer, 0.3, [70, 20, 10])
        if new_york:
            some("us_commercial", "empire_bcbs", 0.35, [75, 15, 10])
        some("us_medicare", None, 0.3, [100, 0, 0])
        if rng.random() < 0.2:  # fee-for-service Medicaid, or a managed-care plan in New York
            managed = ["healthfirst", "fidelis_care", "metroplus"]
            plans.append(
                _plan("us_medicaid", rng.choice(managed) if new_york else None, [100, 0, 0], rng)
            )
    elif country == "NL":
        if kind not in (
            "clinical_social_worker",
            "professional_counsellor",
            "marriage_family_therapist",
        ):  # basic insurance pays BIG professionals
            for payer in ("zilveren_kruis", "vgz", "cz", "menzis", "dsw"):
                some("nl_basic", payer, 0.6, [70, 0, 30])
    elif country == "DE":
        if kind == "professional_counsellor":  # a Heilpraktiker: private insurance at most
            some("de_private", None, 0.3, [0, 100, 0])
        else:
            some("de_statutory", None, 0.55, [65, 35, 0])  # a Kassensitz, or Kostenerstattung
            some("de_private", None, 0.65, [10, 90, 0])
    elif country == "GB":
        some("gb_nhs", None, 0.15, [100, 0, 0])
        for payer, share in (
            ("bupa", 0.35),
            ("axa_health", 0.3),
            ("vitality", 0.2),
            ("aviva", 0.2),
        ):
            some("gb_private", payer, share, [85, 15, 0])
    elif country == "ES":
        for payer in ("sanitas", "adeslas", "dkv", "asisa"):
            some("es_private", payer, 0.22, [70, 30, 0])
    elif country == "FR" and kind in PSYCHOLOGISTS:
        some("fr_mon_soutien_psy", None, 0.3, [100, 0, 0])
    return plans


# --- offices --------------------------------------------------------------------------------

GAZETTEER = Path(__file__).resolve().parent.parent / "rules" / "gazetteer.yaml"
POSTCODE_LENGTH = {"ES": 5, "DE": 5, "FR": 5, "US": 5}


@functools.cache  # read-only, and the same for every roster: the tests build many small ones
def load_places() -> dict[str, Any]:
    """For every city of the gazetteer: its centre, the places near it, and their postcodes."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: five times faster
    gazetteer = yaml.load(GAZETTEER.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    # By country and name (Manchester is in England and in New Hampshire); of two places of one
    # name in one country, the first listed, as the gazetteer itself reads them.
    places: dict[tuple[str, str], Any] = {}
    for place in gazetteer["places"]:
        places.setdefault((place["country"], place["name"]), place)
    postcodes: dict[tuple[str, str], list[str]] = {}
    for country, areas in gazetteer["postcodes"].items():
        for area in areas:
            postcodes.setdefault((country, area["near"]), []).append(area["prefix"])
    near: dict[tuple[str, str], list[str]] = {}
    for (country, name), place in places.items():
        if place["kind"] != "city":
            continue
        near[(country, name)] = [
            other["name"]
            for other in places.values()
            if other["name"] != name
            and other["country"] == country
            and (other.get("of") == name or (other["kind"] == "city" and _km(place, other) < 40))
        ]
    return {"places": places, "near": near, "postcodes": postcodes}


def _km(a: dict[str, Any], b: dict[str, Any]) -> float:
    dlat = math.radians(a["lat"] - b["lat"])
    dlon = math.radians(a["lon"] - b["lon"]) * math.cos(math.radians(a["lat"]))
    return 6371.0 * math.hypot(dlat, dlon)


def _postcode(place: str, country: str, places: dict[str, Any], rng: random.Random) -> str | None:
    prefixes = places["postcodes"].get((country, place))
    if not prefixes or rng.random() < 0.15:
        return None  # not every office gives one
    prefix = rng.choice(prefixes)
    if country == "GB":  # an outward code and an inward code: "SW9 8AB"
        outward = prefix if prefix[-1].isdigit() else f"{prefix}{rng.randint(1, 20)}"
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        return f"{outward} {rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
    if country == "NL":
        digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(4 - len(prefix)))
        return f"{digits} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
    length = POSTCODE_LENGTH[country]
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix)))


def offices(entry: dict[str, Any], places: dict[str, Any], rng: random.Random) -> list[Any]:
    """Offices for someone who works in person: one in their city, some a second nearby."""
    if "in_person" not in entry["formats"]:
        return []
    city, country = entry["city"], entry["country"]
    names = [city]
    for _ in range(rng.choices([0, 1, 2], [72, 22, 6])[0]):
        names.append(rng.choice(places["near"][(country, city)] or [city]))
    found = []
    for number, name in enumerate(names):
        centre = places["places"][(country, name)]
        spread = 0.045 if centre["kind"] == "city" else 0.015  # about 5 km, or 1.5 in a district
        found.append(
            {
                "city": name,
                "postcode": _postcode(name, country, places, rng),
                "lat": round(centre["lat"] + rng.uniform(-spread, spread), 4),
                "lon": round(centre["lon"] + rng.uniform(-spread, spread) * 1.5, 4),
                # Each office its own: a second office is as often step-free as any, so some
                # therapists have one accessible office and one not.
                "access": entry["access"]
                if number == 0
                else office_access({**entry, "city": name}, rng),
            }
        )
    return found


# --- one therapist ----------------------------------------------------------------------------


def therapist(number: int, seed: int, places: dict[str, Any]) -> dict[str, Any]:
    """One plausible fictional therapist, in the field order of therapists.yaml."""
    rng = random.Random(f"{seed}:{number}")
    country = rng.choices(list(COUNTRIES), [c["weight"] for c in COUNTRIES.values()])[0]
    spec = COUNTRIES[country]
    cities = spec["cities"]
    city = rng.choices(cities, [len(cities) - i + 2 for i in range(len(cities))])[0]
    languages = list(spec["languages"])
    for extra in spec["extra"]:
        if rng.random() < (0.6 if extra == "en" else 0.12):
            languages.append(extra)
    if rng.random() < 0.02:  # signs the country's sign language
        languages.append(spec["sign"])
    count = rng.choices([1, 2, 3, 4], [25, 40, 25, 10])[0]
    modalities: list[str] = []
    while len(modalities) < count:
        pick = rng.choices(list(MODALITY_WEIGHTS), list(MODALITY_WEIGHTS.values()))[0]
        if pick not in modalities:
            modalities.append(pick)
    difficulties = sorted(
        {d for m in modalities for d in rng.sample(MODALITY_FIT[m], min(3, len(MODALITY_FIT[m])))}
    )
    formats = rng.choices([["online"], ["in_person"], ["online", "in_person"]], [23, 40, 37])[0]
    settings = ["individual"]
    if "couples_therapy" in modalities:
        settings.append("couple")
    if "family_therapy" in modalities:
        settings.append("family")
    groups = []
    if rng.random() < 0.2:
        settings.append("group")
        topic = rng.choice(difficulties)
        modality = next((m for m in modalities if topic in MODALITY_FIT[m]), modalities[0])
        groups.append(
            {
                "name": f"{topic.replace('_', ' ').capitalize()} group",
                "topic": topic,
                "modality": modality,
                "format": rng.choice(formats),
                "schedule": f"{rng.choice(WEEKDAYS)} 18:30-20:00",
                "weeks": rng.choice([6, 8, 8, 10, 12]),
            }
        )
    low, high = spec["fee"]
    fee = rng.randrange(low, high + 1, 5)
    adolescents = "family_therapy" in modalities or rng.random() < 0.08
    gender = rng.choices(["woman", "man", "non_binary"], [55, 40, 5])[0]
    kinds = LICENCE_TYPES[country]
    entry: dict[str, Any] = {
        "id": f"t-{number:06d}",
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "country": country,
        "city": city,
        "gender": gender,
        "licence_type": rng.choices(list(kinds), list(kinds.values()))[0],
        "languages": languages,
        "formats": formats,
        "accepting_new_clients": rng.random() < 0.85,
    }
    licences_and_compacts(entry, rng)
    entry["accepting"] = accepting(entry, rng)
    entry["access"] = office_access(entry, rng)  # the first office's (see offices)
    entry["works_with_interpreters"] = rng.random() < 0.15
    entry["affirming"] = affirming_care(entry, rng)
    shown = identity(entry, rng)
    has_scale = rng.random() < 0.33
    result = {
        "id": entry["id"],
        "name": entry["name"],
        "licences": entry["licences"],
        "compacts": entry["compacts"],
        "accepting": entry["accepting"],
        "works_with_interpreters": entry["works_with_interpreters"],
        "affirming": entry["affirming"],
        **({"identity": shown} if shown else {}),
        "pronouns": {"woman": "she/her", "man": "he/him", "non_binary": "they/them"}[gender],
        "gender": gender,
        "licence_type": entry["licence_type"],
        "credentials": "Licensed practitioner (synthetic profile)",
        "modalities": modalities,
        "difficulties": difficulties,
        "languages": languages,
        "formats": formats,
        "settings": settings,
        "groups": groups,
        "city": city,
        "country": country,
        "ages": {
            "min": rng.choice([12, 14, 16]) if adolescents else 18,
            "max": rng.choice([65, 75, 99]),
        },
        "fee": fee,
        "sliding_scale_min": fee - rng.randrange(10, 35, 5) if has_scale else None,
        "accepting_new_clients": entry["accepting_new_clients"],
        "availability": sorted(rng.sample(TIMES, rng.randint(1, 4)), key=TIMES.index),
        "measures_outcomes": rng.choice(
            [[], ["phq9"], ["phq9", "gad7"], ["gad7"], ["phq9", "gad7", "swls"]]
        ),
        "bio": "A synthetic profile for benchmarks; not a real person.",
        "currency": CURRENCIES.get(country, "EUR"),
        "low_fee_places": rng.choice([None, 0, 1, 2, 3]) if has_scale else None,
        "payers": payers(entry, rng),
        "offices": offices(entry, places, rng),
    }
    return result


def roster(size: int, seed: int = 7) -> dict[str, Any]:
    """A roster document of `size` therapists, the same for the same seed."""
    places = load_places()
    return {"therapists": [therapist(n, seed, places) for n in range(1, size + 1)]}


def main() -> None:
    """Write a roster of the requested size to standard output (or --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=argparse.FileType("w", encoding="utf-8"), default=sys.stdout)
    args = parser.parse_args()
    json.dump(roster(args.size, args.seed), args.out, ensure_ascii=False, separators=(",", ":"))
    args.out.write("\n")


if __name__ == "__main__":
    main()

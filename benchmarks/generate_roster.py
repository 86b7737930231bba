"""Write a realistic synthetic roster of N fictional therapists, same schema as therapists.yaml.

    python benchmarks/generate_roster.py 10000 > /tmp/roster-10k.yaml

The output is JSON, which is valid YAML, so the service reads it like the bundled roster.
Mixes of countries, cities, languages, modalities and the difficulties they fit, formats,
settings, groups, fees, sliding scales and availability follow the bundled roster's proportions.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import yaml

COUNTRIES: dict[str, dict[str, Any]] = {
    "ES": {
        "weight": 18,
        "languages": ["es"],
        "extra": ["ca", "en", "fr", "ar"],
        "fee": (50, 100),
        "cities": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga", "Zaragoza"],
    },
    "NL": {
        "weight": 14,
        "languages": ["nl"],
        "extra": ["en", "de", "ar", "tr"],
        "fee": (70, 120),
        "cities": ["Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven", "Groningen"],
    },
    "GB": {
        "weight": 20,
        "languages": ["en"],
        "extra": ["pl", "ur", "ar", "fr", "es"],
        "fee": (60, 140),
        "cities": [
            "London",
            "Manchester",
            "Birmingham",
            "Leeds",
            "Glasgow",
            "Bristol",
            "Edinburgh",
        ],
    },
    "DE": {
        "weight": 16,
        "languages": ["de"],
        "extra": ["en", "tr", "ar", "pl"],
        "fee": (70, 130),
        "cities": ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Leipzig"],
    },
    "FR": {
        "weight": 14,
        "languages": ["fr"],
        "extra": ["en", "ar", "es", "it"],
        "fee": (55, 120),
        "cities": ["Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Bordeaux"],
    },
    "US": {
        "weight": 18,
        "languages": ["en"],
        "extra": ["es", "zh", "ko", "ar", "fr"],
        "fee": (90, 220),
        "cities": ["New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Boston", "Miami"],
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
}
LICENCES = [
    "clinical_psychologist",
    "counselling_psychologist",
    "psychotherapist",
    "clinical_social_worker",
    "professional_counsellor",
    "marriage_family_therapist",
    "psychiatrist",
]
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


US_STATES = ["US-NY", "US-CA", "US-IL", "US-TX", "US-WA", "US-MA", "US-FL", "US-NJ", "US-PA"]
PSYPACT_STATES = {"US-IL", "US-TX", "US-WA", "US-FL", "US-NJ", "US-PA"}
ACCESS = ["handiaccess", "accessible_toilet", "pubtrans", "hearing_loop", "quiet_waiting_room"]
AFFIRMING = ["lgbtq", "neurodivergent", "migration", "faith_integrated:islam", "racial_trauma"]


def licensure(number: int, country: str, seed: int) -> dict[str, Any]:
    """Licences, compacts, availability confirmation, access and affirming care.

    Drawn from a generator of its own (seeded by the therapist's number), so that the other
    fields come out as before.
    """
    rng = random.Random(seed * 1_000_003 + number)
    places = [rng.choice(US_STATES)] if country == "US" else [country]
    if country == "US" and rng.random() < 0.25:
        places.append(rng.choice(US_STATES))
    licences = [
        {
            "jurisdiction": place,
            "register": "Synthetic register",
            "number": f"SYN-{number:06d}-{index}",
            "title": "Licensed practitioner",
            "status": "active" if rng.random() < 0.97 else "lapsed",
            "expires": None
            if rng.random() < 0.4
            else f"20{rng.randint(26, 29)}-0{rng.randint(1, 9)}-28",
            "verified_at": f"2026-{rng.randint(6, 11):02d}-{rng.randint(1, 28):02d}",
        }
        for index, place in enumerate(dict.fromkeys(places))
    ]
    compacts = []
    if any(place in PSYPACT_STATES for place in places) and rng.random() < 0.4:
        compacts.append(
            {
                "compact": "psypact",
                "number": f"APIT {number}",
                "expires": "2028-06-30",
                "verified_at": "2026-10-01",
            }
        )
    return {
        "licences": licences,
        "compacts": compacts,
        "accepting": {
            "verified_at": f"2026-{rng.randint(7, 11):02d}-{rng.randint(1, 28):02d}",
            "next_available": None,
            "weekly_cap": rng.choice([None, 1, 2, 3]),
        },
        "access": sorted(rng.sample(ACCESS, rng.randint(0, 3)), key=ACCESS.index),
        "works_with_interpreters": rng.random() < 0.2,
        "affirming": sorted(
            rng.sample(AFFIRMING, rng.choice([0, 0, 0, 1, 2])), key=AFFIRMING.index
        ),
    }


def therapist(number: int, rng: random.Random, seed: int = 7) -> dict[str, Any]:
    """One plausible fictional therapist."""
    country = rng.choices(list(COUNTRIES), [c["weight"] for c in COUNTRIES.values()])[0]
    spec = COUNTRIES[country]
    languages = list(spec["languages"])
    for extra in spec["extra"]:
        if rng.random() < (0.6 if extra == "en" else 0.12):
            languages.append(extra)
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
                "weeks": 8,
            }
        )
    low, high = spec["fee"]
    fee = rng.randrange(low, high + 1, 5)
    adolescents = "family_therapy" in modalities or rng.random() < 0.08
    gender = rng.choices(["woman", "man", "non_binary"], [55, 40, 5])[0]
    return {
        "id": f"t-{number:06d}",
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        **licensure(number, country, seed),
        "pronouns": {"woman": "she/her", "man": "he/him", "non_binary": "they/them"}[gender],
        "gender": gender,
        "licence_type": rng.choice(LICENCES),
        "credentials": "Licensed practitioner (synthetic profile)",
        "modalities": modalities,
        "difficulties": difficulties,
        "languages": languages,
        "formats": formats,
        "settings": settings,
        "groups": groups,
        "city": rng.choice(spec["cities"]),
        "country": country,
        "ages": {
            "min": rng.choice([12, 14, 16]) if adolescents else 18,
            "max": rng.choice([65, 75, 99]),
        },
        "fee": fee,
        "sliding_scale_min": fee - rng.randrange(10, 35, 5) if rng.random() < 0.33 else None,
        "accepting_new_clients": rng.random() < 0.85,
        "availability": sorted(rng.sample(TIMES, rng.randint(1, 4)), key=TIMES.index),
        "measures_outcomes": rng.choice(
            [[], ["phq9"], ["phq9", "gad7"], ["gad7"], ["phq9", "gad7", "swls"]]
        ),
        "bio": "A synthetic profile for benchmarks; not a real person.",
    }


CURRENCIES = {"GB": "GBP", "US": "USD"}  # the others: EUR
# Plans a therapist of each country may take (rules/payment.yaml): (scheme, payer or None).
PLANS = {
    "US": [("us_commercial", "aetna"), ("us_commercial", "cigna"), ("us_medicare", None)],
    "NL": [("nl_basic", "vgz"), ("nl_basic", "cz"), ("nl_basic", "zilveren_kruis")],
    "DE": [("de_statutory", None), ("de_private", None)],
    "GB": [("gb_nhs", None), ("gb_private", "bupa"), ("gb_private", "axa_health")],
    "ES": [("es_private", "sanitas"), ("es_private", "dkv")],
    "FR": [("fr_mon_soutien_psy", None)],
}
GAZETTEER = Path(__file__).resolve().parent.parent / "rules" / "gazetteer.yaml"


def payment_and_offices(entry: dict[str, Any], seed: int, centres: dict[str, Any]) -> None:
    """Add per-therapist currency, low-fee places, payers and offices near the city's centre.

    Drawn from a generator of its own (seeded by the therapist's id), so that the other
    fields come out as before.
    """
    rng = random.Random(f"{seed}:{entry['id']}")
    country = entry["country"]
    entry["currency"] = CURRENCIES.get(country, "EUR")
    has_scale = entry["sliding_scale_min"] is not None
    entry["low_fee_places"] = rng.choice([None, 0, 1, 2, 3]) if has_scale else None
    plans = rng.sample(PLANS[country], rng.randint(0, len(PLANS[country])))
    entry["payers"] = [
        {
            "scheme": scheme,
            "payer": payer,
            "network": rng.choice(["in_network", "in_network", "reimbursement", "out_of_network"]),
            "verified_at": f"2026-{rng.randint(6, 11):02d}-{rng.randint(1, 28):02d}",
        }
        for scheme, payer in plans
    ]
    entry["offices"] = []
    if "in_person" in entry["formats"]:
        lat, lon = centres[entry["city"]]
        for _ in range(rng.choice([1, 1, 1, 2])):
            entry["offices"].append(
                {
                    "city": entry["city"],
                    "postcode": None,
                    "lat": round(lat + rng.uniform(-0.08, 0.08), 4),
                    "lon": round(lon + rng.uniform(-0.12, 0.12), 4),
                }
            )


def roster(size: int, seed: int = 7) -> dict[str, Any]:
    """A roster document of `size` therapists, the same for the same seed."""
    rng = random.Random(seed)
    places = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))["places"]
    centres = {p["name"]: (p["lat"], p["lon"]) for p in places}
    therapists = [therapist(n, rng, seed) for n in range(1, size + 1)]
    for entry in therapists:
        payment_and_offices(entry, seed, centres)
    return {"therapists": therapists}


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

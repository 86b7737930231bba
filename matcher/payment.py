"""How people pay: payment schemes, payers and currencies from rules/payment.yaml."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycountry

from matcher.errors import ConfigError
from matcher.yamlfile import load_yaml

PAYMENT_FILE = "payment.yaml"
NETWORK_STATUSES = ("in_network", "reimbursement", "out_of_network")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Scheme:
    """One way a plan pays for therapy (US commercial plans, Dutch basic insurance, the NHS...)."""

    id: str
    label: str
    country: str
    payer_required: bool
    payers: dict[str, str]  # payer id -> name
    network_words: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentConfig:
    """Schemes, network statuses and currencies, from rules/payment.yaml."""

    schemes: dict[str, Scheme]
    network_statuses: dict[str, str]
    covered_by: frozenset[str]
    currencies: dict[str, str]  # ISO 3166-1 country -> ISO 4217 currency
    default_currency: str

    def payer_id(self, scheme: str, text: str) -> str | None:
        """The id of a payer of `scheme` written as its id or its name (any case or accents)."""
        payers = self.schemes[scheme].payers
        wanted = _fold(text)
        for payer_id, name in payers.items():
            if wanted in (payer_id, _fold(name)):
                return payer_id
        return None

    def network_words(self, scheme: str, status: str) -> str:
        """How a network status reads for one scheme: 'contracted (gecontracteerd)'."""
        known = self.schemes.get(scheme)
        words = known.network_words.get(status) if known else None
        return words or self.network_statuses[status]

    def payer_name(self, scheme: str, payer: str | None) -> str:
        """'Aetna (US commercial health plan)', or the scheme's label alone."""
        known = self.schemes.get(scheme)
        label = known.label if known else scheme
        if payer is None:
            return label
        name = known.payers.get(payer, payer) if known else payer
        return f"{name} ({label})"

    def plans_of(self, entries: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
        """A profile's payers as (plan, network words): ('Aetna (US ...)', 'in network')."""
        return [
            (
                self.payer_name(e["scheme"], e.get("payer")),
                self.network_words(e["scheme"], e["network"]),
            )
            for e in entries
        ]


def _require(ok: bool, name: str, where: str, problem: str) -> None:
    if not ok:
        raise ConfigError(name, f"{where}: {problem}")


def load_payment(path: Path, name: str) -> PaymentConfig:
    """Load and validate rules/payment.yaml; raise ConfigError naming the entry and the problem."""
    data = load_yaml(path, name)
    _require(isinstance(data, dict), name, "file", "must be a mapping")
    known = {"network_statuses", "covered_by", "currencies", "default_currency", "schemes"}
    for key in known:
        _require(key in data, name, key, "required, but missing")
    for key in data:
        _require(key in known, name, str(key), "unknown key")
    statuses = data["network_statuses"]
    _require(
        isinstance(statuses, dict) and sorted(statuses) == sorted(NETWORK_STATUSES),
        name,
        "network_statuses",
        f"must give the words for exactly {', '.join(NETWORK_STATUSES)}",
    )
    covered = data["covered_by"]
    _require(
        isinstance(covered, list) and bool(covered) and set(covered) <= set(NETWORK_STATUSES),
        name,
        "covered_by",
        f"must list some of {', '.join(NETWORK_STATUSES)}",
    )
    currencies = data["currencies"]
    _require(isinstance(currencies, dict), name, "currencies", "must map countries to currencies")
    for country, currency in currencies.items():
        _require(
            bool(_COUNTRY.match(str(country))) and is_currency(currency),
            name,
            f"currencies: {country!r}",
            "must map an ISO 3166-1 alpha-2 code to an ISO 4217 code",
        )
    default = data["default_currency"]
    _require(
        is_currency(default),
        name,
        "default_currency",
        f"{default!r} is not an ISO 4217 code",
    )
    schemes: dict[str, Scheme] = {}
    _require(isinstance(data["schemes"], list), name, "schemes", "must be a list")
    for number, raw in enumerate(data["schemes"], start=1):
        where = f"scheme #{number}"
        _require(isinstance(raw, dict), name, where, "must be a mapping")
        scheme_id = raw.get("id")
        where = f"scheme {scheme_id!r}" if isinstance(scheme_id, str) else where
        allowed = {"id", "label", "country", "payer_required", "payers", "network_words"}
        for key in raw:
            _require(key in allowed, name, where, f"unknown key {key!r}")
        _require(isinstance(scheme_id, str) and bool(_ID.match(scheme_id)), name, where, "bad id")
        _require(scheme_id not in schemes, name, where, "listed twice")
        _require(isinstance(raw.get("label"), str) and bool(raw["label"]), name, where, "label")
        _require(bool(_COUNTRY.match(str(raw.get("country")))), name, where, "country")
        _require(isinstance(raw.get("payer_required"), bool), name, where, "payer_required")
        payers: dict[str, str] = {}
        for payer in raw.get("payers") or []:
            payer_ok = isinstance(payer, dict) and set(payer) == {"id", "name"}
            _require(payer_ok, name, where, f"payer {payer!r}: needs exactly id and name")
            _require(bool(_ID.match(str(payer["id"]))), name, where, f"payer id {payer['id']!r}")
            _require(payer["id"] not in payers, name, where, f"payer {payer['id']!r} twice")
            payers[payer["id"]] = str(payer["name"])
        _require(
            not raw["payer_required"] or bool(payers),
            name,
            where,
            "payer_required, but no payers listed",
        )
        words = raw.get("network_words") or {}
        _require(
            isinstance(words, dict) and set(words) <= set(NETWORK_STATUSES),
            name,
            where,
            f"network_words: keys must be among {', '.join(NETWORK_STATUSES)}",
        )
        schemes[scheme_id] = Scheme(
            id=scheme_id,
            label=raw["label"],
            country=raw["country"],
            payer_required=raw["payer_required"],
            payers=payers,
            network_words={str(k): str(v) for k, v in words.items()},
        )
    return PaymentConfig(
        schemes=schemes,
        network_statuses={str(k): str(v) for k, v in statuses.items()},
        covered_by=frozenset(covered),
        currencies={str(k): str(v) for k, v in currencies.items()},
        default_currency=default,
    )


def is_currency(code: Any) -> bool:
    """Say whether `code` is an ISO 4217 currency code, in capitals: EUR, GBP, USD."""
    return (
        isinstance(code, str)
        and bool(_CURRENCY.match(code))
        and pycountry.currencies.get(alpha_3=code) is not None
    )


@dataclass(frozen=True)
class Budget:
    """The most a person can pay per session, in a currency."""

    amount: int
    currency: str


@dataclass(frozen=True)
class Plan:
    """The plan a person will pay with: a scheme, and its payer when the scheme has several."""

    scheme: str
    payer: str | None

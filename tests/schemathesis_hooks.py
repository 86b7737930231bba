"""schemathesis hooks: requests as a well-behaved client sends them.

A client sends a new Idempotency-Key with each new request (the README says a random UUID);
schemathesis would otherwise reuse short generated keys across different bodies, which the
service rightly refuses (422), and report them as valid requests rejected. Likewise a client
picks a location's region from its country's ISO 3166-2 list, which the schema cannot express.
"""

from __future__ import annotations

import uuid
from typing import Any

import pycountry
import schemathesis

from matcher.places import is_region


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Give each request its own Idempotency-Key, and a location's region one of its country's."""
    headers = case.headers or {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
        case.headers = headers
    # A location's region is one of its own country's (the schema cannot say so).
    body = case.body if isinstance(case.body, dict) else {}
    _consistent(body.get("location"))
    intake = body.get("intake")
    if isinstance(intake, dict):
        _consistent(intake.get("location"))


def _consistent(location: Any) -> None:
    """A region of the location's own country, as a client picks from ISO 3166-2, or none."""
    if not isinstance(location, dict) or "region" not in location:
        return
    region, country = location["region"], location.get("country")
    if not (isinstance(region, str) and isinstance(country, str)):
        return
    if not (is_region(region) and region.startswith(f"{country}-")):
        regions = pycountry.subdivisions.get(country_code=country) or []
        if regions:
            location["region"] = sorted(str(r.code) for r in regions)[0]
        else:
            del location["region"]

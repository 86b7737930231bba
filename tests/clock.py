"""The date the suite runs on, whatever the calendar says: licences and confirmations expire.

conftest.py sets MATCHER_TODAY to it for every app and server the tests start; tests that build
a Matcher themselves pass `today=lambda: TODAY`.
"""

from __future__ import annotations

from datetime import date

TODAY = date(2026, 12, 1)

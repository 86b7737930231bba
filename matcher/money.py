"""Money as people read it: one format for every page, sentence and e-mail."""

from __future__ import annotations

from matcher import i18n


def format_money(amount: int, currency: str, language: str = i18n.SOURCE_LANGUAGE) -> str:
    """80, EUR -> €80 in English, 80 € in Spanish. The one place an amount of money is written.

    Babel's format_currency with the language's CLDR pattern (matcher.i18n.money).
    """
    return i18n.money(amount, currency, language)

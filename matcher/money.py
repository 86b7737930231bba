"""Money as people read it: one format for every page, sentence and e-mail."""

from __future__ import annotations

# Currencies written with a symbol before the amount; any other reads "80 CHF".
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_money(amount: int, currency: str) -> str:
    """80, EUR -> €80; 80, CHF -> 80 CHF. The one place an amount of money is written."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"

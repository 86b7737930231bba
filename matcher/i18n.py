"""Languages: which ones the service ships, their names and direction, the messages the code
builds (gettext catalogs in matcher/translations) and money, numbers and dates per locale.

Domain code: Babel only, no Flask. The web layer picks the language of a request; everything
here takes it as an argument.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, format_timedelta, get_timezone
from babel.languages import get_official_languages
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, get_currency_name
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
# The language the code and the rules are written in; every other one translates it.
SOURCE_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction looks for
    """Mark a module-level message for extraction; it is translated where it is used."""
    return message


def catalog_languages() -> tuple[str, ...]:
    """The languages with a gettext catalog in matcher/translations, English first."""
    found = (
        sorted(path.name for path in TRANSLATIONS_DIR.iterdir() if (path / "LC_MESSAGES").is_dir())
        if TRANSLATIONS_DIR.is_dir()
        else []
    )
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


SHIPPED_LANGUAGES = catalog_languages()


@functools.lru_cache(maxsize=64)
def locale(language: str) -> Locale:
    """Babel's Locale for a language code, English for one Babel does not know."""
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE_LANGUAGE)


def direction(language: str) -> str:
    """'rtl' for a right-to-left language (Arabic), else 'ltr': the page's dir attribute."""
    return "rtl" if locale(language).text_direction == "rtl" else "ltr"


def own_name(language: str) -> str:
    """A language named in its own script, as its speakers write it: Español, العربية."""
    name = locale(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


@functools.lru_cache(maxsize=4096)
def language_name(code: str, in_language: str) -> str | None:
    """An ISO 639-1 language's name in another language (Spanish, 'español' in es), or None."""
    try:
        name = Locale.parse(in_language).languages.get(code)
    except (UnknownLocaleError, ValueError):
        return None
    return str(name) if name else None


@functools.lru_cache(maxsize=256)
def currency_name(code: str, language: str) -> str:
    """An ISO 4217 currency in words in a language: GBP -> 'British Pound', 'libra esterlina'."""
    try:
        return str(get_currency_name(code, locale=locale(language)))
    except (UnknownLocaleError, ValueError):
        return code


@functools.lru_cache(maxsize=256)
def country_language(country: str) -> str | None:
    """The main language of a country (CLDR's first official one, de facto): GB -> en, ES -> es."""
    try:
        official = get_official_languages(country, de_facto=True)
    except (TypeError, ValueError):
        return None
    return str(official[0]).split("_")[0] if official else None


@functools.lru_cache(maxsize=16)
def translations(language: str) -> NullTranslations:
    """The compiled gettext catalog of a language; English (the source) translates nothing.

    A language whose .mo is missing gets no translations at all rather than an error: the
    catalogs are compiled by `python3 dev.py catalogs` (every dev.py command runs it).
    """
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language], DOMAIN)


def gettext_for(language: str) -> Callable[[str], str]:
    """The gettext function of a language."""
    return translations(language).gettext


def join_words(words: Sequence[str], language: str, style: str = "standard") -> str:
    """Join words as the language writes a list: 'a, b and c', 'a, b y c', 'a و b'.

    `style` is CLDR's: "standard" (and), "or".
    """
    items = list(words)
    if not items:
        return ""
    # The English of the rules writes lists without a serial comma: British English's CLDR list.
    where = "en_GB" if language == SOURCE_LANGUAGE else locale(language)
    return str(format_list(items, style="or" if style == "or" else "standard", locale=where))


def money(amount: int | float | Decimal, currency: str, language: str, code: bool = False) -> str:
    """An amount of money as the language writes it: €80 in en, 80 € in es and de, € 80 in nl.

    `code` writes the currency's ISO code instead of its symbol (80 EUR), as the explanations'
    sentences do. The one money formatter of the service: pages, explanations and the API.
    """
    whole = float(amount).is_integer()
    if code:
        pattern = "#,##0 ¤¤" if whole else "#,##0.00 ¤¤"
    else:
        pattern = locale(language).currency_formats["standard"].pattern
        pattern = pattern.replace(".00", "") if whole else pattern
    return str(
        format_currency(
            amount,
            currency,
            # Fees are whole amounts: 80 €, not 80,00 €; an amount with cents keeps them.
            format=pattern,
            locale=locale(language),
            currency_digits=False,
        )
    )


def number(value: int | float | Decimal, language: str) -> str:
    """A number as the language writes it: 2.5 in en, 2,5 in es."""
    return str(format_decimal(value, locale=locale(language)))


def date_time(moment: datetime, language: str, time_zone: str | None = None) -> str:
    """A moment in the clinic's time zone, written the language's way (medium length)."""
    zone = get_timezone(time_zone or "UTC")
    written = format_datetime(moment, format="medium", tzinfo=zone, locale=locale(language))
    # The zone named after the time: staff in two countries read the same moment.
    return f"{written} ({time_zone or 'UTC'})"


def clock_time(moment: datetime, language: str, zone: tzinfo, with_date: bool = True) -> str:
    """A moment on a staff page: in the clinic's zone, written the language's way, the zone's
    abbreviation after it (1 Dec 2026, 14:05 GMT; 1 dic 2026, 15:05 CET), or the time alone."""
    local = moment.astimezone(zone)
    where = _dates_locale(language)
    time = str(format_time(local, format="short", locale=where))
    written = time
    if with_date:
        day = str(format_date(local, format="medium", locale=where))
        written = where.datetime_formats["medium"].format(time, day)
    return f"{written} {local.tzname()}"


def _dates_locale(language: str) -> Locale:
    # The English of the service writes dates the British way: 7 December 2026.
    return locale("en_GB" if language == SOURCE_LANGUAGE else language)


def long_date(day: date, language: str) -> str:
    """A date as the language writes it in a sentence: 7 December 2026, 7 de diciembre de 2026."""
    return str(format_date(day, format="long", locale=_dates_locale(language)))


# The year and what ties it to the rest of a full date: ", y", " 'de' y", "، y".
_YEAR = re.compile(r"[\s,\u060c]*(?:'de'\s*)?y+")


def weekday_date(day: date, language: str) -> str:
    """A coming day, weekday first, no year: Thursday 3 December; jueves, 3 de diciembre."""
    if language == SOURCE_LANGUAGE:
        return f"{day:%A} {day.day} {day:%B}"
    pattern = _YEAR.sub("", locale(language).date_formats["full"].pattern)
    return str(format_date(day, format=pattern, locale=locale(language)))


TODAY = N_("today")
YESTERDAY = N_("yesterday")


def days_ago(days: int, language: str) -> str:
    """How long ago, in days, as the language says it: today, yesterday, 7 days ago, hace 7 días."""
    if days <= 0:
        return gettext_for(language)(TODAY)
    if days == 1:
        return gettext_for(language)(YESTERDAY)
    return str(
        format_timedelta(
            timedelta(days=-days),
            granularity="day",
            threshold=days + 1,  # always in days: never "3 weeks ago" for 21 days
            add_direction=True,
            locale=_dates_locale(language),
        )
    )


def kilometres(km: int | float, language: str) -> str:
    """A distance as the language writes it with its unit: 10 km, 2,5 km."""
    from babel.units import format_unit

    return str(format_unit(km, "length-kilometer", length="short", locale=locale(language)))


def stale_catalogs() -> list[Path]:
    """The .po catalogs whose compiled .mo is missing or older than the .po."""
    stale = []
    for po in sorted(TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    return stale


def compile_catalogs() -> list[Path]:
    """Compile every stale .po into its .mo (what `pybabel compile` does); return those done."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    done = []
    for po in stale_catalogs():
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        # Written aside, then renamed: a test worker compiling at the same moment as another
        # (pytest -n) never reads half a file.
        mo = po.with_suffix(".mo")
        partial = mo.with_name(f".{mo.name}.{os.getpid()}")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        os.replace(partial, mo)
        done.append(po)
    translations.cache_clear()
    return done

"""The language of each request: chosen on the page (kept in the session), else the browser's
Accept-Language, else the clinic's MATCHER_DEFAULT_LANGUAGE; Flask-Babel translates with it.

Pages say which language they are in with `<html lang dir>`; every answer says it in
`Content-Language`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request, session
from flask.wrappers import Response
from flask_babel import Babel

from matcher import i18n
from matcher.errors import ConfigError
from matcher.localise import is_fallback

SESSION_KEY = "language"


def enabled_languages() -> tuple[str, ...]:
    """The languages this service offers (MATCHER_LANGUAGES, by default every shipped one)."""
    languages: tuple[str, ...] = current_app.extensions["languages"]
    return languages


def chosen_language() -> str | None:
    """The language the person picked on a page, if it is still offered."""
    picked = session.get(SESSION_KEY)
    return picked if picked in enabled_languages() else None


def request_language() -> str:
    """The language of this request: picked, else Accept-Language, else the clinic's default."""
    if "language" in g:
        return str(g.language)
    language = None if request.blueprint == "api" else chosen_language()
    if language is None:
        language = request.accept_languages.best_match(enabled_languages())
    if language is None:
        language = str(current_app.config["DEFAULT_LANGUAGE"])
    g.language = language
    return language


def remember(language: str) -> bool:
    """Keep the person's pick for the rest of their visit; False for a language not offered."""
    if language not in enabled_languages():
        return False
    session[SESSION_KEY] = language
    g.language = language
    return True


def language_choices() -> list[dict[str, str]]:
    """The switcher's entries: each language in its own script, with its code and direction."""
    return [
        {"code": code, "name": i18n.own_name(code), "dir": i18n.direction(code)}
        for code in enabled_languages()
    ]


def language_label(code: str | None) -> str:
    """A language for staff to read: in its own script, and in the page's language if other."""
    if not code:
        return ""
    own = i18n.own_name(code)
    here = i18n.language_name(code, request_language()) or code
    return own if here.casefold() == own.casefold() else f"{own} ({here})"


def _page_language() -> dict[str, Any]:
    language = request_language()
    return {
        "page_language": language,
        "page_direction": i18n.direction(language),
        "language_choices": language_choices(),
        "language_label": language_label,
    }


def _content_language(response: Response) -> Response:
    if "language" in g and "Content-Language" not in response.headers:
        response.headers["Content-Language"] = str(g.language)
    vary = response.headers.get("Vary", "")
    if "language" in g and "accept-language" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
    return response


def _configured(app: Flask) -> tuple[str, ...]:
    shipped = i18n.SHIPPED_LANGUAGES
    wanted = app.config["LANGUAGES"]
    if wanted in (None, ""):
        languages = shipped
    else:
        listed = wanted.split(",") if isinstance(wanted, str) else wanted
        if not isinstance(listed, list | tuple) or not all(isinstance(c, str) for c in listed):
            raise ConfigError("MATCHER_LANGUAGES", f"{wanted!r} is not a list of language codes")
        languages = tuple(code.strip() for code in listed if code.strip())
        unknown = [code for code in languages if code not in shipped]
        if unknown:
            raise ConfigError(
                "MATCHER_LANGUAGES",
                f"{', '.join(unknown)} not shipped (shipped: {', '.join(shipped)})",
            )
    default = app.config["DEFAULT_LANGUAGE"]
    if default not in languages:
        raise ConfigError(
            "MATCHER_DEFAULT_LANGUAGE",
            f"{default!r} is not one of the languages offered ({', '.join(languages)})",
        )
    return tuple(languages)


def install(app: Flask) -> None:
    """Set up Flask-Babel on the request's language, the page context and Content-Language."""
    app.extensions["languages"] = _configured(app)
    Babel(
        app,
        locale_selector=request_language,
        timezone_selector=lambda: app.config["CLINIC_TIMEZONE"],
        default_translation_directories=str(i18n.TRANSLATIONS_DIR),
    )
    app.context_processor(_page_language)
    # `{% if text is fallback %} lang="en"{% endif %}`: English standing in for a translation.
    app.jinja_env.tests["fallback"] = is_fallback
    app.after_request(_content_language)

"""What counts as plain text: what people may write in a free-text field, and how to show the rest.

A lone UTF-16 surrogate cannot be encoded as UTF-8 at all (a page holding one cannot be sent),
control characters break lines and logs, and bidirectional overrides make a name read as
something else on the receptionist's screen. Free-text fields refuse them at the boundary;
whatever was stored before that is shown with each such character replaced, never a failed page.
"""

from __future__ import annotations

import re
import string
import unicodedata

# Embeddings, overrides and isolates: they reorder what follows them on screen.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
REPLACEMENT = "\ufffd"
# The same refusal as regular-expression classes, for the OpenAPI document. Lone surrogates are
# left out: they are not Unicode text, so no generated client sends them, and some regex
# dialects (Rust's, which schemathesis uses) cannot name them; plain_text refuses them all the same.
_REFUSED = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
PLAIN_CHARACTER = f"[^{_REFUSED}]"
VISIBLE_CHARACTER = f"[^\\s{_REFUSED}]"
PLAIN_TEXT_PATTERN = f"^{PLAIN_CHARACTER}*$"
# Plain text with at least one visible character.
VISIBLE_TEXT_PATTERN = f"^{PLAIN_CHARACTER}*{VISIBLE_CHARACTER}{PLAIN_CHARACTER}*$"


def unsafe_character(character: str) -> str | None:
    """What is wrong with one character in a free-text field, or None if it is plain text."""
    if character in BIDI_CONTROLS:
        return "a bidirectional override"
    category = unicodedata.category(character)
    if category == "Cs":
        return "a lone surrogate, which is not text"
    if category == "Cc":
        return "a control character"
    if category in ("Zl", "Zp"):
        return "a line or paragraph separator"
    return None


def first_unsafe(text: str) -> str | None:
    """A sentence naming the first character a free-text field may not hold, or None."""
    for position, character in enumerate(text, start=1):
        problem = unsafe_character(character)
        if problem:
            return (
                f"Contains {problem} (U+{ord(character):04X}, character {position}); "
                "only printable text is accepted."
            )
    return None


# Harmless in a page, and present in texts the service writes itself (rules, roster).
SHOWN_AS_IS = frozenset("\t\n\r")


# What unsafe_character refuses, as one class: the controls (category Cc) but SHOWN_AS_IS,
# the line and paragraph separators (Zl, Zp), the bidirectional controls and the surrogates (Cs).
# Every page's printed values pass through displayable, whole rendered blocks among them, so
# this runs in C; tests/test_unsafe_text.py checks it against unsafe_character, character by
# character, over every code point.
_NOT_DISPLAYABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def displayable(text: str) -> str:
    """`text` with each character a free-text field may not hold (but tab and newline) as U+FFFD."""
    if text.isprintable():  # the common case, checked in C: no control, format or surrogate
        return text
    return _NOT_DISPLAYABLE.sub(REPLACEMENT, text)


def template_fields(text: str) -> set[str]:
    """The {placeholders} a text template names; ValueError when its braces are malformed."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

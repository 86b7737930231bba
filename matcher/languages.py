"""Language codes: what an intake may ask for and a therapist may speak or sign."""

from __future__ import annotations

import pycountry

# Sign languages have no ISO 639-1 code: each is an ISO 639-3 code (bfi British Sign Language,
# ase American Sign Language), and sgn (ISO 639-2) stands for "a sign language" unspecified.
SIGN_LANGUAGE_CODES = sorted(
    {
        str(language.alpha_3)
        for language in pycountry.languages
        if str(language.name).endswith("Sign Language")
    }
    | {"sgn"}
)
# Every ISO 639-1 code, lowercase, and the sign languages: what an intake may ask for and a
# therapist may speak or sign.
LANGUAGE_CODES = (
    sorted(
        str(language.alpha_2) for language in pycountry.languages if hasattr(language, "alpha_2")
    )
    + SIGN_LANGUAGE_CODES
)
SIGN_LANGUAGES = frozenset(SIGN_LANGUAGE_CODES)

__all__ = ["LANGUAGE_CODES", "SIGN_LANGUAGE_CODES", "SIGN_LANGUAGES"]

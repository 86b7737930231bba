"""The validation messages of the API and the forms, in the language of the request.

The domain writes its messages in English, with the values it found in them ("'xx' is not an
ISO 639-1 language code."). At the edge each is matched against the templates below (and
marshmallow's own messages) and said in the request's language with the same values; the
field paths, ids and codes in it never change. A message no template matches stays English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from flask_babel import gettext

from matcher.i18n import N_

# Messages that carry no value, as the schemas and marshmallow write them.
FIXED = (
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Unknown field."),
    N_("Invalid input type."),
    N_("Invalid type."),
    N_("Invalid value."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Not a valid string."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Not a valid mapping type."),
    N_("Not a valid email address."),
    N_("Not a valid date."),
    N_("Required when format is in_person."),
    N_("Required with method insurance."),
    N_("Only with method insurance."),
    N_("Give an email address or a phone number."),
    N_("Not a phone number we can call."),
    N_("Choose a therapist from the list."),
    N_("A postcode is letters, digits, spaces and hyphens."),
    # The referral queue's refusals (matcher/storage/referrals.py), said on the staff pages.
    N_("someone else changed this referral since you opened it; nothing was changed"),
    N_("an urgent referral must be acknowledged first"),
    N_("say which therapist it is booked with"),
    N_("say why it is closed"),
    N_("write the note first"),
)

# Messages with values, most specific first. A value is shown as the message gave it: an id,
# a code or a number stays what the API's user sent or must send.
TEMPLATES = (
    N_("Length must be between {min} and {max}."),
    N_("Longer than maximum length {max}."),
    N_("Shorter than minimum length {min}."),
    N_("Must be one of: {choices}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min}."),
    N_("Must be less than or equal to {max}."),
    N_("{value} is listed twice."),
    N_('Answer yes or no (true/false, "yes"/"no", 1/0), not {value}.'),
    N_("{value} is not an ISO 639-1 language code."),
    N_("{value} is not an ISO 3166-1 alpha-2 country code (did you mean {suggestion}?)."),
    N_("{value} is not an ISO 3166-1 alpha-2 country code."),
    N_("{value} is not an ISO 4217 currency code (EUR, GBP, USD...)."),
    N_("{value} is not a region of {country}."),
    N_(
        "{name} is incomplete or invalid: {problems}. Every item is needed: a missing answer "
        "is never counted as 0."
    ),
    N_("items {items} and {last} are missing"),
    N_("item {number} is missing"),
    N_("item {number} must be 0, 1, 2 or 3, not {answer}"),
    N_("{name} has {count} items, not {given}"),
    N_("{actor} already acknowledged it"),
    N_("a {status} referral cannot become {next}"),
    N_("there is no referral {id}"),
    N_("a note is at most {max} characters"),
    N_("there is no note {id} on this referral"),
    N_("only {author}, who wrote the note, can correct it"),
)

# Values that are themselves sentences, said in the language too (a questionnaire's problems).
SENTENCE_VALUES = frozenset({"problems"})
# A referral's status is an id in the database; pages and messages say it in words.
STATUS_WORDS = {
    "new": N_("new"),
    "contacted": N_("contacted"),
    "booked": N_("booked"),
    "closed": N_("closed"),
}
# Values that are a referral's status ("a {status} referral cannot become {next}").
STATUS_VALUES = frozenset({"status", "next"})


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
        for index, part in enumerate(parts)
    )
    return re.compile(f"^{pattern}$", re.DOTALL)


def translated(message: str) -> str:
    """A validation message in the request's language, with its values as they were."""
    if message in FIXED:
        return gettext(message)
    for template in TEMPLATES:
        found = _pattern(template).match(message)
        if found is None:
            continue
        values = found.groupdict()
        for name in SENTENCE_VALUES & values.keys():
            values[name] = "; ".join(translated(part) for part in values[name].split("; "))
        for name in STATUS_VALUES & values.keys():
            if values[name] in STATUS_WORDS:
                values[name] = gettext(STATUS_WORDS[values[name]])
        # Babel's gettext would read %(...)s in a value; the template is looked up alone.
        return str(gettext(template)).format(**values)
    return gettext(message)  # a message the catalogs hold as it is (the forms' own), or English


def translated_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Errors by field path with each message in the request's language; the paths unchanged."""
    return {path: [translated(m) for m in messages] for path, messages in errors.items()}

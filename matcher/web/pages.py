"""The pages people use: the intake form, the results and the questions-to-ask checklist.

Views read the form, call the same Matcher as the JSON API, and render templates. Answers travel
only in POST bodies, never in URLs, and pages that show them are marked `no-store`.
"""

from __future__ import annotations

import copy
import functools
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from matcher import i18n
from matcher.checklist import Tailoring
from matcher.errors import IntakeError
from matcher.i18n import N_
from matcher.languages import LANGUAGE_CODES
from matcher.matching import Matcher
from matcher.money import format_money
from matcher.places import is_country, place_named, region_named
from matcher.rules import COMBAT_DETAILS
from matcher.storage.referrals import KeyReused, ReferralNotSaved
from matcher.web.csrf import csrf_token, token_ok
from matcher.web.held import checklist, matcher, no_store
from matcher.web.language import chosen_language, remember, request_language
from matcher.web.messages import translated
from matcher.web.risk_gate import carries_risk, form_reader, mark_urgent, safety_block, screens_risk
from matcher.web.security import limiter, public_limit
from matcher.web.submit_referral import submit_referral

bp = Blueprint("web", __name__)

# Where each intake field path (as IntakeError reports it) is shown on the form.
FIELD_OF_PATH = {
    "difficulties": "difficulties",
    "main_difficulty": "main_difficulty",
    "trauma.since": "trauma_since",
    "trauma.combat_related": "trauma_combat_related",
    "preferences.languages": "languages",
    "preferences.format": "format",
    "preferences.setting": "setting",
    "preferences.city": "city",
    "preferences.age": "age",
    "preferences.max_fee": "max_fee",
    "preferences.therapist_gender": "therapist_gender",
    "preferences.access": "access",
    "preferences.interpreter": "interpreter",
    "preferences.affirming": "affirming",
    "preferences.identity": "identity",
    "preferences.payment": "payment_method",
    "preferences.payment.method": "payment_method",
    "preferences.payment.max_fee": "max_fee",
    "preferences.payment.currency": "payment_currency",
    "preferences.payment.scheme": "payment_plan",
    "preferences.payment.payer": "payment_plan",
    "location": "location",
    "location.country": "location",
    "location.region": "location_region",
    "location.city": "location_city",
    "location.postcode": "location_city",
    "risk.self_harm_thoughts": "self_harm_thoughts",
    "contact.name": "contact_name",
    "contact.email": "contact_email",
    "contact.phone": "contact_phone",
    "contact": "contact_email",
    "consent": "consent",
}
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")
# The order the one-page form asks its questions in (the questionnaires' fields, not named
# here, come after the self-harm question): the order of its error summary.
PAGE_ORDER = (
    "_form",
    "location",
    "location_region",
    "location_city",
    "difficulties",
    "main_difficulty",
    "trauma_since",
    "trauma_combat_related",
    "self_harm_thoughts",
    "format",
    "setting",
    "city",
    "access",
    "languages",
    "interpreter",
    "age",
    "therapist_gender",
    "affirming",
    "identity",
    "payment_method",
    "max_fee",
    "payment_currency",
    "payment_plan",
    "contact_name",
    "contact_email",
    "contact_phone",
    "consent",
)
# The intake form's answers (besides each questionnaire's items), carried by later forms: what
# it asks but the way to reach the person and their consent, and `languages_asked`, which says
# the language question was shown: from then on an empty answer is the person's own, and the
# languages preselected for a fresh form (their browser's, the clinic's) are not.
ANSWER_FIELDS = frozenset(PAGE_ORDER) - {"_form", *CONTACT_FIELDS, "consent"} | {"languages_asked"}
# The form's checkbox groups that map one to one to a list in the intake's preferences.
LIST_PREFERENCES = ("languages", "access", "affirming", "identity")
FORM_ERROR = "_form"
# The intake's messages are written for API clients; these few read better beside a form field.
FRIENDLIER = {
    ("difficulties", "Length must be between 1 and 10."): N_(
        "Choose at least one thing you would like help with (ten at most)."
    ),
    ("age", "Not a valid integer."): N_(
        "Enter your age in years as a whole number, for example 34."
    ),
    ("max_fee", "Not a valid integer."): N_("Enter an amount as a whole number, for example 60."),
    ("city", "Required when format is in_person."): N_(
        "Enter the city where you would go to sessions, or choose online."
    ),
    ("location", "Missing data for required field."): N_(
        "Choose where you will be from the list, or type the country or region it is in."
    ),
    ("payment_plan", "Required with method insurance."): N_(
        "Choose your insurer or scheme from the list, or choose another way to pay."
    ),
    ("payment_plan", "Only with method insurance."): N_(
        "You chose to pay yourself: leave the insurer or scheme empty, or choose insurance."
    ),
    ("max_fee", "Only with method self_pay: with insurance the plan pays."): N_(
        "You chose insurance or a public scheme: leave the most you can pay empty, or choose "
        "to pay yourself."
    ),
}
# The rest of a field's messages (the API's, naming ids) read better as one sentence per field.
# Only a changed or stale page sends such values: the form offers nothing else.
FRIENDLIER_FIELD = {
    "access": N_("Choose what you need at the office from the list."),
    "interpreter": N_("Choose the interpreter's language from the list."),
    "affirming": N_("Choose the kinds of affirming care from the list."),
    "identity": N_("Choose what you would like your therapist to share with you from the list."),
    "payment_method": N_("Choose how you will pay: yourself, or insurance or a public scheme."),
    "payment_currency": N_("Choose the currency of your budget from the list."),
    "payment_plan": N_("Choose your insurer or scheme from the list."),
}
YES_NO = {"yes": True, "no": False}


# --- template filters ---------------------------------------------------------------------------


@bp.app_template_filter("money")
def money(amount: int, currency: str) -> str:
    """80, EUR -> €80 in English, 80 € in Spanish: the one money format (matcher.money)."""
    return format_money(amount, currency, request_language())


@bp.app_template_filter("when")
def when(moment: datetime) -> str:
    """A moment in the clinic's time zone (MATCHER_CLINIC_TIMEZONE), written the page's way."""
    return i18n.date_time(moment, request_language(), current_app.config["CLINIC_TIMEZONE"])


# A match's share of the points it could earn, in words for people (staff see the numbers too).
FIT_WORDS = ((0.75, N_("strong fit")), (0.5, N_("good fit")), (0.0, N_("possible fit")))


@bp.app_template_filter("fit_word")
def fit_word(score: float, most: float) -> str:
    """72.5 of 85 -> 'strong fit': a score as a person reads it, never '24.17 out of 85'."""
    share = score / most if most > 0 else 0.0
    return gettext(next(word for floor, word in FIT_WORDS if share >= floor))


@bp.app_template_filter("key_reasons")
def key_reasons(reasons: list[dict[str, str]], count: int = 2) -> list[dict[str, str]]:
    """The reasons that matter most, to read first: approaches recommended, then what was asked.

    "Accepting new clients" is true of every match; it is left for the details.
    """

    def weight(reason: Mapping[str, str]) -> int:
        rule = reason["rule"]
        if not rule.startswith(("constraint.", "preference.")):
            return 0  # a clinical rule: the approach recommended for them
        if rule == "constraint.accepting":
            return 3
        return 1 if rule.startswith("constraint.") else 2

    return sorted(reasons, key=weight)[:count]


@bp.app_template_filter("other_reasons")
def other_reasons(reasons: list[dict[str, str]], count: int = 2) -> list[dict[str, str]]:
    """The reasons key_reasons leaves out, in their order."""
    shown = key_reasons(reasons, count)
    return [r for r in reasons if r not in shown]


@bp.app_template_filter("points")
def points(value: float) -> str:
    """3.0 -> 3, 2.5 -> 2.5: points as people write them."""
    return f"{value:g}"


@bp.app_template_filter("bar_step")
def bar_step(value: float, most: float) -> int:
    """The bar's width class, in 5% steps (no inline styles: the pages run under a strict CSP)."""
    if most <= 0:
        return 0
    return max(0, min(100, round(value / most * 20) * 5))


@bp.app_template_filter("query")
def query_string(params: Mapping[str, str]) -> str:
    """A query string that keeps commas readable: modalities=emdr,cbt."""
    return urlencode(params, safe=",")


# --- form <-> intake ------------------------------------------------------------------------------


def _number(text: str) -> int | str:
    # A whole number goes to the intake as a number; anything else goes as typed, so that the
    # same intake validation as the API's rejects it with its own message.
    stripped = text.strip()
    return int(stripped) if stripped.isdigit() else stripped


def contact_from_form(form: MultiDict[str, str]) -> dict[str, str]:
    """How the person wants to be reached, from the form's optional contact fields."""
    contact = {"name": form.get("contact_name", "").strip()}
    for name in ("email", "phone"):
        value = form.get(f"contact_{name}", "").strip()
        if value:
            contact[name] = value
    return contact


def location_from_form(form: MultiDict[str, str]) -> dict[str, str]:
    """Where the person will be, from the place picked (a country or region code) and the text.

    A region typed in words ("New Jersey") becomes its ISO 3166-2 code when the country has one
    by that name; anything else goes as typed, for the intake to refuse by name.
    """
    picked = form.get("location", "").strip()
    region_text = form.get("location_region", "").strip()
    city = form.get("location_city", "").strip()
    if not picked and region_text:
        # A place not in the list, typed: a country or a region, in words or as a code.
        typed = place_named(region_text)
        if typed is None:
            return {"region": region_text}  # refused by name: no country to read it in
        picked, region_text = typed, ""
    if not picked:
        return {}
    location = {"country": picked[:2]}
    if len(picked) > 2:
        location["region"] = picked
    if region_text:
        location["region"] = region_named(location["country"], region_text) or region_text
    if city:
        location["city"] = city
    return location


def payment_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    """How the person pays, as the intake's preferences say it: `payment`, or a `max_fee` alone.

    Self-pay carries the budget (and its currency, when one is chosen); insurance carries the
    scheme and payer picked together ("us_commercial:aetna"). A plan picked without a method
    is insurance. Answers that do not fit the method go as given, for the intake to refuse by
    name (a budget with insurance, a plan with self-pay): never dropped without a word.
    """
    method = form.get("payment_method", "").strip()
    method = "" if method == "any" else method
    plan = form.get("payment_plan", "").strip()
    fee = form.get("max_fee", "").strip()
    currency = form.get("payment_currency", "").strip()
    if not method and plan:
        method = "insurance"
    if not method and fee and currency:
        method = "self_pay"  # a currency says what a budget is in: paying oneself
    if not method:
        return {"max_fee": _number(fee)} if fee else {}
    paying: dict[str, Any] = {"method": method}
    if fee:
        paying["max_fee"] = _number(fee)
        # With insurance the budget alone is refused: its currency would only repeat it.
        if currency and method != "insurance":
            paying["currency"] = currency
    if plan:
        scheme, _, payer = plan.partition(":")
        paying["scheme"] = scheme
        if payer:
            paying["payer"] = payer
    return {"payment": paying}


def intake_from_form(form: MultiDict[str, str], held: Matcher) -> dict[str, Any]:
    """Build the JSON intake the API takes from the form's fields; leave out what is unanswered."""
    preferences: dict[str, Any] = {}
    for name in LIST_PREFERENCES:
        chosen = [value.strip() for value in form.getlist(name) if value.strip()]
        if chosen:
            preferences[name] = chosen
    for name in ("format", "setting", "therapist_gender"):
        value = form.get(name, "").strip()
        if value and value != "any":
            preferences[name] = value
    for name in ("city", "interpreter"):
        value = form.get(name, "").strip()
        if value:
            preferences[name] = value
    if form.get("age", "").strip():
        preferences["age"] = _number(form["age"])
    preferences.update(payment_from_form(form))
    intake: dict[str, Any] = {"difficulties": form.getlist("difficulties")}
    main = form.get("main_difficulty", "").strip()
    if main:
        intake["main_difficulty"] = main
    trauma: dict[str, Any] = {}
    since = form.get("trauma_since", "").strip()
    if since:
        trauma["since"] = since
    combat = form.get("trauma_combat_related", "").strip()
    if combat:
        trauma["combat_related"] = YES_NO.get(combat, combat)
    if trauma:
        intake["trauma"] = trauma
    location = location_from_form(form)
    if location:
        intake["location"] = location
    if preferences:
        intake["preferences"] = preferences
    screening: dict[str, Any] = {}
    for instrument in held.knowledge.screening.instruments.values():
        count = len(instrument.items)
        answers = [form.get(f"{instrument.id}-{n}", "") for n in range(1, count + 1)]
        if any(answers):
            # A partly answered questionnaire goes as it is: the intake rejects it, never scores it.
            while not answers[-1]:
                answers.pop()
            screening[instrument.id] = [_number(a) if a else None for a in answers]
        if instrument.difficulty_field and form.get(instrument.difficulty_field, ""):
            screening[instrument.difficulty_field] = _number(form[instrument.difficulty_field])
    if screening:
        intake["screening"] = screening
    self_harm = form.get("self_harm_thoughts", "")
    if self_harm:
        intake["risk"] = {"self_harm_thoughts": YES_NO.get(self_harm, self_harm)}
    return intake


def questionnaire_fields(held: Matcher) -> list[str]:
    """The questionnaires' form fields in order: each one's items (phq9-1...), then its
    difficulty question."""
    names: list[str] = []
    for instrument in held.knowledge.screening.instruments.values():
        names += [f"{instrument.id}-{n}" for n in range(1, len(instrument.items) + 1)]
        if instrument.difficulty_field:
            names.append(instrument.difficulty_field)
    return names


def answer_fields(form: MultiDict[str, str], held: Matcher) -> list[tuple[str, str]]:
    """The person's answers as (name, value) pairs, to carry in a later form's hidden fields.

    Only the intake form's own fields: never the token, the contact fields or anything else.
    """
    names = {*ANSWER_FIELDS, *questionnaire_fields(held)}
    return [(name, value) for name, value in form.items(multi=True) if name in names and value]


def reached_by(contact: Mapping[str, str]) -> str:
    """How the clinic will reach a person: by phone when they left one (quicker), else e-mail."""
    return "phone" if contact.get("phone") else "email"


def contact_promise(
    held: Matcher, safety: Mapping[str, Any], contact: Mapping[str, str]
) -> list[str]:
    """What an urgent person who left a way to reach them reads: who, how, and what next."""
    words = held.knowledge.crisis.contact_promise
    return [
        words[reached_by(contact)],
        words["next_steps"],
        words["do_not_wait"].format(emergency=safety["emergency_number"]),
    ]


def _without(intake: dict[str, Any], path: str) -> bool:
    """Remove the answer at an error's path (screening.phq9.3 -> screening.phq9); say if found."""
    parts = [p for p in path.split(".") if not p.isdigit()]
    holder: Any = intake
    for part in parts[:-1]:
        holder = holder.get(part) if isinstance(holder, dict) else None
    if isinstance(holder, dict) and parts and parts[-1] in holder:
        del holder[parts[-1]]
        return True
    return False


def every_error(
    held: Matcher, intake: Mapping[str, Any], first: IntakeError
) -> dict[str, list[str]]:
    """All the problems of the answers at once, not in rounds.

    The intake schema checks each field's type before the rules across fields (a city needed
    for in person): so the answers are checked again without the fields already found wrong,
    until nothing new is found.
    """
    errors = dict(first.errors)
    trial = copy.deepcopy(dict(intake))
    for _ in range(4):  # each round removes fields; the intake has few levels of rules
        if not [path for path in list(errors) if _without(trial, path)]:
            break
        try:
            held.parse_intake(trial)
        except IntakeError as exc:
            found = {path: m for path, m in exc.errors.items() if path not in errors}
            if not found:
                break
            errors.update(found)
            continue
        break
    return errors


def form_errors(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Map IntakeError field paths (preferences.city, screening.phq9...) to the form's fields."""
    shown: dict[str, list[str]] = {}
    for path, messages in errors.items():
        parts = [p for p in path.split(".") if not p.isdigit()]
        key = ".".join(parts)
        if key.startswith("screening.") and len(parts) == 2:
            field = parts[1]
        else:
            field = FIELD_OF_PATH.get(key, FORM_ERROR)
        for original in messages:
            # In the page's language: the friendlier ones, or the API's own message translated.
            friendlier = FRIENDLIER.get((field, original)) or FRIENDLIER_FIELD.get(field)
            message = gettext(friendlier) if friendlier else translated(original)
            if message not in shown.setdefault(field, []):
                shown[field].append(message)
    # The summary lists them in the order the form asks (GOV.UK's error summary pattern).
    order = {field: float(n) for n, field in enumerate(PAGE_ORDER)}
    questionnaires = order["self_harm_thoughts"] + 0.5
    return dict(sorted(shown.items(), key=lambda item: order.get(item[0], questionnaires)))


def form_options(held: Matcher, form: MultiDict[str, str] | None = None) -> dict[str, Any]:
    """What the intake form offers: plain-word difficulties, questionnaires, languages...

    `form` (the answers so far) says where the person will be: the budget's currency and the
    order of the payment schemes follow it.
    """
    vocabulary = held.knowledge.vocabulary
    spoken = {code for t in held.roster.therapists for code in t.profile["languages"]}
    picked = ((form or MultiDict()).get("location") or "").strip()[:2].upper()
    country = picked if is_country(picked) else None
    return {
        "difficulties": list(vocabulary.difficulties.values()),
        "trauma_since": [
            (t.id, t.label)
            for t in vocabulary.trauma_details.values()
            if t.id not in COMBAT_DETAILS
        ],
        "instruments": list(held.knowledge.screening.instruments.values()),
        "answers": held.knowledge.screening.answers,
        "difficulty_answers": held.knowledge.screening.difficulty_answers,
        "languages": language_options(held, spoken),
        "formats": [("any", gettext("Either is fine"))]
        + [(t.id, t.label) for t in vocabulary.formats.values()],
        "settings": [("any", gettext("Any of these"))]
        + [(t.id, t.label) for t in vocabulary.settings.values()],
        "genders": [("any", gettext("No preference"))]
        + [(t.id, t.label[:1].upper() + t.label[1:]) for t in vocabulary.genders.values()],
        "currency": held.budget_currency(country),
        "places": held.places_served(),
        "clinic_country": held.clinic_country or "",
        "preselected_languages": preselected_languages(held, spoken),
        "access_needs": [(t.id, t.label) for t in vocabulary.access.values()],
        "affirming_care": [(t.id, t.label) for t in vocabulary.affirming.values()],
        "identities": [(t.id, t.label) for t in vocabulary.identities.values()],
        "interpreter_languages": interpreter_languages(held, spoken),
        "payment_methods": [
            ("any", gettext("No preference")),
            ("self_pay", gettext("I will pay myself")),
            ("insurance", gettext("Insurance or a public scheme (such as the NHS)")),
        ],
        "currencies": currency_options(held),
        "plans": plan_options(held, country or held.clinic_country or held.locale),
    }


def preselected_languages(held: Matcher, offered: set[str]) -> list[str]:
    """The languages ticked on a fresh form: the person's and the clinic's (issue 16.3).

    The person's is the one they picked on the page, else their browser's first that a
    therapist speaks (Accept-Language); the clinic's is its country's main language
    (MATCHER_LOCALE, else MATCHER_CLINIC_COUNTRY). Only languages the question offers.
    """
    browser = None
    for value, _quality in request.accept_languages:  # best first
        code = value.split("-")[0].split("_")[0].lower()
        if code in offered:
            browser = code
            break
    clinic = i18n.country_language(held.locale or held.clinic_country or "")
    chosen = [code for code in (chosen_language(), browser, clinic) if code and code in offered]
    return list(dict.fromkeys(chosen))


def interpreter_languages(held: Matcher, spoken: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The languages an interpreter may work in: sign languages first, then spoken ones."""
    vocabulary = held.knowledge.vocabulary
    signed = {code for code in spoken if vocabulary.is_sign_language(code)} | {"bfi", "ase"}
    sign_options = sorted(
        ((code, held.renderer.language_name(code)) for code in signed), key=lambda o: o[1]
    ) + [("sgn", gettext("Another sign language"))]
    spoken_options = []
    for code in LANGUAGE_CODES:
        name = held.renderer.language_name(code) if len(code) == 2 else ""
        if name and name != code:
            spoken_options.append((code, name[:1].upper() + name[1:]))
    spoken_options.sort(key=lambda option: option[1].casefold())
    return {"signed": sign_options, "spoken": spoken_options}


def currency_options(held: Matcher) -> list[tuple[str, str]]:
    """The currencies a budget may be in: those of the places in rules/payment.yaml."""
    payment = held.knowledge.vocabulary.payment
    codes = {held.default_currency}
    if payment is not None:
        codes |= {*payment.currencies.values(), payment.default_currency}
    language = request_language()
    return [(code, f"{code}: {i18n.currency_name(code, language)}") for code in sorted(codes)]


def plan_options(held: Matcher, country: str | None) -> list[dict[str, Any]]:
    """The insurers and schemes of rules/payment.yaml, those of the person's country first.

    Each scheme is one pick-list group: the scheme itself when naming a payer is optional
    (value "scheme"), then each payer ("scheme:payer"): one answer says both.
    """
    payment = held.knowledge.vocabulary.payment
    if payment is None:
        return []
    groups = []
    for scheme in sorted(payment.schemes.values(), key=lambda s: s.country != country):
        options = [(f"{scheme.id}:{payer}", name) for payer, name in scheme.payers.items()]
        if not scheme.payer_required:
            # Naming the payer is optional: the scheme alone, listed last among its payers.
            options.append(
                (scheme.id, gettext("Another, or not sure") if options else scheme.label)
            )
        groups.append({"scheme": scheme.id, "label": scheme.label, "options": options})
    return groups


def language_options(held: Matcher, codes: set[str]) -> list[dict[str, str]]:
    """The languages a person can pick: each in its own script, and in the page's language.

    Sorted by the name in the page's language: español (Spanish) sits under S in English.
    """
    options = []
    for code in codes:
        here = held.renderer.language_name(code)
        own = i18n.language_name(code, code)
        own = own[:1].upper() + own[1:] if own else here
        options.append({"code": code, "own": own, "here": here, "dir": i18n.direction(code)})
    return sorted(options, key=lambda option: option["here"].casefold())


def language_names(held: Matcher) -> dict[str, str]:
    """ISO 639-1 code -> name in the page's language, for the languages the roster speaks."""
    codes = {code for t in held.roster.therapists for code in t.profile["languages"]}
    return {code: held.renderer.language_name(code) for code in codes}


def labels(held: Matcher) -> dict[str, dict[str, str]]:
    """Words to show for ids: formats, settings, modalities, licence types."""
    vocabulary = held.knowledge.vocabulary
    return {
        "formats": {t.id: t.label for t in vocabulary.formats.values()},
        "settings": {t.id: t.label for t in vocabulary.settings.values()},
        "modalities": {t.id: t.label for t in vocabulary.modalities.values()},
        "languages": language_names(held),
        "times": {t.id: t.label for t in vocabulary.times.values()},
    }


def checklist_link_query(result: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, str]:
    """The checklist link for a result: recommended modalities, format, setting, languages."""
    known = checklist().vocabulary
    tailoring = Tailoring(
        modalities=tuple(m["id"] for m in result["modalities"]),
        format=form.get("format", "any") if form.get("format") in known.formats else "any",
        setting=form.get("setting", "any") if form.get("setting") in known.settings else "any",
        # Which languages, never who asked: the language questions need them.
        languages=tuple(c for c in form.getlist("languages") if known.is_language(c)),
    )
    return tailoring.link_query()


# --- views ------------------------------------------------------------------------------------


def render_form(
    form: MultiDict[str, str],
    errors: dict[str, list[str]],
    status: int,
    safety: Mapping[str, Any] | None = None,
) -> BaseResponse:
    """The intake form with the answers and errors; an urgent `safety` puts crisis help first."""
    held = matcher()
    page = render_template(
        "intake.html",
        form=form,
        errors=errors,
        safety=safety,
        csrf_token=csrf_token(),
        submission_id=submission_id(form),
        **form_options(held, form),
    )
    return no_store(make_response(page, status))


SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")


def submission_id(form: MultiDict[str, str]) -> str:
    """The id of one filling-in of the form: kept across error rounds, new for a new form.

    Sent back as the referral's Idempotency-Key, so a form sent twice (a double click, a reload
    that resubmits) makes one referral, not two.
    """
    sent = form.get("submission_id", "")
    return sent if SUBMISSION_ID.match(sent) else uuid.uuid4().hex


def form_again(
    form: MultiDict[str, str], errors: dict[str, list[str]], status: int
) -> BaseResponse:
    """The form once more with its errors, and the crisis resources first if the answers say so."""
    return render_form(form, errors, status, safety_block())


# Said when an urgent person's changed answers were kept under a new id (the page then shows the
# contact promise of crisis.yaml in its place, after the crisis resources).
URGENT_KEPT = N_("A person from the clinic will be in touch with you as soon as they can.")
NOT_SAVED = N_(
    "We could not save your request just now, so the clinic has not received it and nothing was "
    "stored. Please send the form again in a few minutes, or contact the clinic directly."
)


@bp.get("/favicon.ico")
def favicon() -> BaseResponse:
    """The site's icon, where browsers look for it without being told."""
    icon = Path(bp.root_path, "static", "favicon.ico").read_bytes()  # 155 bytes
    response = make_response(icon, 200)
    response.headers["Content-Type"] = "image/x-icon"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/therapists/<therapist_id>")
def therapist_profile(therapist_id: str) -> BaseResponse:
    """One therapist's public profile; a page that says so (404) for an id not in the roster."""
    held = matcher()
    therapist = held.roster.by_id.get(therapist_id)
    if therapist is None:
        message = gettext(
            "There is no therapist with this address: the link may be old or mistyped."
        )
        return make_response(render_template("not_found.html", message=message), 404)
    vocabulary = held.knowledge.vocabulary
    payment = vocabulary.payment
    page = render_template(
        "therapist.html",
        t=therapist.profile,
        plans=payment.plans_of(therapist.profile["payers"]) if payment else [],
        labels=labels(held),
        currency=held.default_currency,
        difficulty_names={d.id: d.label for d in vocabulary.difficulties.values()},
        format_phrases={f.id: f.phrase or f.label for f in vocabulary.formats.values()},
    )
    return make_response(page, 200)


@bp.get("/")
def front_page() -> BaseResponse:
    """Where people start: the form in steps, or on one page (MATCHER_FRONT_PAGE)."""
    if current_app.config["FRONT_PAGE"] == "steps":
        return redirect("/find", code=303)
    return render_form(MultiDict(), {}, 200)


@bp.get("/form")
def intake() -> BaseResponse:
    """The whole intake form on one page (for clinics that embed it)."""
    return render_form(MultiDict(), {}, 200)


@bp.post("/")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(form_reader(intake_from_form))
def intake_in_language() -> BaseResponse:
    """The intake form again in the language picked on it, with the answers given so far.

    The crisis resources come first when those answers say so, as on every other page.
    """
    remember(request.form.get("language", ""))
    return render_form(request.form, {}, 200, safety_block())


@bp.post("/language")
def pick_language() -> BaseResponse:
    """Keep the language picked on a page without answers, and go back to that page."""
    remember(request.form.get("language", ""))
    back = request.form.get("next", "/")
    # Only a path on this site: never an address elsewhere (//evil.example, https://...).
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    return redirect(back, code=303)


@bp.get("/results")
def results_without_answers() -> BaseResponse:
    """Results come only from a submitted form: send the person back to it."""
    return redirect("/", code=303)


@bp.post("/results")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(form_reader(intake_from_form))
def results() -> BaseResponse:
    """Match the submitted form and show the results, or the form again with its errors."""
    held = matcher()
    form = request.form
    if "language" in form:  # the switcher on the results page: the same answers, re-read
        remember(form["language"])
    if not token_ok():
        expired = {
            "_form": [gettext("The form had expired. Please check your answers and send it again.")]
        }
        return form_again(form, expired, 400)
    intake = intake_from_form(form, held)
    referral_message = referral_error = None
    contact = contact_from_form(form)
    left_contact = any(form.get(name, "").strip() for name in CONTACT_FIELDS)
    try:
        if left_contact:
            result, referral_message = _refer(held, form, intake, contact)
        else:
            result = held.match(intake)
    except IntakeError as exc:
        errors = {path.removeprefix("intake."): m for path, m in exc.errors.items()}
        errors = every_error(held, intake, IntakeError(errors))
        return form_again(form, form_errors(errors), 422)
    except ReferralNotSaved as exc:
        # The person still gets their matches (and the crisis resources first, if urgent),
        # told plainly that nothing reached the clinic. A 200: a proxy that swaps 5xx pages
        # for its own would hide the crisis resources.
        result, referral_error = exc.result, gettext(NOT_SAVED)
    safety = result["safety"]
    promise = None
    if safety["urgent"] and referral_message:
        # Said in the words of crisis.yaml, after the crisis block (never the message twice).
        promise, referral_message = contact_promise(held, safety, contact), None
    page = render_template(
        "results.html",
        result=result,
        referral_message=referral_message,
        referral_error=referral_error,
        promise=promise,
        # An urgent person the clinic cannot reach yet is invited to leave a way to reach them,
        # and so is anyone whose care route lists nobody (a person is the answer there).
        invite=(safety["urgent"] or not result["care_route"]["lists_matches"]) and promise is None,
        carried_answers=answer_fields(form, held),
        submission_id=submission_id(form),
        form=form if referral_error else MultiDict(),
        errors={},
        csrf_token=csrf_token(),
        labels=labels(held),
        currency=held.default_currency,
        checklist_query=checklist_link_query(result, form),
        mail_enabled=current_app.extensions["notifier"].settings.smtp is not None,
        # The contact already given on this form fills in the "ask about" form too.
        contact_given=[(n, form[n].strip()) for n in CONTACT_FIELDS if form.get(n, "").strip()],
    )
    mark_urgent(result["safety"]["triggers"])
    return no_store(make_response(page, 200))


def _refer(
    held: Matcher, form: MultiDict[str, str], intake: dict[str, Any], contact: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Store the form's referral once per filling-in; the match and what to tell the person."""
    body = {"intake": intake, "contact": contact, "consent": form.get("consent") == "yes"}
    key = form.get("submission_id", "")
    client = request.remote_addr or ""
    store = functools.partial(submit_referral, held, current_app.extensions["referrals"], body)
    try:
        done = store(key if SUBMISSION_ID.match(key) else None, client, source=client)
    except KeyReused as exc:
        if exc.stored is not None:  # urgent: kept under a new id all the same
            return exc.result, gettext(URGENT_KEPT)
        # The same form sent again with other answers (Back, change, send): a new referral.
        done = store(None, client, source=client)
    return done.result, done.message


@bp.get("/checklist")
def checklist_page() -> BaseResponse:
    """Questions to ask a therapist, tailored by the link's modalities, format and setting."""
    book = checklist()
    held = matcher()
    options = form_options(held)
    context: dict[str, Any] = {
        "modality_options": [(t.id, t.label) for t in book.vocabulary.modalities.values()],
        "modality_names": labels(held)["modalities"],
        "formats": options["formats"],
        "settings": options["settings"],
    }
    query = request.args.to_dict()
    # The page's own form sends one `modalities` per box ticked; links send emdr,cbt.
    if len(request.args.getlist("modalities")) > 1:
        query["modalities"] = ",".join(request.args.getlist("modalities"))
    if len(request.args.getlist("languages")) > 1:
        query["languages"] = ",".join(request.args.getlist("languages"))
    # An old or garbled link still gives a checklist: what it names that we do not know is left
    # out, and the page says so.
    tailoring, ignored = book.tailoring_kept(query)
    share = tailoring.link_query()
    # From the configured public address, or the path alone: never the Host header, which
    # anyone can forge to put their own site in the link people copy.
    page = render_template(
        "checklist.html",
        checklist=book.build(tailoring),
        errors={},
        ignored=ignored,
        chosen=tailoring,
        share_url=(current_app.config["PUBLIC_URL"] or "").rstrip("/")
        + "/checklist"
        + (f"?{query_string(share)}" if share else ""),
        **context,
    )
    # The kinds of therapy in it say something about the person: no shared cache keeps it.
    return no_store(make_response(page, 200))

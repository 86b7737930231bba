"""The person's journey: the form in steps, the results, and the next step on every result.

GOV.UK's "one thing per page", working without JavaScript. Every step posts its answers, which
are kept in a server-side draft tied to the browser session (never in a URL) and redirected
(Post/Redirect/Get), so that Back and reload never ask to resend a form. Risk is read from the
draft and the posted step together, so crisis help comes first on every step once risk is
signalled, at any step.

The next step on a result ("ask the clinic about this therapist") stores a referral naming the
therapist, with consent, once per filling-in of its form; the results can be printed or sent
by e-mail to an address the person types.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from matcher import i18n
from matcher.clinic_time import reply_by
from matcher.errors import IntakeError
from matcher.i18n import N_
from matcher.matching import Matcher
from matcher.notifications import DeliveryFailed, send_to_person
from matcher.safety import safety_json
from matcher.storage.drafts import Answers, Drafts
from matcher.storage.referrals import KeyReused, ReferralNotSaved, reference
from matcher.web.csrf import csrf_token, token_ok
from matcher.web.held import matcher, no_store
from matcher.web.pages import (
    SUBMISSION_ID,
    answer_fields,
    checklist_link_query,
    contact_from_form,
    every_error,
    form_errors,
    form_options,
    intake_from_form,
    labels,
    questionnaire_fields,
    submission_id,
)
from matcher.web.risk_gate import (
    carries_risk,
    form_reader,
    mark_urgent,
    safety_block,
    screens_risk,
)
from matcher.web.security import limiter, public_limit
from matcher.web.submit_referral import submit_referral

bp = Blueprint("journeys", __name__)
log = logging.getLogger("matcher.journeys")

DRAFT_KEY = "draft"
SHOW_ERRORS_KEY = "draft_errors_for"
ASKED_KEY = "asked"


@dataclass(frozen=True)
class Step:
    """One page of the stepped form: its address, its question and the fields it asks."""

    id: str
    title: str
    fields: tuple[str, ...]


def steps(held: Matcher) -> list[Step]:
    """The form's steps in order: where and how, what for, the questionnaires, preferences."""
    return [
        # Where the person will be comes first: licences depend on it, online too (issue 15.1).
        Step(
            "where",
            N_("Where you are and how you would like to meet"),
            ("location", "location_region", "location_city", "format", "city", "setting", "access"),
        ),
        Step(
            "help",
            N_("What you would like help with"),
            (
                "difficulties",
                "main_difficulty",
                "trauma_since",
                "trauma_combat_related",
                "self_harm_thoughts",
            ),
        ),
        Step(
            "questionnaires",
            N_("Two short questionnaires (optional)"),
            tuple(questionnaire_fields(held)),
        ),
        Step(
            "preferences",
            N_("Your therapist"),
            (
                "languages",
                "languages_asked",
                "interpreter",
                "age",
                "therapist_gender",
                "affirming",
                "identity",
            ),
        ),
        Step(
            "payment",
            N_("How you will pay"),
            ("payment_method", "max_fee", "payment_currency", "payment_plan"),
        ),
    ]


def step_of(field: str, held: Matcher) -> Step | None:
    """The step that asks a form field (screening.phq9 is the questionnaires' step)."""
    for step in steps(held):
        if field in step.fields or any(f.startswith(f"{field}-") for f in step.fields):
            return step
    return None


# --- the draft ----------------------------------------------------------------------------------


def drafts() -> Drafts:
    """The drafts store."""
    held: Drafts = current_app.extensions["drafts"]
    return held


def draft_token(create: bool = False) -> str | None:
    """This browser session's draft token (made when `create`), kept in the signed cookie."""
    token = session.get(DRAFT_KEY)
    if not isinstance(token, str) and create:
        token = secrets.token_hex(16)
        session[DRAFT_KEY] = token
    return token if isinstance(token, str) else None


def current_answers() -> Answers:
    """The session's draft answers; none without a draft, after its timeout, or unreadable."""
    token = draft_token()
    if token is None:
        return []
    try:
        return drafts().load(token) or []
    except SQLAlchemyError:
        return []


def merged(answers: Answers, posted: MultiDict[str, str], fields: Iterable[str]) -> Answers:
    """The draft with one step's fields replaced by what that step posted (blank: removed)."""
    names = set(fields)
    kept = [(name, value) for name, value in answers if name not in names]
    sent = [
        (name, value.strip())
        for name, value in posted.items(multi=True)
        if name in names and value.strip()
    ]
    return kept + sent


def as_form(answers: Answers) -> MultiDict[str, str]:
    """The draft's answers as a form, for the field macros and the intake."""
    return MultiDict(answers)


def step_named(held: Matcher, step_id: str | None) -> Step | None:
    """The step whose address is `step_id`, or None."""
    return next((s for s in steps(held) if s.id == step_id), None)


def _posted_step(held: Matcher) -> Step | None:
    return step_named(held, request.view_args.get("step_id") if request.view_args else None)


# What a step posts, read even when the body is too large to parse (then as text).
_posted_risk = form_reader(intake_from_form)


def draft_risk(held: Matcher) -> tuple[str, ...]:
    """Risk in the draft and in what this request posts for its step: read by the gate first."""
    posted = _posted_risk(held) if request.method == "POST" else ()
    if g.get("refuse_too_large"):
        return posted  # no form to merge: the text scan decides, and the 413 carries crisis help
    answers = current_answers()
    step = _posted_step(held)
    if step is not None and request.method == "POST":
        answers = merged(answers, request.form, step.fields)
    return tuple(dict.fromkeys((*held.risk_in(intake_from_form(as_form(answers), held)), *posted)))


def step_errors(held: Matcher, answers: Answers, step: Step) -> dict[str, list[str]]:
    """The problems of one step's answers, all at once (other steps' are theirs to show)."""
    form = as_form(answers)
    intake = intake_from_form(form, held)
    try:
        held.parse_intake(intake)
    except IntakeError as exc:
        shown = form_errors(every_error(held, intake, exc))
        return {f: m for f, m in shown.items() if step_of(f, held) == step}
    return {}


# --- the stepped form ---------------------------------------------------------------------------


def _progress(held: Matcher, step: Step) -> dict[str, Any]:
    ordered = steps(held)
    index = ordered.index(step)
    return {
        "number": index + 1,
        "of": len(ordered) + 1,  # and "check your answers"
        "back": f"/find/{ordered[index - 1].id}" if index else None,
    }


def render_step(
    held: Matcher,
    step: Step,
    answers: Answers,
    errors: dict[str, list[str]],
    status: int = 200,
    notice: str | None = None,
) -> BaseResponse:
    """One step with its answers (from the draft) and errors; crisis help first when urgent."""
    page = render_template(
        "step.html",
        step=step,
        progress=_progress(held, step),
        form=as_form(answers),
        errors=errors,
        safety=safety_block(),
        csrf_token=csrf_token(),
        changing=request.args.get("change") == "1",
        notice=notice,
        cities=sorted(
            {str(t.profile["city"]) for t in held.roster.therapists if t.profile["city"]}
        ),
        **form_options(held, as_form(answers)),
    )
    return no_store(make_response(page, status))


@bp.get("/find")
@screens_risk(draft_risk)
def start() -> BaseResponse:
    """The first step of the form (the stepped form is where people start)."""
    held = matcher()
    return redirect(f"/find/{steps(held)[0].id}", code=303)


@bp.get("/find/<step_id>")
@screens_risk(draft_risk)
def show_step(step_id: str) -> BaseResponse:
    """A step of the form, with what the draft holds; its errors after a failed Continue."""
    held = matcher()
    step = step_named(held, step_id)
    if step is None:
        return _missing()
    answers = current_answers()
    errors = step_errors(held, answers, step) if session.get(SHOW_ERRORS_KEY) == step.id else {}
    notice = (
        gettext("Your answers have been cleared.") if request.args.get("cleared") == "1" else None
    )
    return render_step(held, step, answers, errors, notice=notice)


NOT_KEPT = N_(
    "We could not keep your answers just now. Please try again in a minute, or use the form "
    "on one page, which needs nothing kept between pages."
)
EXPIRED_STEP = N_("The page had expired. Please check your answers and continue.")
EXPIRED_DETAILS = N_("The page had expired. Please check your details and send again.")


@bp.post("/find/<step_id>")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(draft_risk)
def save_step(step_id: str) -> BaseResponse:
    """Keep a step's answers in the draft, then show its errors or the next step (PRG)."""
    held = matcher()
    step = step_named(held, step_id)
    if step is None:
        return _missing()
    if not token_ok():
        expired = {"_form": [gettext(EXPIRED_STEP)]}
        return render_step(held, step, merged([], request.form, step.fields), expired, 400)
    answers = merged(current_answers(), request.form, step.fields)
    try:
        drafts().save(str(draft_token(create=True)), answers)
    except SQLAlchemyError:
        # Nothing kept: this page shows what was sent (crisis help first, if urgent).
        return render_step(held, step, answers, {"_form": [gettext(NOT_KEPT)]}, 503)
    if step_errors(held, answers, step):
        session[SHOW_ERRORS_KEY] = step.id
        return redirect(f"/find/{step.id}#error-summary", code=303)
    session.pop(SHOW_ERRORS_KEY, None)
    ordered = steps(held)
    if request.form.get("return_to") == "check" or step == ordered[-1]:
        return redirect("/find/check", code=303)
    return redirect(f"/find/{ordered[ordered.index(step) + 1].id}", code=303)


def mid_sentence(words: str, language: str) -> str:
    """Words that start a line, as they read after another word ("Change what matters most").

    German writes its nouns capitalised wherever they are: only other languages lower them.
    """
    return words if language == "de" else words[:1].lower() + words[1:]


# The questions of "Check your answers", by form field.
SUMMARY_QUESTIONS = {
    "location": N_("Where you will be during sessions"),
    "location_region": N_("State, province or region"),
    "location_city": N_("Town or city"),
    "main_difficulty": N_("What matters most"),
    "format": N_("Online or in the office"),
    "city": N_("City"),
    "setting": N_("How you would like to meet"),
    "difficulties": N_("What you would like help with"),
    "self_harm_thoughts": N_("Thoughts of harming yourself"),
    "languages": N_("Languages"),
    "age": N_("Your age"),
    "max_fee": N_("Most you can pay per session"),
    "therapist_gender": N_("Your therapist's gender"),
    "access": N_("What you need at the office"),
    "interpreter": N_("Interpreter"),
    "affirming": N_("Affirming care"),
    "identity": N_("A therapist who shares part of who you are"),
    "payment_method": N_("How you will pay"),
    "payment_plan": N_("Insurance or scheme"),
}
NOT_ANSWERED = N_("Not answered")


def summary_rows(held: Matcher, answers: Answers) -> list[dict[str, Any]]:
    """Check-your-answers rows: each question, the answer in words, and where to change it."""
    form = as_form(answers)
    options = form_options(held, form)
    names = dict(options["formats"]) | dict(options["settings"]) | dict(options["genders"])
    vocabulary = held.knowledge.vocabulary
    difficulty = {d.id: d.label for d in vocabulary.difficulties.values()}
    language = {option["code"]: option["here"] for option in options["languages"]}
    page_language = held.language

    def listed(words: Iterable[str]) -> str:
        return i18n.join_words(list(words), page_language)

    def words(name: str) -> str:
        values = form.getlist(name)
        not_answered = gettext(NOT_ANSWERED)
        if name == "difficulties":
            return listed(difficulty.get(v, v) for v in values) or not_answered
        if name == "languages":
            return listed(language.get(v, v) for v in values) or gettext("Any language")
        if name == "self_harm_thoughts":
            said = {"yes": gettext("Yes"), "no": gettext("No")}
            return said.get(form.get(name, ""), not_answered)
        if name in ("format", "setting", "therapist_gender"):
            return names.get(form.get(name, "any"), form.get(name, "")) or gettext("No preference")
        if name == "location":
            return str(places.get(form.get(name, ""), form.get(name, ""))) or not_answered
        if name == "main_difficulty":
            value = form.get(name, "")
            return difficulty.get(value, value) or not_answered
        if name == "max_fee":
            fee = form.get(name, "")
            if not fee:
                return gettext("Not a concern")
            # What was typed, as money when it is a whole amount (its errors are the step's).
            if fee.isdigit():
                return i18n.money(int(fee), budget_currency, page_language)
            return f"{fee} {budget_currency}"
        if name in chosen_words:
            words_for, none = chosen_words[name]
            return listed(words_for.get(v, v) for v in values) or none
        if name == "interpreter":
            value = form.get(name, "")
            return interpreters.get(value, value) or gettext("No interpreter")
        if name == "payment_method":
            return methods.get(form.get(name, "any"), form.get(name, "")) or gettext(
                "No preference"
            )
        if name == "payment_plan":
            value = form.get(name, "")
            return plans.get(value, value) or gettext("None")
        return form.get(name, "") or not_answered

    places = dict(options.get("places") or [])
    budget_currency = form.get("payment_currency") or options["currency"]
    chosen_words = {
        "access": (dict(options["access_needs"]), gettext("Nothing in particular")),
        "affirming": (dict(options["affirming_care"]), gettext("No preference")),
        "identity": (dict(options["identities"]), gettext("Not asked for")),
    }
    interpreters = dict(
        options["interpreter_languages"]["signed"] + options["interpreter_languages"]["spoken"]
    )
    methods = dict(options["payment_methods"])
    plans = {
        value: f"{name} ({group['label']})" if ":" in value else group["label"]
        for group in options["plans"]
        for value, name in group["options"]
    }
    rows = []
    for step in steps(held):
        if step.id == "questionnaires":
            for instrument in held.knowledge.screening.instruments.values():
                count = len(instrument.items)
                given = sum(1 for n in range(1, count + 1) if form.get(f"{instrument.id}-{n}"))
                answered = gettext("%(given)s of %(count)s answered", given=given, count=count)
                rows.append(
                    {
                        "question": instrument.name,
                        "change_label": instrument.name,  # a name, as it is written
                        "answer": answered if given else gettext("Skipped"),
                        "change": f"/find/{step.id}?change=1#field-{instrument.id}",
                        "id": instrument.id,
                    }
                )
            continue
        for name in step.fields:
            if name in SUMMARY_QUESTIONS:
                question = gettext(SUMMARY_QUESTIONS[name])
                rows.append(
                    {
                        "question": question,
                        "change_label": mid_sentence(question, page_language),
                        "answer": words(name),
                        "change": f"/find/{step.id}?change=1#field-{name}",
                        "id": name,
                    }
                )
    return rows


@bp.get("/find/check")
@screens_risk(draft_risk)
def check_answers() -> BaseResponse:
    """Check your answers, with a Change link for each, before the results."""
    held = matcher()
    answers = current_answers()
    if not answers:
        return redirect("/find", code=303)
    page = render_template(
        "check.html",
        rows=summary_rows(held, answers),
        safety=safety_block(),
        errors={},
        csrf_token=csrf_token(),
        progress={
            "number": len(steps(held)) + 1,
            "of": len(steps(held)) + 1,
            "back": f"/find/{steps(held)[-1].id}",
        },
    )
    return no_store(make_response(page, 200))


@bp.post("/find/check")
@screens_risk(draft_risk)
def send_answers() -> BaseResponse:
    """Go on to the results, or back to the first step whose answers need a change."""
    held = matcher()
    if not token_ok():
        return redirect("/find/check", code=303)
    answers = current_answers()
    for step in steps(held):
        if step_errors(held, answers, step):
            session[SHOW_ERRORS_KEY] = step.id
            return redirect(f"/find/{step.id}#error-summary", code=303)
    return redirect("/find/results", code=303)


@bp.get("/find/results")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(draft_risk)
def stepped_results() -> BaseResponse:
    """The results of the draft's answers (a GET: Back and reload never resend a form)."""
    held = matcher()
    answers = current_answers()
    if not answers:
        return redirect("/find", code=303)
    form = as_form(answers)
    try:
        result = held.match(intake_from_form(form, held))
    except IntakeError:
        for step in steps(held):
            if step_errors(held, answers, step):
                session[SHOW_ERRORS_KEY] = step.id
                return redirect(f"/find/{step.id}#error-summary", code=303)
        raise
    return results_page(held, result, form, stepped=True)


def mail_enabled() -> bool:
    """Whether results can be e-mailed: only with the clinic's SMTP settings."""
    return current_app.extensions["notifier"].settings.smtp is not None


def results_page(
    held: Matcher,
    result: dict[str, Any],
    form: MultiDict[str, str],
    stepped: bool = False,
    notice: str | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> BaseResponse:
    """The results page for an answered form (shared by both forms and the e-mail step)."""
    safety = result["safety"]
    page = render_template(
        "results.html",
        result=result,
        referral_message=notice,
        referral_error=None,
        promise=None,
        invite=safety["urgent"] or not result["care_route"]["lists_matches"],
        carried_answers=answer_fields(form, held),
        submission_id=submission_id(MultiDict()),
        form=MultiDict(),
        errors=errors or {},
        csrf_token=csrf_token(),
        labels=labels(held),
        currency=held.default_currency,
        checklist_query=checklist_link_query(result, form),
        mail_enabled=mail_enabled(),
        stepped=stepped,
    )
    mark_urgent(safety["triggers"])
    return no_store(make_response(page, status))


@bp.post("/find/clear")
def clear_answers() -> BaseResponse:
    """Forget the draft ("Clear my answers") and start again."""
    token = draft_token()
    if token_ok() and token is not None:
        try:
            drafts().clear(token)
        except SQLAlchemyError:
            pass  # it times out all the same; the session no longer points to it
        session.pop(DRAFT_KEY, None)
        session.pop(SHOW_ERRORS_KEY, None)
    return redirect(f"/find/{steps(matcher())[0].id}?cleared=1", code=303)


def _missing() -> BaseResponse:
    page = render_template("not_found.html", message=gettext("There is no such page in the form."))
    return make_response(page, 404)


# --- the next step: ask the clinic about one therapist ------------------------------------------


def _therapist_or_none(held: Matcher, therapist_id: str) -> Any:
    return held.roster.by_id.get(therapist_id)


def render_ask(
    held: Matcher,
    form: MultiDict[str, str],
    therapist: Any,
    errors: dict[str, list[str]],
    status: int,
    not_saved: str | None = None,
) -> BaseResponse:
    """The short contact form for asking about one therapist (crisis help first if urgent)."""
    page = render_template(
        "ask.html",
        therapist=therapist.profile,
        form=form,
        errors=errors,
        safety=safety_block(),
        carried_answers=answer_fields(form, held),
        submission_id=submission_id(form),
        csrf_token=csrf_token(),
        not_saved=not_saved,
    )
    return no_store(make_response(page, status))


@bp.post("/ask")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(form_reader(intake_from_form))
def ask() -> BaseResponse:
    """Open the contact form for one therapist, with the answers (and any contact) carried."""
    held = matcher()
    therapist = _therapist_or_none(held, request.form.get("therapist", ""))
    if therapist is None:
        return _unknown_therapist()
    if not token_ok():
        expired = {"_form": [gettext(EXPIRED_DETAILS)]}
        return render_ask(held, request.form, therapist, expired, 400)
    return render_ask(held, request.form, therapist, {}, 200)


NOT_SAVED = N_(
    "We could not send your request just now, so the clinic has not received it and nothing "
    "was stored. Please try again in a few minutes, or contact the clinic directly."
)


@bp.post("/ask/send")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(form_reader(intake_from_form))
def ask_send() -> BaseResponse:
    """Store a referral naming the therapist (with consent, once), then confirm it (PRG)."""
    held = matcher()
    form = request.form
    therapist = _therapist_or_none(held, form.get("therapist", ""))
    if therapist is None:
        return _unknown_therapist()
    if not token_ok():
        expired = {"_form": [gettext(EXPIRED_DETAILS)]}
        return render_ask(held, form, therapist, expired, 400)
    contact = contact_from_form(form)
    if form.get("preferred") in ("email", "phone"):
        contact["preferred"] = form["preferred"]
    intake = intake_from_form(form, held)
    body = {"intake": intake, "contact": contact, "consent": form.get("consent") == "yes"}
    key = form.get("submission_id", "")
    client = request.remote_addr or ""

    def store(idempotency_key: str | None) -> Any:
        return submit_referral(
            held,
            current_app.extensions["referrals"],
            body,
            idempotency_key,
            client,
            source=client,
            asked_about=therapist.id,
        )

    try:
        try:
            done = store(key if SUBMISSION_ID.match(key) else None)
            stored, result = done.stored, done.result
        except KeyReused as exc:
            if exc.stored is None:
                done = store(None)  # the same form sent again with other details: a new one
                stored, result = done.stored, done.result
            else:
                stored, result = exc.stored, exc.result  # urgent: kept under a new id
    except IntakeError as exc:
        errors = {path.removeprefix("intake."): m for path, m in exc.errors.items()}
        return render_ask(held, form, therapist, form_errors(errors), 422)
    except ReferralNotSaved:
        return render_ask(held, form, therapist, {}, 200, not_saved=gettext(NOT_SAVED))
    mark_urgent(result["safety"]["triggers"])
    zone = current_app.extensions["clinic_zone"]
    by = reply_by(datetime.now(UTC), int(current_app.config["REPLY_WORKING_DAYS"]), zone)
    session[ASKED_KEY] = {
        "reference": reference(stored.id),
        "therapist": str(therapist.profile["name"]),
        "by": by.isoformat(),  # written in the language of the page that shows it
        "how": contact.get("preferred") or ("phone" if contact.get("phone") else "email"),
        "triggers": list(result["safety"]["triggers"]),
    }
    # The answers are with the clinic now: the draft is no longer needed.
    token = draft_token()
    if token is not None:
        try:
            drafts().clear(token)
        except SQLAlchemyError:
            pass
    return redirect("/ask/sent", code=303)


@bp.app_template_filter("reply_day")
def reply_day(day: str) -> str:
    """The day the clinic replies by, in the page's language: Thursday 3 December."""
    try:
        return i18n.weekday_date(date.fromisoformat(day), matcher().language)
    except ValueError:  # a confirmation kept by an older version, already in words
        return day


@bp.get("/ask/sent")
def ask_sent() -> BaseResponse:
    """The confirmation: a reference, who the clinic will contact you about, how and by when."""
    asked = session.get(ASKED_KEY)
    if not isinstance(asked, dict):
        return redirect("/find", code=303)
    held = matcher()
    triggers = tuple(str(t) for t in asked.get("triggers") or ())
    safety = safety_json(triggers, held.knowledge.crisis, held.locale) if triggers else None
    page = render_template("ask_sent.html", asked=asked, safety=safety, errors={})
    return no_store(make_response(page, 200))


def _unknown_therapist() -> BaseResponse:
    page = render_template(
        "not_found.html",
        message=gettext(
            "That therapist is not on our list any more. Please go back to your results."
        ),
    )
    return no_store(make_response(page, 404))


# --- e-mail me the results ----------------------------------------------------------------------

RESULTS_SUBJECT = N_("The therapists you looked at")


def results_text(held: Matcher, result: dict[str, Any], public_url: str) -> str:
    """The results as a plain-text e-mail: therapists, fit, reasons, and where to find them."""
    from matcher.web.pages import fit_word

    lines = [gettext("Here are the therapists you looked at."), ""]
    for match in result["matches"] or [m for r in result["relaxed"] for m in r["matches"]]:
        t = match["therapist"]
        lines.append(f"{t['name']} ({fit_word(match['score'], match['max_score'])})")
        lines += [f"  - {r['text']}" for r in match["reasons"][:3]]
        profile = f"{public_url}/therapists/{t['id']}"
        lines.append("  " + gettext("Profile: %(address)s", address=profile))
        lines.append("")
    if result["safety"]["urgent"]:
        lines += [
            result["safety"]["message"],
            gettext("Emergency: %(number)s", number=result["safety"]["emergency_number"]),
            "",
        ]
    lines.append(result["disclaimer"])
    return "\n".join(lines) + "\n"


@bp.post("/results/email")
@limiter.limit(public_limit, exempt_when=carries_risk)
@screens_risk(form_reader(intake_from_form))
def email_results() -> BaseResponse:
    """Send the results once to the address typed; keep neither the address nor the answers."""
    held = matcher()
    form = request.form
    try:
        result = held.match(intake_from_form(form, held))
    except IntakeError:
        return redirect("/find", code=303)
    address = form.get("email_to", "").strip()
    errors: dict[str, list[str]] = {}
    if not token_ok():
        errors["email_to"] = [gettext("The page had expired. Please send it again.")]
    elif not _looks_like_email(address):
        errors["email_to"] = [gettext("Enter an e-mail address like name@example.com.")]
    elif not mail_enabled():
        errors["email_to"] = [gettext("This clinic does not send e-mail from this page.")]
    if errors:
        return results_page(held, result, form, errors=errors, status=422)
    settings = current_app.extensions["notifier"].settings
    message = EmailMessage()
    message["Subject"] = gettext(RESULTS_SUBJECT)  # never anything about the person's answers
    message["From"] = settings.smtp.sender
    message["To"] = address
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(results_text(held, result, settings.public_url))
    try:
        send_to_person(message, settings.smtp)
    except DeliveryFailed as exc:
        log.warning(json.dumps({"event": "results_email.failed", "error": str(exc)}))
        errors["email_to"] = [
            gettext("We could not send the e-mail just now. Please try again later.")
        ]
        return results_page(held, result, form, errors=errors, status=503)
    log.info(json.dumps({"event": "results_email.sent"}))
    return results_page(
        held, result, form, notice=gettext("We sent your results to %(address)s.", address=address)
    )


def _looks_like_email(address: str) -> bool:
    name, at, domain = address.partition("@")
    return bool(
        name
        and at
        and "." in domain
        and len(address) <= 254
        and not any(c.isspace() or c in '<>,;"' for c in address)
    )

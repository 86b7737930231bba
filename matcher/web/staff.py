"""The front-desk console: match a caller fast, read the reasons aloud, ask "why not", browse.

Closed until a staff account exists (503, never an open page; `matcher staff add`); then behind
a login with an argon2-hashed password, held in Flask's signed session cookie (HttpOnly,
SameSite=Lax, Secure behind TLS), with a per-session token on every form. Every action on a
caller's answers goes to the audit log (who, what, when; never the answers themselves).
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import os
import re
import secrets
import signal
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlencode, urlsplit

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
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from matcher import i18n
from matcher.errors import IntakeError
from matcher.i18n import N_
from matcher.matching import Matcher
from matcher.money import format_money
from matcher.roster import normalise_city
from matcher.schemas import (
    CLOSE_REASON_MAX,
    ReferralRequestSchema,
    build_status_change_schema,
    flatten_errors,
    load_intake_part,
)
from matcher.storage.accounts import (
    ANY_NAME,
    INVALID_NAME,
    MAX_ADDRESS_LENGTH,
    Accounts,
    StaffMember,
    well_formed_username,
)
from matcher.storage.referrals import (
    MAX_NOTE_LENGTH,
    NEXT,
    STATUSES,
    ReferralConflict,
    ReferralError,
    ReferralNotSaved,
    Referrals,
    reference,
)
from matcher.web.csrf import csrf_token, token_ok
from matcher.web.held import matcher, no_store
from matcher.web.language import request_language
from matcher.web.messages import STATUS_WORDS, translated, translated_errors
from matcher.web.pages import (
    answer_fields,
    contact_from_form,
    every_error,
    form_errors,
    form_options,
    intake_from_form,
    labels,
)
from matcher.web.risk_gate import form_reader, safety_block, screens_risk, signals
from matcher.web.security import limiter, login_limit
from matcher.web.submit_referral import submit_referral

bp = Blueprint("staff", __name__)
# The logger name operators filter on, kept when the module moved.
log = logging.getLogger("matcher.staff")
View = TypeVar("View", bound=Callable[..., BaseResponse])
# The roster page lists every therapist the filters leave (the API's largest page).
MAX_ROSTER_PAGE = 500
ROSTER_FILTERS = (
    "accepting_new_clients",
    "stale",
    "language",
    "format",
    "setting",
    "modality",
    "city",
    "difficulty",
)


def accounts() -> Accounts:
    """The staff accounts and audit log."""
    held: Accounts = current_app.extensions["accounts"]
    return held


def _configured_password() -> bool:
    return accounts().exist()


def _not_configured() -> BaseResponse:
    return make_response(render_template("staff/unavailable.html"), 503)


def _login_page(status: int, error: str | None = None, next_path: str = "/staff") -> BaseResponse:
    page = render_template(
        "staff/login.html", error=error, next_path=next_path, csrf_token=csrf_token()
    )
    return no_store(make_response(page, status))


def epoch_seconds() -> int:
    """Now, in whole seconds since the epoch (what a staff session records)."""
    return int(time.time())


def _signed_in() -> StaffMember | None:
    """The account this request's session belongs to, if the session is still good.

    The cookie is signed but cannot be taken back: so it names the account's session version,
    which logout, a new password, a new role or removal change, and it ends after
    STAFF_SESSION_IDLE_MINUTES without use and STAFF_SESSION_MAX_HOURS after the login.
    """
    name, version = session.get("staff"), session.get("session_version")
    started, seen = session.get("started"), session.get("seen")
    if not isinstance(name, str) or not isinstance(version, str):
        return None
    if not isinstance(started, int) or not isinstance(seen, int):
        return None
    moment = epoch_seconds()
    config = current_app.config
    if moment - seen > int(config["STAFF_SESSION_IDLE_MINUTES"]) * 60:
        return None
    if moment - started > int(config["STAFF_SESSION_MAX_HOURS"]) * 3600:
        return None
    member = accounts().member(name)
    if member is None or not hmac.compare_digest(member.session_version, version):
        return None
    session["seen"] = moment
    return member


def _end_session() -> None:
    for key in ("staff", "session_version", "started", "seen", "role"):
        session.pop(key, None)


@bp.app_context_processor
def _staff_member() -> dict[str, Any]:
    # What pages show (the admin link, the erase button) follows the role in the database.
    member: StaffMember | None = g.get("staff_member")
    return {
        "staff_name": member.username if member else None,
        "staff_role": member.role if member else None,
    }


@bp.app_template_filter("clinic_time")
def clinic_time(moment: datetime | None, with_date: bool = True) -> str:
    """An aware time in the clinic's time zone (MATCHER_CLINIC_TIMEZONE), in the page's
    language: 1 Dec 2026, 14:05 GMT; 1 dic 2026, 15:05 CET."""
    if moment is None:
        return ""
    zone = current_app.extensions["clinic_zone"]
    return i18n.clock_time(moment, request_language(), zone, with_date)


@bp.app_template_filter("long_date")
def long_date(day: date | str) -> str:
    """A day (or its ISO text, as the roster writes it) in the page's language: 30 July 2026."""
    parsed = date.fromisoformat(day) if isinstance(day, str) else day
    return i18n.long_date(parsed, request_language())


# A referral's status, a contact's preference and an account's role are ids in the database;
# the pages say them in words (the statuses' words live with the messages that name them).
PREFERRED_WORDS = {"email": N_("e-mail"), "phone": N_("phone"), None: N_("either")}
ROLE_WORDS = {"admin": N_("admin"), "staff": N_("staff")}


@bp.app_template_filter("status_word")
def status_word(status: str | None) -> str:
    """A referral's status in the page's language: contacted -> contactado."""
    return gettext(STATUS_WORDS[status]) if status in STATUS_WORDS else str(status or "")


@bp.app_template_filter("preferred_word")
def preferred_word(preferred: str | None) -> str:
    """How a person prefers to be contacted, in words: e-mail, phone, either."""
    return gettext(PREFERRED_WORDS.get(preferred or None, PREFERRED_WORDS[None]))


@bp.app_template_filter("role_word")
def role_word(role: str) -> str:
    """An account's role in the page's language."""
    return gettext(ROLE_WORDS[role]) if role in ROLE_WORDS else role


def staff_required(view: View) -> View:
    """Guard a staff view: 503 when unconfigured, a login when signed out, a token on POSTs."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> BaseResponse:
        if not _configured_password():
            return _not_configured()
        member = _signed_in()
        if member is None:
            _end_session()
            if request.method == "GET":
                # Quoted: a path can hold %0d%0a, which must never reach a header as CR LF.
                return redirect(f"/staff/login?next={quote(request.path)}", code=302)
            return _login_page(401, gettext("Please log in to use the front-desk console."))
        g.staff_member = member
        if request.method == "POST" and not token_ok():
            return no_store(make_response(render_template("staff/expired.html"), 400))
        return no_store(view(*args, **kwargs))

    return cast(View, guarded)


def _safe_next(value: str | None) -> str:
    # Only paths inside the console: never another site (//evil.example) or another page.
    parts = urlsplit(value or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return "/staff"
    return quote(parts.path, safe="/%")


@bp.get("/staff/login")
def login_form() -> BaseResponse:
    """The staff login page."""
    if not _configured_password():
        return _not_configured()
    return _login_page(200, next_path=_safe_next(request.args.get("next")))


@bp.post("/staff/login")
@limiter.limit(login_limit)  # on by default, whatever MATCHER_RATE_LIMIT says
def login() -> BaseResponse:
    """Check the staff password (constant-time) and start a staff session."""
    if not _configured_password():
        return _not_configured()
    next_path = _safe_next(request.form.get("next"))
    if not token_ok():
        return _login_page(
            400, gettext("The form had expired. Please enter the password again."), next_path
        )
    result = accounts().login(
        request.form.get("username", ""),
        request.form.get("password", ""),
        request.remote_addr or "-",
    )
    # The same answers whether or not the name exists: only the name and address are counted.
    wait = (
        " "
        + gettext(
            "Please wait %(seconds)s seconds before trying again.", seconds=result.retry_after
        )
        if result.retry_after
        else ""
    )
    if result.outcome == "throttled":
        log.warning(json.dumps({"event": "staff.login_throttled"}))
        message = gettext("Too many failed logins from here for now.") + wait
        response = _login_page(
            429, message + " " + gettext("An admin can clear this sooner."), next_path
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome != "ok":
        log.warning(json.dumps({"event": "staff.login_failed"}))
        message = gettext("That name or password is not right.") + (
            wait or " " + gettext("Please try again.")
        )
        return _login_page(401, message, next_path)
    session.clear()
    moment = epoch_seconds()
    session.update(
        staff=result.username,
        session_version=result.session_version,
        started=moment,
        seen=moment,
    )
    csrf_token()
    return redirect(next_path, code=303)


@bp.post("/staff/logout")
@staff_required
def logout() -> BaseResponse:
    """End the staff session, and every other session of the account: a copied cookie too."""
    accounts().end_sessions(str(session["staff"]), str(session["staff"]), "logout")
    session.clear()
    return redirect("/staff/login?logged_out=1", code=303)


def urgent_protocol(safety: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The receptionist's steps for an urgent caller, with the on-call clinician or a warning."""
    crisis = matcher().knowledge.crisis
    on_call = str(current_app.config.get("ON_CALL") or "").strip()
    steps = []
    for step in crisis.staff_protocol_steps:
        if "{on_call}" in step and not on_call:
            steps.append({"text": crisis.on_call_unset, "warning": True})
        else:
            text = step.format(emergency=safety["emergency_number"], on_call=on_call)
            steps.append({"text": text, "warning": False})
    return steps


def _console(
    form: MultiDict[str, str],
    errors: dict[str, list[str]] | None = None,
    result: dict[str, Any] | None = None,
    why: dict[str, Any] | None = None,
    status: int = 200,
    saved: dict[str, str] | None = None,
    referral_saved: dict[str, str] | None = None,
) -> BaseResponse:
    held = matcher()
    roster = held.roster.by_name()
    # Answers that failed validation still carry their risk: the protocol shows all the same.
    safety = (result or why or {}).get("safety") or safety_block() or {"urgent": False}
    page = render_template(
        "staff/console.html",
        form=form,
        errors=errors or {},
        result=result,
        why=why,
        safety=safety,
        protocol=urgent_protocol(safety) if safety["urgent"] else None,
        carried_answers=answer_fields(form, held),
        saved=saved,
        referral_saved=referral_saved,
        roster=[(t.id, str(t.profile["name"])) for t in roster],
        labels=labels(held),
        csrf_token=csrf_token(),
        **form_options(held, form),
    )
    return make_response(page, status)


CALL_KEY = "call_draft"


def _call_token(create: bool = False) -> str | None:
    """This staff session's current call (its draft token), made when `create`."""
    token = session.get(CALL_KEY)
    if not isinstance(token, str) and create:
        token = secrets.token_hex(16)
        session[CALL_KEY] = token
    return token if isinstance(token, str) else None


def call_answers() -> list[tuple[str, str]]:
    """The current call's answers (kept across why-not, the roster and Back); none if none."""
    token = _call_token()
    if token is None:
        return []
    try:
        return current_app.extensions["drafts"].load(f"call:{token}") or []
    except SQLAlchemyError:
        return []


def _keep_call(form: MultiDict[str, str]) -> bool:
    """Keep the caller's answers for this call (never the contact), between pages; False
    when the database could not keep them (then only the page itself holds them)."""
    token = _call_token(create=True)
    try:
        current_app.extensions["drafts"].save(f"call:{token}", answer_fields(form, matcher()))
    except SQLAlchemyError:
        return False
    return True


# What the console shows beside the call's answers after a redirect: ids only (the cookie
# can be read by whoever holds it), the rest comes from the draft and the database.
CALL_WHY, CALL_SAVED = "call_why", "call_saved"


def _show_from_draft(why: str | None = None, saved: str | None = None) -> BaseResponse:
    """Post/Redirect/Get: the console's GET shows this call from its draft, so that Back and
    Reload never ask to send the form again, and never lose the caller's answers."""
    for key, value in ((CALL_WHY, why), (CALL_SAVED, saved)):
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    anchor = "referral-saved" if saved else "why" if why is not None else "console-matches"
    return redirect(f"/staff#{anchor}", code=303)


def _saved_referral(referral_id: Any) -> dict[str, str] | None:
    """The referral this call was saved as (its link, name and reference), if any."""
    if not isinstance(referral_id, str) or not REFERRAL_ID.match(referral_id):
        return None
    try:
        stored = _referrals().get(referral_id)
    except SQLAlchemyError:
        stored = None
    if stored is None:
        return None
    name = str(stored["contact"]["name"])
    return {"id": referral_id, "name": name, "reference": reference(referral_id)}


def call_risk(held: Matcher) -> tuple[str, ...]:
    """Risk in the call's kept answers: the urgent protocol comes back with them."""
    return held.risk_in(intake_from_form(MultiDict(call_answers()), held))


@bp.get("/staff")
@staff_required
@screens_risk(call_risk)
def console() -> BaseResponse:
    """The console: the caller's answers on the left, matches and "why not" beside them.

    The current call's answers come back (from the roster, a profile, Back), with their matches.
    """
    kept = MultiDict(call_answers())
    if not kept:
        return _console(MultiDict())
    held = matcher()
    intake = intake_from_form(kept, held)
    why_id = session.get(CALL_WHY)
    if isinstance(why_id, str):
        kept.add("therapist", why_id)
    try:
        result = held.match(intake)
    except IntakeError as exc:
        # Every problem of the answers at once, the answers as they were typed.
        return _console(kept, form_errors(every_error(held, intake, exc)), status=200)
    errors, why = None, None
    if isinstance(why_id, str) and why_id in held.roster.by_id:
        why = held.why(why_id, intake)
    elif isinstance(why_id, str):
        errors = {"therapist": [gettext("Choose a therapist from the list.")]}
    saved = _saved_referral(session.get(CALL_SAVED))
    return _console(kept, errors, result=result, why=why, referral_saved=saved)


@bp.post("/staff/new-call")
@staff_required
def new_call() -> BaseResponse:
    """Forget the current call's answers and start a new one."""
    token = _call_token()
    if token is not None:
        try:
            current_app.extensions["drafts"].clear(f"call:{token}")
        except SQLAlchemyError:
            pass
        session.pop(CALL_KEY, None)
    session.pop(CALL_WHY, None)
    session.pop(CALL_SAVED, None)
    return redirect("/staff", code=303)


@bp.post("/staff")
@staff_required
@screens_risk(form_reader(intake_from_form))
def console_action() -> BaseResponse:
    """Match the caller's answers, explain one therapist, or save the call as urgent."""
    held = matcher()
    form = request.form
    intake = intake_from_form(form, held)
    kept = _keep_call(form)
    # A caller with a risk answer gets the crisis help and the staff protocol in this very
    # answer (which carries its safety event), never only after a redirect; and when the draft
    # could not be kept, this answer is the only place the caller's answers are.
    redirects = kept and not signals()
    actor = str(session["staff"])
    if form.get("action") == "save_urgent":
        return _save_urgent(form, intake, actor)
    if form.get("action") == "save_referral":
        return _save_referral(form, intake, actor, redirects)
    why_id = form.get("therapist", "")[:100] if form.get("action") == "why" else None
    try:
        result = held.match(intake)
        explained = None
        if why_id in held.roster.by_id:
            # Beside the list, never instead of it: the caller's matches stay on the screen.
            explained = held.why(why_id, intake)
            accounts().record(actor, "console.why", why_id)
        elif why_id is None:
            urgent = result["safety"]["urgent"]
            accounts().record(actor, "console.match", None, {"urgent": urgent})
    except IntakeError as exc:
        if redirects:
            return _show_from_draft(why=why_id)
        return _console(form, form_errors(every_error(held, intake, exc)), status=422)
    if redirects and not result["safety"]["urgent"]:
        return _show_from_draft(why=why_id)
    if why_id is not None and explained is None:
        errors = {"therapist": [gettext("Choose a therapist from the list.")]}
        return _console(form, errors, result, None, 422)
    return _console(form, result=result, why=explained)


URGENT_NOT_SAVED = N_(
    "The urgent referral could not be saved just now (the database is not answering): nothing "
    "was stored. Stay with the caller, write their details down, and try again in a minute."
)


def _save_urgent(form: MultiDict[str, str], intake: dict[str, Any], actor: str) -> BaseResponse:
    """Store the caller as an urgent referral (no consent needed) and show its link."""
    contact = contact_from_form(form)
    payload = {"intake": intake, "contact": contact, "consent": False}
    try:
        done = submit_referral(matcher(), _referrals(), payload, None)
    except IntakeError as exc:
        errors = {path.removeprefix("intake."): m for path, m in exc.errors.items()}
        try:
            result = matcher().match(intake)
        except IntakeError:
            result = None
        return _console(form, form_errors(errors), result=result, status=422)
    except ReferralNotSaved as exc:
        return _console(form, {"_form": [gettext(URGENT_NOT_SAVED)]}, result=exc.result, status=503)
    # Who saved which referral, never the caller's answers or contact.
    accounts().record(actor, "console.urgent_referral", done.stored.id)
    return _console(form, result=done.result, saved={"id": done.stored.id, "name": contact["name"]})


# Kept as the consent's words when the receptionist wrote none; shown in the page's language.
CONSENT_ON_THE_PHONE = N_("The caller agreed on the phone.")
CONSENT_NEEDED = N_(
    "Ask the caller whether the clinic may keep their answers and contact them, and tick the box "
    "when they agree."
)
NOT_SAVED_CALL = N_(
    "The referral could not be saved just now (the database is not answering): nothing was "
    "stored. Write the caller's details down and try again in a minute."
)


def _save_referral(
    form: MultiDict[str, str], intake: dict[str, Any], actor: str, redirects: bool
) -> BaseResponse:
    """Store the call as a referral: contact, consent in the caller's words, who took it.

    Saved, the console's GET shows it (`redirects`); refused, this answer shows the problems
    with the contact as typed, which is never kept in the call's draft.
    """
    contact = contact_from_form(form)
    agreed = form.get("consent") == "yes"
    words = form.get("consent_words", "").strip()[:200] or None
    errors: dict[str, list[str]] = {}
    if not agreed:
        errors["consent"] = [gettext(CONSENT_NEEDED)]
    payload = {"intake": intake, "contact": contact, "consent": agreed}
    try:
        if errors:
            # All the problems at once: the contact's too, if any.
            try:
                load_intake_part(ReferralRequestSchema(), {**payload, "consent": True})
            except IntakeError as exc:
                errors.update(exc.errors)
            raise IntakeError(errors)
        done = submit_referral(
            matcher(),
            _referrals(),
            payload,
            None,
            taken_by=actor,
            consent_words=words or CONSENT_ON_THE_PHONE,
        )
    except IntakeError as exc:
        shown = form_errors({path.removeprefix("intake."): m for path, m in exc.errors.items()})
        try:
            result = matcher().match(intake)
        except IntakeError:
            result = None
        return _console(form, shown, result=result, status=422)
    except ReferralNotSaved as exc:
        return _console(form, {"_form": [gettext(NOT_SAVED_CALL)]}, result=exc.result, status=503)
    accounts().record(actor, "console.referral", done.stored.id)
    if redirects and not done.result["safety"]["urgent"]:
        return _show_from_draft(saved=done.stored.id)
    saved = {"id": done.stored.id, "name": contact["name"], "reference": reference(done.stored.id)}
    return _console(form, result=done.result, referral_saved=saved)


@bp.get("/staff/therapists")
@staff_required
def roster() -> BaseResponse:
    """Browse and filter the roster: accepting new clients, language, format, modality."""
    held = matcher()
    query = {k: v for k, v in request.args.items() if k in ROSTER_FILTERS and v}
    search = (request.args.get("q") or "").strip()[:100]
    errors: dict[str, list[str]] = {}
    try:
        # The whole filtered roster on one page (a clinic's roster is short), then the search.
        listing = held.list_therapists({**query, "per_page": MAX_ROSTER_PAGE})
    except IntakeError as exc:
        errors = translated_errors(exc.errors)
        listing = {"therapists": [], "total": 0, "needs_reconfirmation": []}
    if search:
        folded = normalise_city(search)
        found = [
            t
            for t in listing["therapists"]
            if folded in normalise_city(str(t["name"])) or folded == str(t["id"])
        ]
        listing = {**listing, "therapists": found, "total": len(found)}
    vocabulary = held.knowledge.vocabulary
    options = form_options(held)
    cities = {str(t.profile["city"]) for t in held.roster.therapists if t.profile["city"]}
    page = render_template(
        "staff/therapists.html",
        listing=listing,
        query=query,
        search=search,
        city_options=[(city, city) for city in sorted(cities)],
        difficulty_options=[(d.id, d.label) for d in vocabulary.difficulties.values()],
        # Each language in its own words, and in the page's when they differ: español (Spanish).
        language_options=[
            (
                language["code"],
                language["own"]
                if language["here"].lower() == language["own"].lower()
                else f"{language['own']} ({language['here']})",
            )
            for language in options["languages"]
        ],
        format_options=[(v, label) for v, label in options["formats"] if v != "any"],
        setting_options=[(v, label) for v, label in options["settings"] if v != "any"],
        errors=errors,
        labels=labels(held),
        modality_options=[(t.id, t.label) for t in vocabulary.modalities.values()],
        csrf_token=csrf_token(),
    )
    return make_response(page, 422 if errors else 200)


def admin_required(view: View) -> View:
    """Guard an admin view: a staff login whose account has the admin role."""

    @functools.wraps(view)
    @staff_required
    def guarded(*args: Any, **kwargs: Any) -> BaseResponse:
        if g.staff_member.role != "admin":
            return make_response(render_template("staff/forbidden.html"), 403)
        return view(*args, **kwargs)

    return cast(View, guarded)


@bp.get("/staff/admin")
@admin_required
def admin() -> BaseResponse:
    """Accounts, the newest audit events, notifications not sent yet, and the rules version."""
    held = matcher()
    outbox = current_app.extensions["notifier"].outbox
    page = render_template(
        "staff/admin.html",
        accounts=accounts().all(),
        failed_logins=accounts().failed_logins(),
        events=accounts().audit_log(100),
        channels=outbox.settings.channels,
        notification_counts=outbox.counts(),
        unsent=outbox.unsent(100),
        rules_version=held.rules_version,
        reload_error=current_app.extensions.get("reload_error"),
        csrf_token=csrf_token(),
    )
    return make_response(page, 200)


@bp.post("/staff/admin/unlock")
@admin_required
def unlock() -> BaseResponse:
    """Forget one name's failed logins from one address, so that it need not wait."""
    username, address = request.form.get("username", ""), request.form.get("address", "")
    if not (well_formed_username(username) or username in (ANY_NAME, INVALID_NAME)) or (
        len(address) > MAX_ADDRESS_LENGTH
    ):
        return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
    accounts().unlock(username, str(session["staff"]), address)
    return redirect("/staff/admin?unlocked=1", code=303)


@bp.post("/staff/admin/reload")
@admin_required
def reload_rules() -> BaseResponse:
    """Ask gunicorn to restart its workers on the current rules and roster files."""
    accounts().record(str(session["staff"]), "rules.reload_requested")
    if request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        # The master reloads on HUP; a worker that finds broken files keeps the last good ones.
        os.kill(os.getppid(), signal.SIGHUP)
        return redirect("/staff/admin?reloading=1", code=303)
    return make_response(render_template("staff/forbidden.html", reason="reload"), 409)


def _waiting(since: datetime) -> str:
    minutes = int((datetime.now(UTC) - since).total_seconds() // 60)
    if minutes < 60:
        return gettext("%(minutes)s min", minutes=minutes)
    if minutes < 48 * 60:
        return gettext("%(hours)s h %(minutes)s min", hours=minutes // 60, minutes=minutes % 60)
    return gettext("%(days)s days", days=minutes // (24 * 60))


def _referrals() -> Referrals:
    held: Referrals = current_app.extensions["referrals"]
    return held


def _roster_choices() -> list[tuple[str, str]]:
    return [(t.id, str(t.profile["name"])) for t in matcher().roster.by_name()]


REFERRAL_ID = re.compile(r"^[0-9a-f]{32}$")


def page_links(page: int, pages: int) -> list[int | None]:
    """Page numbers to link: the first, the last and two either side of `page`; None is a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[int | None] = []
    for number in wanted:
        if links and number - (links[-1] or 0) > 1:
            links.append(None)
        links.append(number)
    return links


@bp.get("/staff/referrals")
@staff_required
def referral_queue() -> BaseResponse:
    """The queue: overdue urgent first, then urgent, then oldest; 50 a page; floods grouped."""
    status = request.args.get("status") or None
    therapist = request.args.get("therapist") or None
    group = request.args.get("group") or None
    review = request.args.get("review") or None
    search = (request.args.get("q") or "").strip()[:200] or None
    page_arg = request.args.get("page") or "1"
    error = None
    # The parameter's name stays as the address writes it; the sentence is the page's language.
    if review not in (None, "yes", "no"):
        error = gettext(
            "%(name)s must be yes or no, not %(value)s.", name="review", value=repr(review[:20])
        )
        review = None
    if not page_arg.isdigit() or len(page_arg) > 6 or int(page_arg) < 1:
        error = gettext(
            "%(name)s must be a whole number from 1 to 999999, not %(value)s.",
            name="page",
            value=repr(page_arg[:20]),
        )
        page_arg = "1"
    if group is not None and not REFERRAL_ID.match(group):
        error = gettext("%(name)s must be a referral id (32 hexadecimal characters).", name="group")
        group = None
    listed = _referrals().queue_page(
        status if status in STATUSES else None,
        therapist,
        int(page_arg),
        group=group,
        needs_review=None if review is None else review == "yes",
        search=search,
    )
    accounts().record(str(session["staff"]), "referrals.listed")
    kept = {
        k: v
        for k, v in (
            ("status", status),
            ("therapist", therapist),
            ("group", group),
            ("review", review),
            ("q", search),
        )
        if v
    }
    page = render_template(
        "staff/referrals.html",
        queue=listed,
        referrals=listed.rows,
        page_links=page_links(listed.page, listed.pages),
        page_query=lambda number: urlencode({**kept, "page": number}),
        group=group,
        error=error,
        status_options=[(value, status_word(value)) for value in STATUSES],
        status=status,
        therapist=therapist,
        review=review,
        roster=_roster_choices(),
        names=dict(_roster_choices()),
        waiting=_waiting,
        search=search,
        erased=request.args.get("erased") == "1",
        staff_me=str(session["staff"]),
        csrf_token=csrf_token(),
    )
    return make_response(page, 400 if error else 200)


def asked_for(intake: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What the person asked for, in words, from the intake kept with their consent."""
    if not intake:
        return []
    held = matcher()
    vocabulary = held.knowledge.vocabulary
    words = labels(held)
    difficulty = {d.id: d.label for d in vocabulary.difficulties.values()}
    preferences = intake.get("preferences") or {}
    language = request_language()

    def listed(names: list[str]) -> str:
        return i18n.join_words(names, language) or "-"

    rows = [
        (
            gettext("Help with"),
            listed([difficulty.get(d, d) for d in intake.get("difficulties") or []]),
        )
    ]
    for key, label in (("format", N_("Format")), ("setting", N_("Setting"))):
        if preferences.get(key):
            group = words["formats"] if key == "format" else words["settings"]
            rows.append((gettext(label), group.get(preferences[key], preferences[key])))
    if preferences.get("city"):
        rows.append((gettext("City"), str(preferences["city"])))
    if preferences.get("languages"):
        names = words["languages"]
        rows.append(
            (gettext("Languages"), listed([names.get(c, c) for c in preferences["languages"]]))
        )
    if preferences.get("age") is not None:
        rows.append((gettext("Age"), i18n.number(preferences["age"], language)))
    if preferences.get("max_fee") is not None:
        rows.append(
            (
                gettext("Most they can pay"),
                format_money(preferences["max_fee"], held.default_currency, language),
            )
        )
    if preferences.get("therapist_gender"):
        genders = {t.id: t.label for t in vocabulary.genders.values()}
        gender = str(preferences["therapist_gender"])
        rows.append((gettext("Therapist's gender"), genders.get(gender, gender)))
    return rows


def _referral_page(
    referral_id: str,
    error: str | None = None,
    status: int = 200,
    rematch: dict[str, Any] | None = None,
    typed: Mapping[str, str] | None = None,
) -> BaseResponse:
    referral = _referrals().get(referral_id)
    if referral is None:
        return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
    offered = [m["therapist"] for m in referral["matches"] or []]
    now_offered = [m["therapist"]["id"] for m in rematch["matches"]] if rematch else []
    roster = _roster_choices()
    names = dict(roster)
    page = render_template(
        "staff/referral.html",
        referral=referral,
        error=error,
        typed=typed or {},
        asked_for=asked_for(referral["intake"]),
        offered=[(t, names.get(t, t)) for t in offered],
        names=names,
        # "Booked with" lists the therapists they were offered first.
        others=[(t, n) for t, n in roster if t not in offered],
        roster=roster,
        next_statuses=sorted(NEXT[referral["status"]], key=STATUSES.index),
        waiting=_waiting,
        csrf_token=csrf_token(),
        rematch=rematch,
        reference=reference(referral_id),
        consent_on_the_phone=CONSENT_ON_THE_PHONE,
        max_note_length=MAX_NOTE_LENGTH,
        max_reason_length=CLOSE_REASON_MAX,
        added=i18n.join_words(
            [names.get(t, t) for t in now_offered if t not in offered], request_language()
        ),
        removed=i18n.join_words(
            [names.get(t, t) for t in offered if t not in now_offered], request_language()
        ),
    )
    return make_response(page, status)


def _refused(problem: str) -> str:
    """Why the storage refused a change, as a sentence in the page's language."""
    said = translated(problem)
    return said[:1].upper() + said[1:] + "."


def _clash(problem: str, now_is: Mapping[str, Any]) -> str:
    """A clash told in full: what the referral is now, who changed it, and that nothing of
    what this person typed is lost."""
    status = status_word(now_is.get("status"))
    changed_by, assigned_to = now_is.get("changed_by"), now_is.get("assigned_to")
    if changed_by and assigned_to:
        now = gettext(
            "It is now %(status)s, changed by %(changed_by)s, assigned to %(assigned_to)s.",
            status=status,
            changed_by=changed_by,
            assigned_to=assigned_to,
        )
    elif changed_by:
        now = gettext(
            "It is now %(status)s, changed by %(changed_by)s.", status=status, changed_by=changed_by
        )
    elif assigned_to:
        now = gettext(
            "It is now %(status)s, assigned to %(assigned_to)s.",
            status=status,
            assigned_to=assigned_to,
        )
    else:
        now = gettext("It is now %(status)s.", status=status)
    kept = gettext("Your choices are kept below: check them and save again.")
    return f"{_refused(problem)} {now} {kept}"


# How the status form's fields are named on the page, for its error messages.
FORM_LABELS = {"status": N_("New status"), "therapist": N_("Booked with"), "reason": N_("Reason")}
REFERRAL_ID = re.compile(r"^[0-9a-f]{32}$")


def referral_view(view: View) -> View:
    """Answer 404 for a path that cannot be a referral id, before it reaches the database."""

    @functools.wraps(view)
    def checked(referral_id: str) -> BaseResponse:
        if not REFERRAL_ID.match(referral_id):
            return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
        return view(referral_id)

    return cast(View, checked)


@bp.get("/staff/referrals/<referral_id>")
@staff_required
@referral_view
def referral_detail(referral_id: str) -> BaseResponse:
    """One referral: contact, status, history, and the actions that move it on."""
    accounts().record(str(session["staff"]), "referral.viewed", referral_id)
    return _referral_page(referral_id)


@bp.post("/staff/referrals/<referral_id>")
@staff_required
@referral_view
def referral_action(referral_id: str) -> BaseResponse:
    """Acknowledge, change status, or match again; a stale form is told, never applied."""
    actor = str(session["staff"])
    form = request.form
    try:
        version = int(form.get("version", ""))
    except ValueError:
        return _referral_page(
            referral_id, gettext("The form was incomplete; nothing was changed."), 400
        )
    try:
        action = form.get("action")
        if action == "acknowledge":
            _referrals().acknowledge(referral_id, actor, version)
        elif action == "status":
            try:
                change = build_status_change_schema(matcher().roster.by_id).load(form)
            except ValidationError as exc:
                problems = flatten_errors(exc.messages)
                shown = " ".join(
                    f"{gettext(FORM_LABELS[k])}: {' '.join(translated(m) for m in v)}"
                    for k, v in problems.items()
                )
                nothing = gettext("Nothing was changed.")
                return _referral_page(referral_id, f"{shown} {nothing}", 422)
            _referrals().change_status(
                referral_id,
                change["status"],
                actor,
                version,
                change.get("therapist"),
                change.get("reason"),
            )
        elif action == "note":
            _referrals().add_note(referral_id, actor, form.get("note", ""))
        elif action == "correct_note":
            note_id = form.get("note_id", "")
            if not note_id.isdigit() or len(note_id) > 12:
                return _referral_page(
                    referral_id, gettext("The form was incomplete; nothing was changed."), 400
                )
            _referrals().correct_note(referral_id, int(note_id), actor, form.get("note", ""))
        elif action == "assign":
            _referrals().assign(referral_id, actor, version)
        elif action == "rematch":
            stored = _referrals().get(referral_id)
            if stored is None or not stored["intake"]:
                return _referral_page(
                    referral_id, gettext("There is no intake to match again."), 409
                )
            accounts().record(actor, "referral.rematched", referral_id)
            try:
                rematched = matcher().match(stored["intake"])
            except IntakeError as exc:
                # Kept before today's rules refused something in it: say what, on the page.
                fields = ", ".join(sorted(exc.errors))
                message = gettext(
                    "The answers kept cannot be matched again today (%(fields)s).", fields=fields
                )
                return _referral_page(referral_id, message, 422)
            return _referral_page(referral_id, rematch=rematched)
        else:
            return _referral_page(referral_id, gettext("Unknown action; nothing was changed."), 400)
    except ReferralConflict as exc:
        # What this person typed stays in the form, and the page shows the referral as it is now.
        now_is = _referrals().get(referral_id) or {}
        return _referral_page(referral_id, _clash(str(exc), now_is), 409, typed=form)
    except ReferralError as exc:
        return _referral_page(referral_id, _refused(str(exc)), 422, typed=form)
    return redirect(f"/staff/referrals/{referral_id}", code=303)


@bp.get("/staff/referrals/<referral_id>/export")
@staff_required
@referral_view
def referral_export(referral_id: str) -> BaseResponse:
    """Everything kept about this person's referral, as a JSON download (right of access)."""
    exported = _referrals().export(referral_id)
    if exported is None:
        return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
    accounts().record(str(session["staff"]), "referral.exported", referral_id)
    response = make_response(json.dumps(exported, indent=2, sort_keys=True), 200)
    response.headers["Content-Type"] = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="referral-{referral_id}.json"'
    return response


def _erase_confirmation(referral_id: str) -> BaseResponse:
    referral = _referrals().get(referral_id)
    if referral is None:
        return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
    page = render_template("staff/erase.html", referral=referral, csrf_token=csrf_token())
    return make_response(page, 200)


@bp.get("/staff/referrals/<referral_id>/erase")
@admin_required
@referral_view
def referral_erase_confirm(referral_id: str) -> BaseResponse:
    """Ask first: erasing cannot be undone, so the page names the person whose data goes."""
    return _erase_confirmation(referral_id)


@bp.post("/staff/referrals/<referral_id>/erase")
@admin_required
@referral_view
def referral_erase(referral_id: str) -> BaseResponse:
    """Delete this person's referral on their request (right to erasure); admins only.

    Only from the confirmation page (its `confirm=erase`); any other post shows that page.
    """
    if request.form.get("confirm") != "erase":
        return _erase_confirmation(referral_id)
    if not _referrals().erase(referral_id, str(session["staff"])):
        return make_response(render_template("staff/forbidden.html", reason="missing"), 404)
    return redirect("/staff/referrals?erased=1", code=303)

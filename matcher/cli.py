"""The command line: `matcher check` validates rules and roster; `matcher staff` runs accounts;
`matcher notify` sends the clinic's urgent referral notifications."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from matcher import PROJECT_ROOT
from matcher.checklist import Checklist
from matcher.errors import ConfigError
from matcher.i18n import SOURCE_LANGUAGE
from matcher.localise import ENGLISH_CHANGED, Translator, localise
from matcher.matching import Matcher
from matcher.storage.database import default_database_url


def enabled_languages() -> tuple[str, ...]:
    """The languages offered (MATCHER_LANGUAGES, JSON or comma-separated; unset: all shipped)."""
    from matcher.i18n import SHIPPED_LANGUAGES

    setting = os.environ.get("MATCHER_LANGUAGES", "").strip()
    if not setting:
        return SHIPPED_LANGUAGES
    try:
        listed = json.loads(setting)
    except json.JSONDecodeError:
        listed = setting.split(",")
    return tuple(str(code).strip() for code in listed if str(code).strip())


def check(args: argparse.Namespace) -> int:
    """Validate rules and roster; print one line either way."""
    from matcher.checklist import CHECKLIST_FILE, load_checklist

    try:
        matcher = Matcher.from_files(args.rules, args.roster)
        knowledge = matcher.knowledge
        checklist = load_checklist(
            args.rules / CHECKLIST_FILE,
            f"{args.rules.name}/{CHECKLIST_FILE}",
            knowledge.vocabulary,
            knowledge.sources,
        )
        missing = []
        unrecorded = 0
        for language in enabled_languages():
            if language == SOURCE_LANGUAGE:
                continue
            t = _translated(matcher, checklist, language)
            missing.extend(t.missing)
            unrecorded += len(t.unrecorded())
    except ConfigError as exc:
        print(f"matcher check: {exc}", file=sys.stderr)
        return 1
    if unrecorded:
        # Not an error: other people add translations at the same time, and a new one is
        # taken to translate today's English. Recording it lets a later change be noticed.
        print(
            f"matcher check: note: {unrecorded} translations have no record of the English they "
            "were made from (new, or edited since): `matcher translations record --new` "
            "records them"
        )
    if missing:
        # A person would read these in English: an error, so that a language is whole.
        for line in missing:
            print(f"matcher check: {args.rules.name}/{line}", file=sys.stderr)
        absent = sum(m.problem is None for m in missing)
        if absent:
            print(
                f"matcher check: {absent} missing translations (shown in English, marked, "
                "until translated; MATCHER_LANGUAGES lists the languages offered)",
                file=sys.stderr,
            )
        stale = sum(m.problem == ENGLISH_CHANGED for m in missing)
        if stale:
            print(
                f"matcher check: {stale} translations whose English changed since (shown in "
                "English, marked, until updated, or reviewed and recorded with `matcher "
                "translations record`)",
                file=sys.stderr,
            )
        if len(missing) > absent + stale:
            print(
                f"matcher check: {len(missing) - absent - stale} translations that cannot be used "
                "(shown in English, marked, until fixed)",
                file=sys.stderr,
            )
        return 1
    _warn_if_not_private()
    print(
        f"matcher check: ok: {len(matcher.knowledge.rules)} clinical rules, "
        f"{len(matcher.roster.therapists)} therapists, rules_version {matcher.rules_version}"
    )
    return 0


def _translated(matcher: Matcher, checklist: Checklist, language: str) -> Translator:
    """Every clinical text and checklist question looked up in one language, by one Translator."""
    t = matcher.translator(language)
    localise(matcher.knowledge, t)
    checklist.localised(language, t)
    return t


def translations(args: argparse.Namespace) -> int:
    """Record the English each translation is made from (after review: it clears staleness)."""
    from matcher.checklist import CHECKLIST_FILE, load_checklist
    from matcher.localise import write_made_from

    try:
        matcher = Matcher.from_files(args.rules, args.roster)
        checklist = load_checklist(
            args.rules / CHECKLIST_FILE,
            f"{args.rules.name}/{CHECKLIST_FILE}",
            matcher.knowledge.vocabulary,
            matcher.knowledge.sources,
        )
    except ConfigError as exc:
        print(f"matcher translations: {exc}", file=sys.stderr)
        return 1
    languages = args.languages or sorted(matcher.translations)
    unknown = [code for code in languages if code not in matcher.translations]
    if unknown:
        print(
            f"matcher translations: no rules/translations/{unknown[0]}.yaml (languages: "
            f"{', '.join(sorted(matcher.translations)) or 'none'})",
            file=sys.stderr,
        )
        return 1
    for language in languages:
        t = _translated(matcher, checklist, language)
        path, anew, reviewed = write_made_from(args.rules, t, only_new=args.new)
        print(
            f"matcher translations: {path.relative_to(args.rules.parent)}: {len(t.seen)} texts, "
            f"{anew} recorded anew ({reviewed} whose English had changed)"
        )
    return 0


def _state_dir() -> Path:
    return Path(os.environ.get("MATCHER_STATE_DIR", PROJECT_ROOT / "var"))


def _warn_if_not_private() -> None:
    """Say which state files others could read (the service fixes them when it starts)."""
    from matcher.private_files import loose
    from matcher.storage.database import sqlite_files

    state_dir = _state_dir()
    url = os.environ.get("MATCHER_DATABASE_URL") or default_database_url(state_dir)
    for problem in loose([state_dir, *sqlite_files(url)]):
        print(
            f"matcher check: warning: {problem}: other users can read referral contacts and "
            "password hashes (the service makes it private when it starts; or chmod -R go= it)",
            file=sys.stderr,
        )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("matcher staff: the two passwords differ")
    return first


def staff(args: argparse.Namespace) -> int:
    """Add, list, remove or unlock staff accounts, or set a password or a role."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from matcher.storage.database import unreachable, unusable

    state_dir = _state_dir()
    url = os.environ.get("MATCHER_DATABASE_URL") or default_database_url(state_dir)
    try:
        return _staff_action(args, url, state_dir)
    except OperationalError as exc:
        print(f"matcher staff: {unreachable(url, exc)}", file=sys.stderr)
    except (ArgumentError, ImportError, ValueError) as exc:
        print(f"matcher staff: MATCHER_DATABASE_URL: {unusable(url, exc)}", file=sys.stderr)
    return 1


def _staff_action(args: argparse.Namespace, url: str, state_dir: Path) -> int:
    from matcher.storage.accounts import AccountError, Accounts
    from matcher.storage.database import make_engine, migrate

    migrate(url, state_dir)
    accounts = Accounts(make_engine(url))
    actor = f"cli:{getpass.getuser()}"[:64]  # the audit log's actor column
    try:
        if args.action == "add":
            accounts.add(args.username, _password(args), args.role, actor)
            print(f"matcher staff: added {args.username!r} ({args.role})")
        elif args.action == "passwd":
            accounts.set_password(args.username, _password(args), actor)
            print(f"matcher staff: new password for {args.username!r}")
        elif args.action == "role":
            accounts.set_role(args.username, args.role, actor)
            print(f"matcher staff: {args.username!r} is now {args.role}; their sessions ended")
        elif args.action == "remove":
            accounts.remove(args.username, actor)
            print(f"matcher staff: removed {args.username!r}")
        elif args.action == "unlock":
            accounts.unlock(args.username, actor)
            print(f"matcher staff: forgot the failed logins of {args.username!r}")
        else:
            for account in accounts.all():
                print(f"{account['username']}\t{account['role']}")
    except AccountError as exc:
        print(f"matcher staff: {exc}", file=sys.stderr)
        return 1
    return 0


def environment_config() -> dict[str, Any]:
    """MATCHER_ settings from the environment, read as the service reads them (JSON if valid)."""
    from matcher.notifications import VERBATIM_SETTINGS

    config: dict[str, Any] = {}
    for name, value in os.environ.items():
        if not name.startswith("MATCHER_"):
            continue
        key = name.removeprefix("MATCHER_")
        try:
            config[key] = value if key in VERBATIM_SETTINGS else json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def notify(args: argparse.Namespace) -> int:
    """Send due notifications and escalate overdue urgent referrals: once, or every interval."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from matcher.notifications import settings_from
    from matcher.storage.database import make_engine, migrate, unreachable, unusable
    from matcher.storage.outbox import Notifier, Outbox
    from matcher.storage.referrals import Referrals
    from matcher.web.logs import configure_logging

    config = environment_config()
    # What was sent and what failed, as JSON lines on stderr like the service's own log.
    configure_logging(str(config.get("LOG_LEVEL") or "INFO"))
    state_dir = Path(config.get("STATE_DIR") or PROJECT_ROOT / "var")
    url = str(config.get("DATABASE_URL") or default_database_url(state_dir))
    try:
        settings = settings_from(config)
        if not settings.channels:
            print(
                "matcher notify: no channel is configured, so urgent referrals notify nobody: "
                "set MATCHER_SMTP_HOST and MATCHER_NOTIFY_TO, or MATCHER_WEBHOOK_URL and "
                "MATCHER_WEBHOOK_SECRET",
                file=sys.stderr,
            )
            return 1
        migrate(url, state_dir)
        engine = make_engine(url)
        notifier = Notifier(Outbox(engine, settings))
        retention = config.get("RETENTION_DAYS", 365)
        if retention:
            notifier.housekeeping = functools.partial(
                Referrals(engine, settings).purge_closed, timedelta(days=int(retention))
            )
        if not args.once:
            notifier.run_forever()
            return 0
        done = notifier.run_once()
    except ConfigError as exc:
        print(f"matcher notify: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"matcher notify: {unreachable(url, exc)}", file=sys.stderr)
        return 1
    except (ArgumentError, ImportError, ValueError) as exc:
        print(f"matcher notify: MATCHER_DATABASE_URL: {unusable(url, exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    print(
        f"matcher notify: sent {done.sent}, failed {done.failed} (will be retried), "
        f"escalated {done.escalated}"
    )
    # A failed send makes the pass fail, so that a timer running it reports a problem.
    return 1 if done.failed else 0


def import_fhir(args: argparse.Namespace) -> int:
    """Map a directory Bundle to roster entries; report (on stderr) every field that did not map."""
    import yaml

    from matcher.directory import import_bundle, load_mapping
    from matcher.rules import load_knowledge

    try:
        knowledge = load_knowledge(args.rules)
        mapping = load_mapping(args.rules)
        raw = json.loads(args.bundle.read_text(encoding="utf-8"))
        imported = import_bundle(raw, mapping, knowledge.vocabulary)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"matcher import-fhir: {args.bundle}: {exc}", file=sys.stderr)
        return 1
    text = yaml.safe_dump(
        {"therapists": imported.therapists}, sort_keys=False, allow_unicode=True, width=100
    )
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for line in imported.report:
        print(f"matcher import-fhir: not mapped: {line}", file=sys.stderr)
    print(
        f"matcher import-fhir: {len(imported.therapists)} therapists; complete the fields "
        "reported above, then run matcher check",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="matcher")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="validate rules/ and the roster, then exit")
    check_parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules")
    check_parser.add_argument("--roster", type=Path, default=PROJECT_ROOT / "therapists.yaml")
    check_parser.set_defaults(run=check)
    translations_parser = commands.add_parser(
        "translations", help="the record of the English each translation was made from"
    )
    records = translations_parser.add_subparsers(dest="action", required=True)
    record_parser = records.add_parser(
        "record",
        help="record that each translation translates today's English (after review)",
    )
    record_parser.add_argument("languages", nargs="*", help="es, nl... (default: every one)")
    record_parser.add_argument(
        "--new",
        action="store_true",
        help="only translations not yet recorded (new or edited); keep the rest, stale ones too",
    )
    record_parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules")
    record_parser.add_argument("--roster", type=Path, default=PROJECT_ROOT / "therapists.yaml")
    record_parser.set_defaults(run=translations)
    staff_parser = commands.add_parser("staff", help="manage staff accounts")
    actions = staff_parser.add_subparsers(dest="action", required=True)
    for name, text in (("add", "create an account"), ("passwd", "set a new password")):
        action = actions.add_parser(name, help=text)
        action.add_argument("username")
        action.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input",
        )
        if name == "add":
            action.add_argument("--role", choices=["staff", "admin"], default="staff")
    for name, text in (
        ("remove", "delete an account"),
        ("unlock", "forget an account's failed logins (from every address)"),
    ):
        actions.add_parser(name, help=text).add_argument("username")
    role_parser = actions.add_parser("role", help="change an account's role (ends its sessions)")
    role_parser.add_argument("username")
    role_parser.add_argument("role", choices=["staff", "admin"])
    actions.add_parser("list", help="list the accounts")
    staff_parser.set_defaults(run=staff)
    import_parser = commands.add_parser(
        "import-fhir",
        help="read a FHIR R4 directory Bundle; print therapists.yaml entries and what did not map",
    )
    import_parser.add_argument("bundle", type=Path)
    import_parser.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules")
    import_parser.add_argument("--out", type=Path, help="write the entries here (else stdout)")
    import_parser.set_defaults(run=import_fhir)
    notify_parser = commands.add_parser(
        "notify", help="send urgent referral notifications and escalate overdue ones"
    )
    notify_parser.add_argument(
        "--once",
        action="store_true",
        help="one pass, then exit (for a timer); without it, a pass every MATCHER_NOTIFY_INTERVAL",
    )
    notify_parser.set_defaults(run=notify)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

"""`matcher check`: validate the rules and the roster without starting anything."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matcher import PROJECT_ROOT
from matcher.errors import ConfigError
from matcher.matching import Matcher


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="matcher")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate rules/ and the roster, then exit")
    check.add_argument("--rules", type=Path, default=PROJECT_ROOT / "rules")
    check.add_argument("--roster", type=Path, default=PROJECT_ROOT / "therapists.yaml")
    args = parser.parse_args(argv)
    try:
        matcher = Matcher.from_files(args.rules, args.roster)
    except ConfigError as exc:
        print(f"matcher check: {exc}", file=sys.stderr)
        return 1
    print(
        f"matcher check: ok: {len(matcher.knowledge.rules)} clinical rules, "
        f"{len(matcher.roster.therapists)} therapists, rules_version {matcher.rules_version}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

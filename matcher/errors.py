"""Domain errors: what the service reports when a file or an intake is wrong."""

from __future__ import annotations


class ConfigError(Exception):
    """A rules or roster file is invalid; the message names the file, the entry and the problem."""

    def __init__(self, file: str, problem: str, entry: str | None = None) -> None:
        self.file = file
        self.entry = entry
        self.problem = problem
        where = f"{file}: {entry}: " if entry else f"{file}: "
        super().__init__(where + problem)


class IntakeError(Exception):
    """An intake (or query) failed validation; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))


class UnknownTherapist(LookupError):
    """No therapist in the roster has this id."""


class EngineError(RuntimeError):
    """The rules engine failed on an intake (an action raised, or the engine errored)."""

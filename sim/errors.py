"""Errors a planner can act on: what was wrong, where, and what is allowed.

Every error the command line reports without a traceback derives from `InputError`;
anything else reaching the top level is a bug and exits 1.
"""

from __future__ import annotations

import datetime as dt
import reprlib
from pathlib import Path
from typing import Any


class InputError(Exception):
    """Bad input: a file, a field, a value. The CLI prints it and exits 2."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        value: Any = None,
        allowed: str | None = None,
        has_value: bool = False,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.field = field
        self.value = value
        self.allowed = allowed
        self.has_value = has_value or value is not None
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field '{shorten(self.field, 160)}'")
        head = ": ".join([", ".join(where), self.problem]) if where else self.problem
        lines = [head]
        if self.has_value:
            lines.append(f"  got: {shorten(_show(self.value), 120)}")
        if self.allowed:
            lines.append(f"  allowed: {self.allowed}")
        return "\n".join(visible(line) for line in lines)


def shorten(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with '...' where it was cut."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def visible(text: str) -> str:
    """`text` with control characters written as escapes (\\x1b), so a key or file name
    from an input cannot move the cursor or recolour the terminal it is printed to."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\n" else ascii(c)[1:-1] for c in text)


class _Short(reprlib.Repr):
    def repr_date(self, value: dt.date, level: int) -> str:
        return value.isoformat()


_SHORT = _Short()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 8, 8
_SHORT.maxstring = _SHORT.maxother = 100


def _show(value: Any) -> str:
    """A value as the user wrote it: dates as YYYY-MM-DD, text in quotes. Shortened as it is
    built, so a huge value (a YAML alias bomb) costs no more to show than a small one."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return _SHORT.repr(value)


MAX_PROBLEMS_SHOWN = 20  # a file with 10,000 bad values gets a readable message


class ScenarioError(InputError):
    """One or more problems in a scenario file, reported together."""

    def __init__(self, file: str | Path | None, problems: list[InputError]) -> None:
        self.problems = problems
        self.file = str(file) if file is not None else None
        count = len(problems)
        head = f"{self.file or 'scenario'}: {count} problem{'s' if count != 1 else ''}"
        body = "\n".join("- " + p.render().replace("\n", "\n  ")
                         for p in problems[:MAX_PROBLEMS_SHOWN])
        if count > MAX_PROBLEMS_SHOWN:
            body += f"\n- ... and {count - MAX_PROBLEMS_SHOWN} more like these"
        Exception.__init__(self, visible(f"{head}\n{body}"))
        self.problem = head
        self.field = problems[0].field if problems else None
        self.value = None
        self.allowed = None
        self.has_value = False

    def render(self) -> str:
        return str(self)

    def __reduce__(self):  # so a worker process can send it back whole
        return (type(self), (self.file, self.problems))

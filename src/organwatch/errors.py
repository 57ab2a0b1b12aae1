"""Errors that reach the user as one line and exit status 2.

Every reader raises :class:`InputError` with what it knows (file, row/record/line, column/field); the CLI
prints ``str(error)`` on stderr and exits 2. No traceback ever reaches the user for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad input or bad usage. ``str()`` is the one line shown to the user."""

    message: str
    file: str | Path | None = None
    row: int | None = None  # 1-based data row (header excluded) or record index
    column: str | None = None
    line: int | None = None  # 1-based physical line, when the reader knows it
    record: int | str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ": ".join([", ".join(where)]) if where else ""
        msg = " ".join(self.message.split())  # always one line
        return f"{prefix}: {msg}" if prefix else msg


class UsageError(InputError):
    """Bad option values (no file involved)."""

"""Errors that reach the user as one line: :class:`InputError` (exit status 2) and :class:`RecordError`.

A fatal problem raises :class:`InputError` with what it knows (file, row/record/line, column/field); the CLI
prints ``str(error)`` on stderr and exits 2. One bad record is a :class:`RecordError`: reported, counted, and
the batch goes on. No traceback ever reaches the user for bad input.
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


@dataclass
class RecordError(Exception):
    """One record a reader or importer could not use; the batch goes on (cli.md: nothing is lost silently).

    The one record-level error type of every engine: ``file`` (base name by default, see :func:`display_name`),
    ``record`` (1-based record index, or a claim/segment ordinal), ``line`` (1-based physical line), ``field``
    (the field, column, JSON path or X12 segment that was wrong) and ``message``. Readers *yield* it; code that
    validates one record may *raise* it and let the reader fill in ``file``/``record``/``line``.
    ``note=True`` marks information that is not a failure (e.g. a MEDLINE DeleteCitation list): reported in
    the summary, never counted as a failed record.
    """

    file: str = ""
    record: int | str | None = None
    message: str = ""
    line: int | None = None
    field: str | None = None
    note: bool = False

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        msg = " ".join(self.message.split())
        return f"{', '.join(where)}: {msg}" if where else msg

    def located(self, file: str | None = None, record: int | str | None = None,
                line: int | None = None) -> RecordError:
        """A copy with the location filled in where it was unknown (for errors raised inside a record)."""
        return RecordError(file=self.file or (file or ""), record=self.record if self.record is not None else record,
                           message=self.message, line=self.line if self.line is not None else line,
                           field=self.field, note=self.note)

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "record": self.record, "line": self.line, "field": self.field,
                "message": self.message, **({"note": True} if self.note else {})}


def display_name(path: str | Path, verbose: bool = False) -> str:
    """How messages name a file: its base name (file names may carry personal data, e.g. Synthea's patient
    names, and full paths reveal a user's folders); the full path only when the user asked (``--verbose``)."""
    return str(path) if verbose else Path(path).name


def nothing_read(what: str, seen_files: int, formats: str = "") -> InputError:
    """The exit-2 error for a run that read no record at all (cli.md: nothing is lost silently)."""
    detail = f"; formats supported: {formats}" if formats else ""
    return InputError(f"nothing read: no {what} could be read from {seen_files} input file(s){detail}")

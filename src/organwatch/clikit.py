"""The CLI contract declared once: shared options (``--out``, ``--format``, ``--json``, ``--quiet``), stderr messages
with the ``organwatch:`` prefix, JSON on stdout and tables that stay readable when piped.

Every command uses these instead of declaring its own (docs/cli.md). The rules they implement:

* ``--json`` prints the command's result as machine-readable JSON on stdout and nothing else goes to stdout:
  one JSON document, or JSON Lines for commands whose result is a stream of records. Which one a command
  prints is declared in the engine table (:mod:`organwatch.engines`) and stated in its ``--help``.
* Default outputs: a command whose product is a file that other commands read (``report``, ``screen``,
  ``claims``, ``ads scan``, ``biotech screen``) always writes it, to ``--out`` or to the default its ``--help``
  names; every other command prints to stdout and writes a file only when ``--out`` is given.
* Messages (summaries, progress, warnings) go to stderr through :func:`say`/:func:`warn`, prefixed
  ``organwatch:``; ``--quiet`` silences :func:`say` but never warnings or errors.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from organwatch.errors import UsageError
from organwatch.output import TABLE_FORMATS

F = TypeVar("F", bound=Callable[..., Any])
JsonMode = Literal["document", "lines"]

PREFIX = "organwatch:"
_quiet = False


def set_quiet(value: bool) -> None:
    global _quiet
    _quiet = bool(value)


def say(message: str) -> None:
    """A summary or progress line on stderr (silenced by ``--quiet``)."""
    if not _quiet:
        click.echo(f"{PREFIX} {message}", err=True)


def warn(message: str) -> None:
    """A warning on stderr, one line, never silenced."""
    click.echo(f"{PREFIX} warning: {' '.join(message.split())}", err=True)


def error(message: str) -> None:
    """An error line on stderr (the exit status is the caller's business; see ``organwatch.cli.main``)."""
    click.echo(f"{PREFIX} error: {' '.join(message.split())}", err=True)


def emit_json(doc: Any) -> None:
    """The command's result as one JSON document on stdout."""
    from organwatch.findings import _jsonable

    click.echo(json.dumps(_jsonable(doc), ensure_ascii=False, indent=1, sort_keys=False, allow_nan=False))


def emit_jsonl(records: Iterable[dict[str, Any]]) -> int:
    """The command's result as JSON Lines on stdout; returns the number of lines written."""
    from organwatch.findings import _jsonable

    n = 0
    out = sys.stdout
    for r in records:
        out.write(json.dumps(_jsonable(r), ensure_ascii=False, allow_nan=False))
        out.write("\n")
        n += 1
    out.flush()
    return n


# -- shared options -------------------------------------------------------------------------------------------
def out_option(default: Path | None = None, help: str = "Write the results to this file.") -> Callable[[F], F]:
    text = help + (f" (default: {default})" if default is not None else "")
    return click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=default,
                        help=text)


def format_option(default: str | None = None, choices: Sequence[str] = TABLE_FORMATS) -> Callable[[F], F]:
    if default is None:
        text = f"Table format for --out: {', '.join(choices)} (default: from the --out extension)."
    else:
        text = f"Table format for --out: {', '.join(choices)} (default: from the --out extension, else {default})."
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=None, help=text)


def json_option(mode: JsonMode, what: str) -> Callable[[F], F]:
    """``--json``: the result on stdout, as one JSON document or as JSON Lines (``mode``)."""
    shape = "one JSON document" if mode == "document" else "JSON Lines (one record per line)"
    return click.option("--json", "as_json", is_flag=True,
                        help=f"Print {what} as {shape} on stdout; nothing else goes to stdout.")


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    set_quiet(value)
    return value


def quiet_option(f: F) -> F:
    return click.option("--quiet", "-q", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help="No summaries or progress on stderr (warnings and errors are still shown).")(f)


def _set_csv_raw(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from organwatch.output import set_csv_raw

    set_csv_raw(value)
    return value


def csv_raw_option(f: F) -> F:
    """``--csv-raw``: write CSV cells unneutralised, for machine pipelines (never open such a file in a
    spreadsheet). Without it, cells starting with = + - @ TAB or CR get a leading ' (organwatch.output)."""
    return click.option("--csv-raw", is_flag=True, expose_value=False, is_eager=True, callback=_set_csv_raw,
                        help="CSV for machine pipelines: do not neutralise cells that start with = + - @ TAB or "
                             "CR (unsafe to open in a spreadsheet).")(f)


def iso_date(value: str | None, option: str = "--as-of") -> dt.date | None:
    """An option's ISO date (YYYY-MM-DD), None when not given; anything else is a usage error (exit 2)."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} '{value}' is not an ISO date (YYYY-MM-DD)") from None


# -- tables ---------------------------------------------------------------------------------------------------
def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
                ids: Sequence[str] = ("id",)) -> None:
    """A human table on stdout that stays readable at 80 columns or when piped: id columns are never
    truncated or folded (other columns wrap instead)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for c in columns:
        if c in ids:
            t.add_column(c, no_wrap=True, overflow="ignore", min_width=len(c))
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    Console(soft_wrap=False).print(t)  # width: the terminal's, else $COLUMNS, else 80

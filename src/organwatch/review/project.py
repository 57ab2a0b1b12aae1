"""Creating a project file (atomically: a temporary file renamed into place) and reading its manifest."""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.review.importer import ImportSummary, import_results
from organwatch.review.schema import SCHEMA_VERSION, connect


def _check_new(path: Path) -> None:
    if path.exists():
        raise InputError("project already exists (use --add to import more results into it)", file=path)
    if not path.parent.exists():
        raise InputError("directory does not exist", file=path.parent)


def create(path: Path) -> sqlite3.Connection:
    """A new, empty project at ``path`` (the file must not exist). No secret is stored in it: project files
    travel, and ``review serve`` signs sessions with a key of its own run (security.py)."""
    path = Path(path)
    _check_new(path)
    con = connect(path, create=True)
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    con.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
        ("created_at", now), ("created_by_version", __version__), ("organwatch_version", __version__)])
    return con


def _temporary(project: Path) -> Path:
    """An empty file next to ``project`` for building it (same file system, so the final rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{project.name}.", suffix=".tmp", dir=project.parent)
    os.close(fd)
    os.unlink(name)  # create() wants to make the file itself
    return Path(name)


def _publish(tmp: Path, project: Path) -> None:
    """Move the finished project into place without ever replacing an existing file."""
    try:
        os.link(tmp, project)  # fails if PROJECT appeared meanwhile: never clobbers
    except FileExistsError:
        raise InputError("project already exists (use --add to import more results into it)", file=project) from None
    except OSError:  # a file system without hard links
        if project.exists():
            raise InputError("project already exists (use --add to import more results into it)",
                             file=project) from None
        os.replace(tmp, project)
        return
    tmp.unlink()


def _discard(tmp: Path) -> None:
    for p in (tmp, Path(str(tmp) + "-journal"), Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)


def load_screen_summary(path: Path) -> dict[str, Any]:
    """A run summary written by ``organwatch screen --json`` (rule pack, backend, inputs with sha256)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such screen summary file", file=path)
    if path.stat().st_size > 16 * 1024 * 1024:
        raise InputError("screen summary larger than 16 MB", file=path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise InputError(f"not a JSON screen summary ({type(e).__name__}: {str(e)[:200]})", file=path) from None
    if not isinstance(doc, dict):
        raise InputError("not a JSON screen summary (expected an object)", file=path)
    return doc


def new_project(results: list[Path], project: Path, add: bool = False, progress=None,
                screen_summaries: list[Path] | None = None, all_passages: bool = False) -> list[ImportSummary]:
    """``review new``: create PROJECT (or, with ``add``, open it) and import every results file."""
    summaries = [load_screen_summary(p) for p in screen_summaries or []]
    for r in results:
        if not Path(r).is_file():
            raise InputError("no such results file", file=r)
    project = Path(project)
    if add:
        con = connect(project)
        try:
            return _import_all(con, results, progress, summaries, all_passages)
        finally:
            con.close()
    _check_new(project)
    tmp = _temporary(project)
    try:
        con = create(tmp)
        try:
            out = _import_all(con, results, progress, summaries, all_passages)
        finally:
            con.close()
        _publish(tmp, project)
    except BaseException:
        _discard(tmp)
        raise
    return out


def _import_all(con: sqlite3.Connection, results: list[Path], progress, summaries: list[dict[str, Any]],
                all_passages: bool) -> list[ImportSummary]:
    return [import_results(con, Path(r), progress=progress, screen_summaries=summaries,
                           all_passages=all_passages) for r in results]


def manifest(con: sqlite3.Connection) -> dict[str, Any]:
    """Inputs (name, sha256, counts, screening provenance), schema and organwatch versions, totals."""
    meta = {r["key"]: r["value"] for r in con.execute("SELECT key, value FROM meta") if r["key"] != "session_secret"}
    inputs = []
    for r in con.execute("SELECT * FROM inputs ORDER BY input_pk"):
        d = dict(r)
        d["provenance"] = json.loads(d["provenance"] or "{}")
        inputs.append(d)
    return {"schema_version": SCHEMA_VERSION, **meta, "inputs": inputs,
            "documents": con.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            "hits": con.execute("SELECT COUNT(*) FROM hits").fetchone()[0],
            "decisions": con.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]}



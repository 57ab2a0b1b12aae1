"""Creating a project file and reading its manifest."""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.review.importer import ImportSummary, import_results
from organwatch.review.schema import SCHEMA_VERSION, connect


def create(path: Path) -> sqlite3.Connection:
    """A new, empty project (the file must not exist)."""
    path = Path(path)
    if path.exists():
        raise InputError("project already exists (use --add to import more results into it)", file=path)
    if not path.parent.exists():
        raise InputError("directory does not exist", file=path.parent)
    con = connect(path, create=True)
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    con.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
        ("created_at", now), ("created_by_version", __version__), ("organwatch_version", __version__),
        # signs session cookies of `review serve`; whoever can read the project file can read the ledger anyway
        ("session_secret", secrets.token_hex(32)),
    ])
    return con


def load_screen_summary(path: Path) -> dict[str, Any]:
    """A run summary written by ``organwatch screen --json`` (rule pack, backend, inputs with sha256)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such screen summary file", file=path)
    if path.stat().st_size > 16 * 1024 * 1024:
        raise InputError("screen summary larger than 16 MB", file=path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"not a JSON screen summary ({e})", file=path) from None
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
    con = connect(project) if add else create(project)
    try:
        return [import_results(con, Path(r), progress=progress, screen_summaries=summaries,
                               all_passages=all_passages) for r in results]
    except BaseException:
        if not add:
            con.close()
            Path(project).unlink(missing_ok=True)
            raise
        raise
    finally:
        try:
            con.close()
        except sqlite3.ProgrammingError:
            pass


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


def input_refs(con: sqlite3.Connection) -> list[dict[str, str]]:
    return [{"name": r["name"], "sha256": r["sha256"]} for r in con.execute(
        "SELECT name, sha256 FROM inputs ORDER BY input_pk")]

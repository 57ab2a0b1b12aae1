"""The project file (``.owproj``): one SQLite database, its schema version and its migrations.

* ``meta``: key/value manifest (organwatch version, creation time, ...). It holds no secret: project files
  travel (``organwatch report`` reads them), so nothing in them may sign a session (v3 deleted the old
  ``session_secret``).
* ``inputs``: every imported result file with its sha256, record counts and the screening provenance found.
* ``documents`` / ``hits``: the imported screen records and one hit per flagged passage (immutable once imported).
* ``decisions``: the append-only ledger. Triggers forbid UPDATE and DELETE.
* ``hit_state`` (v2): the latest decision of each reviewer on each hit, *derived* from the ledger by a trigger
  and rebuildable from it at any time (:func:`rebuild_state`); ``decided_hits``: the facet fields of every hit
  with at least one decision (so decision filters never touch the large hits table); ``facet_counts`` and
  ``facet_cube``: hit counts per facet value and per combination of filterable hit fields.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings any older file up to date in one
transaction. A file from a newer organwatch is refused rather than guessed at.

Project files are untrusted input (they are shared): before any query, :func:`check_schema` compares every
table, index, view and trigger in the file with the ones this version creates (same names, same types, same
SQL); anything unknown or altered (say, ``hit_state`` replaced by a recursive view, or a trigger of its own)
is refused with one line. SQLite errors from a damaged file become :class:`InputError` through :func:`guarded`.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from organwatch.errors import InputError

SCHEMA_VERSION = 3
READABLE_VERSIONS = (2, 3)  # versions a read-only open accepts without migrating (same tables; v3 only deletes)
APPLICATION_ID = 0x4F575250  # "OWRP": marks the SQLite file as an organwatch review project

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inputs (
  input_pk INTEGER PRIMARY KEY,
  name TEXT NOT NULL, sha256 TEXT NOT NULL, format TEXT NOT NULL,
  records INTEGER NOT NULL, imported INTEGER NOT NULL, skipped INTEGER NOT NULL, failed INTEGER NOT NULL,
  hits INTEGER NOT NULL, provenance TEXT NOT NULL, imported_at TEXT NOT NULL
);
CREATE TABLE import_errors (
  input_pk INTEGER NOT NULL REFERENCES inputs(input_pk), record INTEGER, message TEXT NOT NULL
);
CREATE TABLE documents (
  doc_pk INTEGER PRIMARY KEY,
  input_pk INTEGER NOT NULL REFERENCES inputs(input_pk),
  document_id TEXT NOT NULL UNIQUE,
  source TEXT, title TEXT, year INTEGER, language TEXT, document_label TEXT, patterns TEXT, ethics TEXT,
  errors TEXT, institution TEXT, identifier TEXT, dedup_key TEXT NOT NULL, dup_group INTEGER
);
CREATE INDEX documents_dedup ON documents(dedup_key);
CREATE TABLE hits (
  hit_pk INTEGER PRIMARY KEY,
  hit_id TEXT NOT NULL UNIQUE,
  doc_pk INTEGER NOT NULL REFERENCES documents(doc_pk),
  passage_index INTEGER NOT NULL,
  machine_label TEXT, pattern TEXT, confidence REAL, events TEXT, spans TEXT,
  text TEXT, text_start INTEGER, year INTEGER, institution TEXT, language TEXT
);
CREATE INDEX hits_conf ON hits(confidence DESC, hit_pk);
CREATE INDEX hits_pattern ON hits(pattern, confidence DESC, hit_pk);
CREATE INDEX hits_year ON hits(year, confidence DESC, hit_pk);
CREATE INDEX hits_inst ON hits(institution, confidence DESC, hit_pk);
CREATE INDEX hits_doc ON hits(doc_pk);
CREATE TABLE decisions (
  decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
  hit_pk INTEGER NOT NULL REFERENCES hits(hit_pk),
  reviewer TEXT NOT NULL, timestamp TEXT NOT NULL, label TEXT NOT NULL, pattern TEXT,
  rationale TEXT NOT NULL DEFAULT '', nonce TEXT UNIQUE
);
CREATE INDEX decisions_hit ON decisions(hit_pk);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
  BEGIN SELECT RAISE(ABORT, 'the decision ledger is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
  BEGIN SELECT RAISE(ABORT, 'the decision ledger is append-only'); END;
"""

_V2 = """
CREATE TABLE hit_state (
  hit_pk INTEGER NOT NULL, reviewer TEXT NOT NULL, decision_id INTEGER NOT NULL, label TEXT NOT NULL,
  pattern TEXT, PRIMARY KEY (hit_pk, reviewer)
) WITHOUT ROWID;
CREATE INDEX hit_state_label ON hit_state(label, hit_pk);
CREATE INDEX hit_state_reviewer ON hit_state(reviewer, hit_pk);
CREATE TRIGGER decisions_state AFTER INSERT ON decisions BEGIN
  INSERT INTO hit_state(hit_pk, reviewer, decision_id, label, pattern)
    VALUES (NEW.hit_pk, NEW.reviewer, NEW.decision_id, NEW.label, NEW.pattern)
    ON CONFLICT(hit_pk, reviewer) DO UPDATE SET decision_id = excluded.decision_id, label = excluded.label,
      pattern = excluded.pattern WHERE excluded.decision_id > hit_state.decision_id;
END;
CREATE TABLE decided_hits (
  hit_pk INTEGER PRIMARY KEY, pattern TEXT, year INTEGER, institution TEXT, machine_label TEXT, confidence REAL
);
CREATE TRIGGER decisions_decided AFTER INSERT ON decisions BEGIN
  INSERT OR IGNORE INTO decided_hits(hit_pk, pattern, year, institution, machine_label, confidence)
    SELECT hit_pk, pattern, year, institution, machine_label, confidence FROM hits WHERE hit_pk = NEW.hit_pk;
END;
CREATE TABLE facet_counts (facet TEXT NOT NULL, value TEXT, n INTEGER NOT NULL);
CREATE TABLE facet_cube (pattern TEXT, year INTEGER, institution TEXT, machine_label TEXT, n INTEGER NOT NULL);
CREATE INDEX facet_cube_pattern ON facet_cube(pattern);
CREATE INDEX facet_cube_year ON facet_cube(year);
CREATE INDEX facet_cube_inst ON facet_cube(institution);
"""

# v3: no secret in the file. The signing key of `review serve` is drawn per server run (security.py); the old
# key is deleted (with secure_delete on, so its bytes do not linger in free pages).
_V3 = """
DELETE FROM meta WHERE key = 'session_secret';
"""

#: version -> SQL that brings version-1 to version
MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3}
# SQLite's own objects that may appear in a project: the AUTOINCREMENT counter. (organwatch never runs ANALYZE,
# so sqlite_stat* tables, which steer the query planner, are refused like any other unknown object.)
_INTERNAL_TABLES = frozenset(["sqlite_sequence"])


@functools.cache
def expected_objects(version: int) -> frozenset[tuple[str, str, str, str]]:
    """(type, name, table, normalised SQL) of every object a project of ``version`` holds, from the migrations."""
    con = sqlite3.connect(":memory:")
    try:
        for v in range(1, version + 1):
            for stmt in _split(MIGRATIONS[v]):
                con.execute(stmt)
        return frozenset(_objects(con))
    finally:
        con.close()


def _norm(sql: str | None) -> str:
    return " ".join((sql or "").split())


def _objects(con: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    return [(str(t), str(n), str(tb), _norm(q)) for t, n, tb, q in con.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master") if not _internal(str(t), str(n), q)]


def _internal(kind: str, name: str, sql: str | None) -> bool:
    if kind == "table" and name in _INTERNAL_TABLES:
        return True
    return kind == "index" and name.startswith("sqlite_autoindex_") and sql is None


def check_schema(con: sqlite3.Connection, version: int, path: Path) -> None:
    """Refuse a project whose tables, indexes, views or triggers differ from what ``version`` creates."""
    if version not in MIGRATIONS:
        raise InputError(f"not an organwatch review project (unknown schema version {version})", file=path)
    try:
        found = set(_objects(con))
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise InputError(f"damaged review project ({e})", file=path) from None
    expected = expected_objects(version)
    extra = sorted(found - expected, key=lambda o: (o[0], o[1]))
    missing = sorted(expected - found, key=lambda o: (o[0], o[1]))
    if extra or missing:
        kind, name = (extra or missing)[0][:2]
        names = {o[1] for o in expected}
        what = ("altered" if name in names else "unknown") if extra else "missing"
        more = len(extra) + len(missing) - 1
        raise InputError(f"not a genuine organwatch review project: {what} {kind} '{name[:60]}' (schema version "
                         f"{version}){f', and {more} more difference(s)' if more > 0 else ''}; refusing to open it",
                         file=path)


@contextlib.contextmanager
def guarded(path: str | Path) -> Iterator[None]:
    """SQLite errors from a damaged or hostile project file, and values no genuine project holds (text that is
    not UTF-8, JSON columns that are not JSON), as one-line :class:`InputError`."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        raise InputError(f"damaged review project ({' '.join(str(e).split())[:200]})", file=Path(path).name) from None
    except (ValueError, TypeError, KeyError, RecursionError) as e:  # incl. UnicodeDecodeError, JSONDecodeError
        raise InputError(f"malformed review project ({type(e).__name__}: {' '.join(str(e).split())[:200]})",
                         file=Path(path).name) from None


def rebuild_state(con: sqlite3.Connection) -> None:
    """Recompute the derived tables from the ledger and the hits (used by migrations and ``review new``)."""
    con.execute("DELETE FROM hit_state")
    con.execute("""INSERT INTO hit_state(hit_pk, reviewer, decision_id, label, pattern)
                   SELECT d.hit_pk, d.reviewer, d.decision_id, d.label, d.pattern FROM decisions d
                   JOIN (SELECT hit_pk, reviewer, MAX(decision_id) AS m FROM decisions GROUP BY hit_pk, reviewer) x
                     ON x.m = d.decision_id""")
    con.execute("DELETE FROM decided_hits")
    con.execute("""INSERT INTO decided_hits(hit_pk, pattern, year, institution, machine_label, confidence)
                   SELECT hit_pk, pattern, year, institution, machine_label, confidence FROM hits
                   WHERE hit_pk IN (SELECT hit_pk FROM decisions)""")
    rebuild_facets(con)


def rebuild_facets(con: sqlite3.Connection) -> None:
    """Counts of the immutable hit facets (pattern, year, institution, machine label, language) and the cube."""
    con.execute("DELETE FROM facet_counts")
    for facet in ("pattern", "year", "institution", "machine_label", "language"):
        con.execute(f"INSERT INTO facet_counts(facet, value, n) SELECT '{facet}', CAST({facet} AS TEXT), COUNT(*) "
                    f"FROM hits GROUP BY {facet}")
    # the cube: hit counts per combination of the filterable hit fields, so that facet counts under any
    # combination of hit-field filters sum a few thousand cube rows instead of scanning the hits
    con.execute("DELETE FROM facet_cube")
    con.execute("INSERT INTO facet_cube(pattern, year, institution, machine_label, n) SELECT pattern, year, "
                "institution, machine_label, COUNT(*) FROM hits GROUP BY pattern, year, institution, machine_label")


def connect(path: str | Path, *, create: bool = False, wal: bool = False, readonly: bool = False,
            check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (and migrate) a project file. Raises :class:`InputError` for anything that is not one."""
    path = Path(path)
    if not create and not path.is_file():
        raise InputError("no such project file", file=path)
    if readonly:
        uri = f"file:{path.resolve()}?mode=ro"
        con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=check_same_thread)
    else:
        con = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("PRAGMA foreign_keys = ON")
        # a shared file is untrusted: no SQL functions with side effects from its schema, damaged cells detected
        con.execute("PRAGMA trusted_schema = OFF")
        con.execute("PRAGMA cell_size_check = ON")
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        con.close()
        raise InputError(f"not an organwatch review project ({e})", file=path) from None
    if version == 0 and app_id == 0:
        n_tables = con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if n_tables and not create:
            con.close()
            raise InputError("not an organwatch review project (an unrelated SQLite database)", file=path)
        if not create:
            con.close()
            raise InputError("not an organwatch review project (empty file)", file=path)
    elif app_id != APPLICATION_ID:
        con.close()
        raise InputError("not an organwatch review project", file=path)
    if version > SCHEMA_VERSION:
        con.close()
        raise InputError(f"project schema version {version} is newer than this organwatch understands "
                         f"({SCHEMA_VERSION}); upgrade organwatch", file=path)
    if version > 0 or not create:
        try:
            check_schema(con, version, path)
        except BaseException:
            con.close()
            raise
    if version < SCHEMA_VERSION and not (readonly and version in READABLE_VERSIONS):
        if readonly:
            con.close()
            raise InputError(f"project schema version {version} needs a migration; open it writable once "
                             "(e.g. organwatch review serve)", file=path)
        migrate(con, version, SCHEMA_VERSION)
    if wal and not readonly:
        con.execute("PRAGMA journal_mode = WAL")
        # FULL: a decision acknowledged to the browser is on disk, even if the machine loses power afterwards
        con.execute("PRAGMA synchronous = FULL")
    return con


def migrate(con: sqlite3.Connection, current: int, target: int = SCHEMA_VERSION) -> None:
    """Apply migrations ``current+1 .. target`` in one transaction; derived state is rebuilt from the ledger."""
    con.execute("PRAGMA secure_delete = ON")  # deleted rows (the old session secret) are overwritten
    con.execute("BEGIN IMMEDIATE")
    try:
        for v in range(current + 1, target + 1):
            for stmt in _split(MIGRATIONS[v]):
                con.execute(stmt)
            if v == 2 and current >= 1:
                rebuild_state(con)
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {target}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("PRAGMA secure_delete = OFF")


def _split(script: str) -> list[str]:
    """Split a migration script into statements (triggers contain ';' inside BEGIN ... END)."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        stmt = "\n".join(buf)
        if sqlite3.complete_statement(stmt):
            out.append(stmt)
            buf = []
    if buf and "".join(buf).strip():
        out.append("\n".join(buf))
    return out


class ThreadConnections:
    """One SQLite connection per thread, made on first use by ``factory`` and all closed together."""

    def __init__(self, factory: Callable[[], sqlite3.Connection]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(self._local, "con", None)
        if c is None:
            c = self._factory()
            self._local.con = c
            with self._lock:
                self._all.append(c)
        return c

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._all.clear()

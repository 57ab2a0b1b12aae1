"""On-disk cache of the screener's compiled start-up artefacts, keyed by the sha256 of everything behind them.

Every ``organwatch screen`` process (and every worker process of its pool) needs the compiled rule pack, the
normaliser's translate tables, the prefilter's byte patterns and the hyperscan databases of the scanner and
the prefilter. Building them takes about a second; reading them back takes milliseconds. Entries are only
derived artefacts of files the program ships or the user names (a rule pack), never input documents.

- Directory: ``$ORGANWATCH_CACHE``, else ``$ORGANWATCH_PREFILTER_CACHE`` (the older name, kept), else
  ``$XDG_CACHE_HOME/organwatch``, else ``~/.cache/organwatch``; either variable set to ``off`` keeps
  everything in memory and writes nothing.
- Key: sha256 of the entry's own inputs (pack bytes, normaliser settings, literals, patterns) and of a
  fingerprint of the code and libraries that build it (the source bytes of the modules in ``_SOURCES`` and
  ``rules/normalisation.toml``, the organwatch, Python, Unicode, numpy, OpenCC and hyperscan versions, and
  which modules run compiled), so
  that any change of inputs or code makes a new entry instead of reusing a stale one.
- Entries are written atomically (a temporary file in the same directory, then ``os.replace``); an entry
  that cannot be read, does not unpickle or carries another key is rebuilt (and rewritten) silently; a
  directory that cannot be written (read-only home) means building in memory in every process.

Nothing is computed or written on import: the fingerprint is computed on the first lookup.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

ENV = "ORGANWATCH_CACHE"
LEGACY_ENV = "ORGANWATCH_PREFILTER_CACHE"
OFF = "off"
# modules whose code decides what the cached artefacts contain (relative to the organwatch package)
_SOURCES = ("screen/buildcache.py", "screen/normalise.py", "screen/rulepack.py", "screen/prefilter.py",
            "screen/scanner.py", "textscript.py", "screen/rules/normalisation.toml")
_LIBRARIES = ("numpy", "opencc", "hyperscan")

T = TypeVar("T")


def root() -> Path | None:
    """The cache directory (not created here), or None when caching is off or no home can be found."""
    for var in (ENV, LEGACY_ENV):
        value = os.environ.get(var, "")
        if value == OFF:
            return None
        if value:
            return Path(value)
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg) if xdg else Path.home() / ".cache"
    except RuntimeError:  # no home directory can be determined: build in memory
        return None
    return base / "organwatch"


def directory(kind: str) -> Path | None:
    """The subdirectory of the cache for one kind of artefact (``prefilter``, ``scanner``, ``build``)."""
    base = root()
    return base / kind if base is not None else None


def _library_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """sha256 of the code and library versions that build the artefacts (computed once per process)."""
    import unicodedata

    from organwatch import __version__
    from organwatch.buildinfo import compiled_modules

    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _SOURCES:
        h.update(rel.encode())
        try:
            h.update(hashlib.sha256((pkg / rel).read_bytes()).digest())
        except OSError:
            h.update(b"missing")
    # the build too: entries pickled by the pure-Python build and by the compiled one (setup.py) are kept apart
    parts = (__version__, sys.version, unicodedata.unidata_version, *(_library_version(n) for n in _LIBRARIES),
             tuple(compiled_modules()))
    h.update(repr(parts).encode())
    return h.hexdigest()


def key(kind: str, inputs: Any) -> str:
    """The entry key of ``inputs`` (anything with a deterministic ``repr``) for ``kind``."""
    return hashlib.sha256(repr((kind, fingerprint(), inputs)).encode("utf-8", "surrogatepass")).hexdigest()[:40]


def read(path: Path | None) -> bytes | None:
    """The bytes of a cache entry, or None (no entry, or an unreadable one)."""
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def write(path: Path | None, data: bytes) -> None:
    """Write a cache entry atomically; any failure (read-only or full disk) leaves the cache as it was."""
    if path is None:
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # read-only home: build in memory in every process
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def cached(kind: str, inputs: Any, build: Callable[[], T], check: Callable[[Any], bool] | None = None) -> T:
    """``build()``, or its result as pickled before for the same ``kind``, ``inputs`` and fingerprint.

    The pickle holds ``(key, value)``; an entry whose key differs, that does not unpickle, or whose value
    fails ``check`` is rebuilt. The cache directory is the user's own and holds only what ``build`` made."""
    d = directory("build")
    if d is None:
        return build()
    k = key(kind, inputs)
    path = d / f"{kind}-{k}.pickle"
    data = read(path)
    if data is not None:
        try:
            got_key, value = pickle.loads(data)  # our own entry, in the user's cache dir, keyed
            if got_key == k and (check is None or check(value)):
                return value
        except Exception:  # noqa: BLE001 - a damaged entry is rebuilt, never fatal
            pass
    value = build()
    write(path, pickle.dumps((k, value), protocol=pickle.HIGHEST_PROTOCOL))
    return value


def hyperscan_db(kind: str, exprs: list[bytes], compile_db: Callable[[], Any], inputs: Any = ()) -> Any:
    """A block-mode hyperscan database: ``compile_db()``, or the one it compiled before for the same
    expressions (in order: the order gives the match ids), ``inputs`` (flags, modes) and hyperscan version,
    read back with ``hyperscan.loadb``."""
    import hyperscan as hs

    d = directory(kind)
    k = hashlib.sha256(repr((list(exprs), inputs, _library_version("hyperscan"))).encode()).hexdigest()[:32]
    path = d / f"{k}.hsdb" if d is not None else None
    data = read(path)
    if data is not None:
        try:
            return hs.loadb(data, hs.HS_MODE_BLOCK)
        except Exception:  # noqa: BLE001 - a damaged or foreign database is recompiled, never fatal
            pass
    db = compile_db()
    if path is not None:
        # a database that cannot be serialised is just not cached
        with contextlib.suppress(Exception):
            write(path, hs.dumpb(db))
    return db

"""Claim and member readers. :func:`read_all` reads every input of a run (content-sniffed, not by name)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from organwatch.claims.model import Claim
from organwatch.errors import InputError, RecordError

if TYPE_CHECKING:
    from organwatch.claims.readers.fhir_index import ResourceIndex

MAX_INPUT_BYTES = 1024 * 1024 * 1024  # larger claims files are refused (split them); FHIR NDJSON is streamed
FORMATS = "X12 837P/837I (5010, 4010), FHIR R4 JSON / Bundle / NDJSON, claims CSV"


def sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"ISA"):
        return "x12"
    if text.startswith(b"{") or text.startswith(b"["):
        return "fhir"
    if path.suffix.lower() in (".csv", ".tsv") or b"," in head.split(b"\n", 1)[0]:
        return "csv"
    if b"GS*" in head[:200] or b"ST*" in head[:200]:
        raise InputError("X12 without an ISA interchange header: not read", file=path.name)
    raise InputError("not an X12 837 interchange (ISA...), FHIR JSON or claims CSV", file=path.name)


def expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith(".")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError("no such file or directory", file=p.name)
    return list(dict.fromkeys(out))


def _kind(path: Path) -> str:
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(f"file larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; split it", file=path.name)
    return sniff(path)


def read_claims(path: Path, fast: bool = False) -> Iterator[Claim | RecordError]:
    """One file on its own (FHIR references resolve only inside it); :func:`read_all` for a run."""
    yield from read_all([path], fast)


def read_all(paths: list[Path], fast: bool = False, index_out: list[object] | None = None,
             on_file: Callable[[Path], None] | None = None) -> Iterator[Claim | RecordError]:
    """Every input of a run: FHIR files are indexed together first, so references resolve across files.
    ``index_out`` receives the resource index (for member linking); ``on_file`` is called per file read."""
    kinds: list[tuple[Path, str]] = []
    for p in paths:
        try:
            kinds.append((p, _kind(p)))
        except InputError as e:  # a whole file that is not a claims file: isolate it, go on
            yield RecordError(file=p.name, record=None, field="file", message=e.message)
    fhir = [p for p, k in kinds if k == "fhir"]
    index: ResourceIndex | None = None
    if fhir:
        from organwatch.claims.readers.fhir import build_index

        index = build_index(fhir)
        if index_out is not None:
            index_out.append(index)
    for p, k in kinds:
        if on_file is not None:
            on_file(p)
        yield from _read_one(p, k, fast, index)


def _read_one(p: Path, kind: str, fast: bool, index: ResourceIndex | None) -> Iterator[Claim | RecordError]:
    if kind == "x12":
        if fast:
            from organwatch.claims.readers.x12_fast import read_x12_fast

            yield from read_x12_fast(p)
        else:
            from organwatch.claims.readers.x12 import read_x12

            yield from read_x12(p)
    elif kind == "fhir":
        from organwatch.claims.readers.fhir import read_fhir

        yield from read_fhir(p, index, fast)
    else:
        from organwatch.claims.readers.csv_claims import read_csv_claims

        yield from read_csv_claims(p)

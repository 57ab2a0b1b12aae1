"""Claim and member readers. ``read_claims(path)`` dispatches on content, not only on the file name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from organwatch.claims.model import Claim, ClaimError
from organwatch.errors import InputError

MAX_INPUT_BYTES = 512 * 1024 * 1024  # a claims file larger than this is refused rather than read into memory


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
    raise InputError("not an X12 837 interchange (ISA...), FHIR JSON or claims CSV", file=path)


def expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and not q.name.startswith(".")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError("no such file or directory", file=p)
    return out


def read_claims(path: Path, fast: bool = False) -> Iterator[Claim | ClaimError]:
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(f"file larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; split it", file=path)
    kind = sniff(path)
    if kind == "x12":
        from organwatch.claims.readers.x12 import read_x12

        yield from read_x12(path)
    elif kind == "fhir":
        if fast:
            from organwatch.claims.readers.fhir_fast import read_fhir_fast

            yield from read_fhir_fast(path)
        else:
            from organwatch.claims.readers.fhir import read_fhir

            yield from read_fhir(path)
    else:
        from organwatch.claims.readers.csv_claims import read_csv_claims

        yield from read_csv_claims(path)

"""Inventory readers for ``organwatch biotech screen``: CSV/TSV and XLSX (openpyxl) equipment, software and
vendor lists, mapped to the documented fields by header aliases (``biotech/data/columns.toml``).

Each file yields :class:`Asset` records and :class:`~organwatch.errors.RecordError` for rows it cannot use;
a file without any name column (manufacturer, model, vendor, software) raises one
:class:`~organwatch.errors.InputError` naming the headers it saw.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from organwatch.errors import InputError, RecordError, display_name

FIELDS = ("asset_id", "manufacturer", "model", "vendor", "software", "asset_type", "facility_type", "state",
          "country_of_origin", "purchase_date")
HEADER_SCAN_ROWS = 20
_HEADER_SEP = re.compile(r"[\s.\-/_]+")
_HEADER_DROP = re.compile(r"[^0-9a-z_\u3400-\u9fff]")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y%m%d", "%Y-%m", "%b %d, %Y",
                 "%d %b %Y", "%B %d, %Y", "%d %B %Y")


@functools.cache
def columns_config() -> dict[str, Any]:
    """columns.toml, validated: every field has aliases, vocabularies map to the kinds the laws use."""
    from organwatch.biotech.laws import ASSETS, FACILITIES

    raw = tomllib.loads((resources.files("organwatch.biotech") / "data" / "columns.toml").read_text("utf-8"))
    if set(raw.get("fields", {})) != set(FIELDS):
        raise RuntimeError(f"biotech/data/columns.toml: [fields] must name exactly {list(FIELDS)}")
    if not set(raw["name_fields"]) <= set(FIELDS):
        raise RuntimeError("biotech/data/columns.toml: name_fields must be fields")
    if not set(raw["facility_types"]) <= set(FACILITIES):
        raise RuntimeError(f"biotech/data/columns.toml: [facility_types] keys must be in {FACILITIES}")
    if not set(raw["asset_types"]) <= {*ASSETS, "other"}:
        raise RuntimeError(f"biotech/data/columns.toml: [asset_types] keys must be in {ASSETS} or other")
    for table, kinds in (("facility_keywords", FACILITIES), ("asset_keywords", (*ASSETS, "other"))):
        if not all(isinstance(x, list) and len(x) == 2 and x[1] in kinds for x in raw.get(table, [None])):
            raise RuntimeError(f"biotech/data/columns.toml: '{table}' must be [keyword, kind] pairs with kinds in "
                               f"{kinds}")
    return raw


def header_key(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().casefold()
    return _HEADER_DROP.sub("", _HEADER_SEP.sub("_", s)).strip("_")


@functools.cache
def _vocab(table: str) -> dict[str, str]:
    out = {}
    for kind, values in columns_config()[table].items():
        for v in values:
            out[header_key(v) if table in ("facility_types", "asset_types") else _cell_key(v)] = kind
    return out


def _cell_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).replace(".", " ").replace("’", "'").split()).casefold()


@functools.cache
def _blanks() -> frozenset[str]:
    return frozenset(_cell_key(v) for v in columns_config()["blank_values"])


def is_blank(value: str) -> bool:
    return not value or _cell_key(value) in _blanks()


def _keyword(value: str, table: str) -> str | None:
    folded = _cell_key(value).replace("_", " ")
    return next((kind for word, kind in columns_config()[table] if word in folded), None)


@functools.lru_cache(maxsize=4096)
def facility_kind(value: str) -> str | None:
    """Facility kind of a facility_type cell: the vocabulary, else the first keyword it contains, else None."""
    if not value:
        return None
    return _vocab("facility_types").get(header_key(value)) or _keyword(value, "facility_keywords")


@functools.lru_cache(maxsize=4096)
def asset_kind(value: str) -> str | None:
    """Asset kind of an asset_type cell: the vocabulary, else the first keyword it contains, else None."""
    if not value:
        return None
    return _vocab("asset_types").get(header_key(value)) or _keyword(value, "asset_keywords")


def country_code(value: str) -> str | None:
    """ISO alpha-2 for a country cell, or None when blank or not recognised (never guessed)."""
    if not value:
        return None
    hit = _vocab("countries").get(_cell_key(value))
    if hit:
        return hit
    from organwatch.claims.countries import normalise

    code = normalise(value)
    return None if code == "UNKNOWN" else code


def state_code(value: str) -> str | None:
    """US-XX (or US for federal) for a state cell or option; None when not recognised."""
    v = _cell_key(value).upper().removeprefix("US-")
    if not v:
        return None
    if v == "US":
        return "US"
    if len(v) == 2 and v.isalpha() and v in columns_config()["states"]:
        return f"US-{v}"
    hit = _vocab("states").get(_cell_key(value))
    if hit:
        return "US" if hit == "US" else f"US-{hit}"
    return None


def parse_purchase_date(value: Any) -> dt.date | None:
    """A purchase date: datetime/date cells, ISO and common US/European forms; ValueError when unreadable."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class Asset:
    """One inventory row, mapped to the documented fields."""

    file: str
    row: int  # 1-based line (CSV) or sheet row (XLSX) of the record
    asset_id: str
    manufacturer: str = ""
    model: str = ""
    vendor: str = ""
    software: str = ""
    asset_type: str = ""
    facility_type: str = ""
    state: str = ""
    country_of_origin: str = ""
    purchase_date: dt.date | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All descriptive cells in one string (for product patterns and context terms)."""
        return " | ".join(x for x in (self.manufacturer, self.model, self.vendor, self.software, self.asset_type)
                          if x)

    def fields(self) -> dict[str, Any]:
        return {"manufacturer": self.manufacturer or None, "model": self.model or None, "vendor": self.vendor or None,
                "software": self.software or None, "asset_type": self.asset_type or None,
                "facility_type": self.facility_type or None, "state": self.state or None,
                "country_of_origin": self.country_of_origin or None,
                "purchase_date": self.purchase_date.isoformat() if self.purchase_date else None}


# -- header mapping -------------------------------------------------------------------------------------------
def map_headers(headers: list[str]) -> dict[str, int]:
    """field -> column index: for each field the first of its aliases (in alias order) among the headers."""
    keys = [header_key(h) for h in headers]
    out: dict[str, int] = {}
    taken: set[int] = set()
    for fld in FIELDS:
        for alias in columns_config()["fields"][fld]:
            k = header_key(alias)
            idx = next((i for i, h in enumerate(keys) if h == k and i not in taken), None)
            if idx is not None:
                out[fld] = idx
                taken.add(idx)
                break
    return out


def _has_name_field(mapping: dict[str, int]) -> bool:
    return any(f in mapping for f in columns_config()["name_fields"])


def missing_columns_error(name: str, headers: list[str], where: str = "") -> InputError:
    seen = ", ".join(h for h in headers if h) or "none"
    return InputError(f"{name}{where}: no manufacturer, model, vendor or software column (headers seen: {seen}); "
                      "the accepted header names are listed in docs/biotech.md")


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    for i, r in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = map_headers(["" if c is None else str(c) for c in r])
        if _has_name_field(mapping):
            return i, mapping
    return None


def _cell(row: list[Any], mapping: dict[str, int], fld: str) -> Any:
    idx = mapping.get(fld)
    if idx is None or idx >= len(row) or row[idx] is None:
        return ""
    v = row[idx]
    if isinstance(v, dt.date | dt.datetime):
        return v
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = " ".join(str(v).split())
    return "" if is_blank(text) else text


def _asset(row: list[Any], mapping: dict[str, int], file: str, rownum: int, sheet: str | None) -> Asset | RecordError:
    cells = {f: _cell(row, mapping, f) for f in FIELDS}
    if not any(cells[f] for f in columns_config()["name_fields"]):
        return RecordError(file=file, record=rownum, line=rownum, field="manufacturer",
                           message="row has no manufacturer, model, vendor or software")
    purchase = None
    notes = []
    try:
        purchase = parse_purchase_date(cells["purchase_date"])
    except ValueError:
        notes.append(f"purchase date '{cells['purchase_date']}' is not a date")
    text = {f: ("" if isinstance(v, dt.date) else str(v)) for f, v in cells.items()}
    asset_id = text["asset_id"] or (f"{sheet}:{rownum}" if sheet else str(rownum))
    return Asset(file=file, row=rownum, asset_id=asset_id, manufacturer=text["manufacturer"], model=text["model"],
                 vendor=text["vendor"], software=text["software"], asset_type=text["asset_type"],
                 facility_type=text["facility_type"], state=text["state"],
                 country_of_origin=text["country_of_origin"], purchase_date=purchase, sheet=sheet, notes=notes)


def _rows_to_assets(rows: Iterable[tuple[int, list[Any]]], mapping: dict[str, int], file: str,
                    sheet: str | None) -> Iterator[Asset | RecordError]:
    for rownum, row in rows:
        if not any(c not in (None, "") and str(c).strip() for c in row):
            continue
        yield _asset(row, mapping, file, rownum, sheet)


# -- CSV ------------------------------------------------------------------------------------------------------
def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: damaged UTF-16 text; save the inventory as UTF-8 CSV or XLSX") from None
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{name}: an Excel 97-2003 (.xls) workbook; save it as XLSX or CSV")
    if b"\x00" in data[:4096]:
        raise InputError(f"{name}: not a text CSV file (binary content); inventories are CSV, TSV or XLSX")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 or Windows-1252 text; save the inventory as UTF-8 CSV or XLSX") from None


def read_csv(path: Path, verbose: bool = False) -> Iterator[Asset | RecordError]:
    name = display_name(path, verbose)
    text = _decode(path.read_bytes(), name)
    sample = text[:8192]
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    if delimiter == "," and sample:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    head: list[tuple[int, list[Any]]] = []
    for row in reader:
        head.append((reader.line_num, list(row)))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    found = _find_header([r for _, r in head])
    if found is None:
        raise missing_columns_error(name, [str(c) for c in (head[0][1] if head else [])])
    hdr, mapping = found

    def rows() -> Iterator[tuple[int, list[Any]]]:
        yield from head[hdr + 1:]
        for row in reader:
            yield reader.line_num, list(row)

    yield from _rows_to_assets(rows(), mapping, name, None)


# -- XLSX -----------------------------------------------------------------------------------------------------
def read_xlsx(path: Path, verbose: bool = False) -> Iterator[Asset | RecordError]:
    """Every sheet with a recognisable header row (within its first rows); other sheets are reported as notes."""
    import zipfile

    import openpyxl

    name = display_name(path, verbose)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise InputError(f"{name}: not a readable XLSX workbook ({type(e).__name__})") from None
    try:
        used = 0
        first_headers: list[str] = []
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            head = []
            for i, r in enumerate(it, start=1):
                head.append((i, list(r)))
                if len(head) >= HEADER_SCAN_ROWS:
                    break
            found = _find_header([r for _, r in head])
            if found is None:
                if head and not first_headers:
                    first_headers = [str(c) for c in head[0][1] if c is not None]
                if head:
                    yield RecordError(file=name, record=ws.title, message=f"sheet '{ws.title}' has no inventory "
                                      "header row; skipped", note=True)
                continue
            used += 1
            hdr, mapping = found
            yield from _rows_to_assets(_chain(head[hdr + 1:], it, len(head)), mapping, name, ws.title)
        if not used:
            raise missing_columns_error(name, first_headers)
    finally:
        wb.close()


def _chain(head: list[tuple[int, list[Any]]], rest: Iterator[Any], offset: int) -> Iterator[tuple[int, list[Any]]]:
    """The scanned rows after the header, then the rest of the sheet numbered from ``offset`` + 1."""
    yield from head
    for j, r in enumerate(rest, start=offset + 1):
        yield j, list(r)


READERS = {".csv": read_csv, ".tsv": read_csv, ".tab": read_csv, ".txt": read_csv, ".xlsx": read_xlsx,
           ".xlsm": read_xlsx}
FORMATS = "CSV, TSV, XLSX"


def read_inventory(path: Path, verbose: bool = False) -> Iterator[Asset | RecordError]:
    """Assets and record errors of one inventory file (InputError for a file that cannot be read at all)."""
    name = display_name(path, verbose)
    if not path.exists():
        raise InputError(f"{name}: no such file")
    if path.is_dir():
        raise InputError(f"{name}: is a directory; give the inventory files")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        reader = read_xlsx if magic == b"PK\x03\x04" else read_csv
    yield from reader(path, verbose)


def expand(inputs: Iterable[Path]) -> list[Path]:
    """Files as given; a directory stands for the inventory files directly in it (sorted)."""
    out: list[Path] = []
    for p in inputs:
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in READERS))
        else:
            out.append(p)
    return out

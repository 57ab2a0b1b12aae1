"""Embedded, sourced datasets and their catalog.

``load(name)`` returns a :class:`Dataset`: a typed pandas table plus its provenance (file, sha256, source
URLs, licence, attribution). The catalog (``catalog.toml``) states for each file its origin, sources,
licence notes, sha256 and column meanings; tests check it against the vendored files.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from organwatch.errors import UsageError
from organwatch.findings import InputRef, sha256_file

_DTYPES = {"int": "Int64", "float": "Float64", "str": "string", "bool": "boolean"}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    file: str
    group: str
    title: str
    description: str
    source_urls: list[str]
    licence: str
    readme: str
    sha256: str
    rows: int
    columns: dict[str, dict[str, str]]
    read_options: dict[str, str] = field(default_factory=dict)
    attribution: str = ""

    @property
    def path(self) -> Path:
        return data_dir() / self.file

    def input_ref(self) -> InputRef:
        return InputRef(name=f"organwatch:{self.name} ({self.file})", sha256=self.sha256)

    def provenance(self) -> dict[str, Any]:
        return {"dataset": self.name, "file": self.file, "sha256": self.sha256, "source_urls": self.source_urls,
                "licence": self.licence, "attribution": self.attribution}


@dataclass
class Dataset:
    info: DatasetInfo
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        return self.info.name


def data_dir() -> Path:
    return Path(str(resources.files("organwatch.datasets") / "data"))


@functools.cache
def catalog() -> dict[str, DatasetInfo]:
    raw = tomllib.loads((resources.files("organwatch.datasets") / "catalog.toml").read_text("utf-8"))
    return {name: DatasetInfo(name=name, **entry) for name, entry in raw["datasets"].items()}


def info(name: str) -> DatasetInfo:
    cat = catalog()
    if name not in cat:
        raise UsageError(f"unknown dataset '{name}'; `organwatch data list` shows the {len(cat)} embedded datasets")
    return cat[name]


def verify(name: str) -> bool:
    """True when the vendored file still has the catalog's sha256."""
    i = info(name)
    return sha256_file(i.path) == i.sha256


@functools.cache
def _load_frame(name: str) -> pd.DataFrame:
    i = info(name)
    dtypes = {c: _DTYPES[spec["type"]] for c, spec in i.columns.items()}
    kw: dict[str, Any] = dict(i.read_options)
    frame = pd.read_csv(i.path, dtype=dtypes, keep_default_na=True, **kw)
    missing = set(i.columns) - set(frame.columns)
    if missing:  # the catalog and the file disagree: a packaging bug, not user input
        raise RuntimeError(f"embedded dataset {name}: columns {sorted(missing)} missing from {i.file}")
    return frame


def load(name: str) -> Dataset:
    """The typed table and its provenance. The frame is a copy: callers may modify it."""
    return Dataset(info=info(name), frame=_load_frame(name).copy())


from organwatch.datasets.godt import GODT_VINTAGES, godt_panel  # noqa: E402  (re-export)

__all__ = ["Dataset", "DatasetInfo", "catalog", "info", "load", "verify", "data_dir", "godt_panel", "GODT_VINTAGES"]

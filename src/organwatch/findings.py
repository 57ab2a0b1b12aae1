"""The one Finding model every engine emits.

A finding states what was tested, on what, with which statistics, against which reference, and a neutral
graded verdict. It never accuses: verdicts describe how a series or text compares with a stated reference.

JSON round-trip: ``Finding.from_dict(f.to_dict()) == f`` and ``Finding.from_json(f.to_json()) == f``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

from organwatch import __version__


class Verdict(str, Enum):
    """Graded, neutral verdicts (see docs/findings.md)."""

    CONSISTENT = "consistent"
    UNUSUAL = "unusual"
    HIGHLY_UNUSUAL = "highly_unusual"
    NOT_TESTABLE = "not_testable"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass
class InputRef:
    name: str
    sha256: str

    @classmethod
    def from_path(cls, path: str | Path, name: str | None = None) -> "InputRef":
        return cls(name=name or str(path), sha256=sha256_file(path))


@dataclass
class Provenance:
    inputs: list[InputRef] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    seed: int | None = None


@dataclass
class Finding:
    check: str  # stable check id, e.g. "stats.formula.quadratic"
    subject: str  # what was tested, e.g. "China deceased donors 2010, 2015-2018"
    verdict: Verdict
    statistics: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)
    title: str = ""  # short human heading for reports
    engine: str = ""  # stats / screen / review / volume / claims
    sources: list[dict[str, str]] = field(default_factory=list)  # [{label, url}] of the data used
    not_tested: list[str] = field(default_factory=list)  # what could not be tested, and why

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        d = dict(d)
        prov = d.get("provenance") or {}
        d["provenance"] = Provenance(
            inputs=[InputRef(**i) for i in prov.get("inputs", [])],
            parameters=prov.get("parameters", {}),
            version=prov.get("version", __version__),
            seed=prov.get("seed"),
        )
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown Finding fields: {sorted(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, s: str) -> "Finding":
        return cls.from_dict(json.loads(s))


def _jsonable(x: Any) -> Any:
    """Normalise numpy scalars, tuples and non-finite floats so JSON is strict and stable."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Enum):
        return x.value
    if x is None or type(x).__name__ in ("NAType", "NaTType"):  # pandas missing values
        return None
    if hasattr(x, "item") and callable(x.item) and not isinstance(x, (str, bytes)):
        try:
            x = x.item()
        except (TypeError, ValueError):
            pass
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump_findings(findings: Iterable[Finding], path: str | Path | None = None) -> str:
    """All findings as one JSON document ({"organwatch_version", "findings": [...]}), byte-stable."""
    doc = {"organwatch_version": __version__, "findings": [f.to_dict() for f in findings]}
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1, allow_nan=False) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def load_findings(path: str | Path) -> list[Finding]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    items = doc["findings"] if isinstance(doc, dict) else doc
    return [Finding.from_dict(d) for d in items]

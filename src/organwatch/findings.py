"""The one Finding model every engine emits, in three kinds: test, reproduction and descriptive.

* ``test``: a statistic compared with a stated reference; carries a graded ``verdict``
  (consistent / unusual / highly_unusual / not_testable) and nothing else grades anything.
* ``reproduction``: a published result recomputed; carries a ``status`` (reproduced / differs /
  not_reproducible) and, in ``statistics``, ``published`` and ``computed`` values and a ``reason``.
* ``descriptive``: a registry, an estimate, counts, review progress; neither verdict nor status.

A finding never accuses: verdicts describe how a series or text compares with a stated reference.
JSON round-trip: ``Finding.from_dict(f.to_dict()) == f`` and ``Finding.from_json(f.to_json()) == f``.
Result files written before kinds existed (no ``kind`` key) still load: see :func:`_legacy_kind`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from organwatch import __version__


class Kind(StrEnum):
    """What sort of statement a finding makes (cli.md, Records: Finding)."""

    TEST = "test"
    REPRODUCTION = "reproduction"
    DESCRIPTIVE = "descriptive"


class Verdict(StrEnum):
    """Graded, neutral verdicts of a ``test`` finding (docs/checks.md)."""

    CONSISTENT = "consistent"
    UNUSUAL = "unusual"
    HIGHLY_UNUSUAL = "highly_unusual"
    NOT_TESTABLE = "not_testable"


class Status(StrEnum):
    """Outcome of a ``reproduction`` finding: words, not grades."""

    REPRODUCED = "reproduced"
    DIFFERS = "differs"
    NOT_REPRODUCIBLE = "not_reproducible"


REPRODUCTION_KEYS = ("published", "computed", "reason")


@dataclass
class InputRef:
    name: str
    sha256: str


@dataclass
class Provenance:
    inputs: list[InputRef] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    seed: int | None = None


@dataclass(kw_only=True)
class Finding:
    check: str  # stable check id, e.g. "stats.formula.quadratic"; listed in docs/checks.md
    subject: str  # what was tested, e.g. "China deceased donors 2010, 2015-2018"
    kind: Kind
    verdict: Verdict | None = None  # tests only
    status: Status | None = None  # reproductions only
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
        self.kind = Kind(self.kind)
        self.verdict = None if self.verdict is None else Verdict(self.verdict)
        self.status = None if self.status is None else Status(self.status)
        if self.kind is Kind.TEST and (self.verdict is None or self.status is not None):
            raise ValueError(f"{self.check}: a test finding needs a verdict and no status")
        if self.kind is Kind.REPRODUCTION:
            if self.status is None or self.verdict is not None:
                raise ValueError(f"{self.check}: a reproduction finding needs a status and no verdict")
            missing = [k for k in REPRODUCTION_KEYS if k not in self.statistics]
            if missing:
                raise ValueError(f"{self.check}: a reproduction finding needs statistics {missing}")
        if self.kind is Kind.DESCRIPTIVE and (self.verdict is not None or self.status is not None):
            raise ValueError(f"{self.check}: a descriptive finding has neither verdict nor status")

    # -- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = _jsonable(asdict(self))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        d = dict(d)
        if "kind" not in d:
            d.update(_legacy_kind(d))
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
    def from_json(cls, s: str) -> Finding:
        return cls.from_dict(json.loads(s))


def _legacy_kind(d: dict[str, Any]) -> dict[str, Any]:
    """Kind for a finding written by organwatch 0.1.0 (no ``kind`` key).

    0.1.0 graded everything. Graded consistent/unusual/highly_unusual findings load as tests with that verdict;
    ``not_testable`` ones, which in 0.1.0 also stood for registries and estimates, load as descriptive
    (no verdict), because nothing in the file says whether a test was attempted.
    """
    verdict = d.get("verdict")
    if verdict in (Verdict.CONSISTENT.value, Verdict.UNUSUAL.value, Verdict.HIGHLY_UNUSUAL.value):
        return {"kind": Kind.TEST.value}
    return {"kind": Kind.DESCRIPTIVE.value, "verdict": None}


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
        with contextlib.suppress(TypeError, ValueError):
            x = x.item()
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

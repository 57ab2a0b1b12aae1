"""Code lists (data files in ``data/codes/``) and the line classifiers built on them.

``CodeLists.load()`` reads the CSVs once; lookups are dict/set probes (no regex, no per-record parsing of
the lists). ICD-10-CM post-transplant codes are matched by prefix on the dot-less code (lengths 4-6).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

POSTTX_KINDS = ("status", "complication", "aftercare", "immunosuppression")


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("organwatch.claims") / "data" / "codes" / name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def norm_code(code: str | None) -> str:
    """Upper-case, without dots or blanks (ICD-10 codes are written with and without the dot)."""
    if not code:
        return ""
    return code.replace(".", "").replace(" ", "").strip().upper()


@dataclass(frozen=True)
class CodeLists:
    recipient: dict[str, str]  # CPT/HCPCS/ICD-10-PCS -> organ
    procurement: dict[str, str]  # CPT donor/backbench -> organ
    revenue: frozenset[str]
    drugs: frozenset[str]
    posttx: dict[str, tuple[str, str]]  # ICD-10-CM prefix -> (kind, organ)
    sources: tuple[str, ...]

    @classmethod
    @functools.cache
    def load(cls, include_unverified_procedures: bool = False, include_unverified_drugs: bool = False) -> CodeLists:
        recipient: dict[str, str] = {}
        procurement: dict[str, str] = {}
        for r in _rows("procedures.csv"):
            if r["verified"] != "true" and not include_unverified_procedures:
                continue
            (recipient if r["list"] == "recipient" else procurement)[norm_code(r["code"])] = r["organ"]
        for r in _rows("icd10pcs_transplant.csv"):
            recipient[norm_code(r["code"])] = r["organ"]
        revenue = frozenset(r["code"] for r in _rows("revenue.csv"))
        drugs = frozenset(norm_code(r["code"]) for r in _rows("drugs.csv")
                          if r["verified"] == "true" or include_unverified_drugs)
        posttx = {norm_code(r["prefix"]): (r["kind"], r["organ"]) for r in _rows("icd10cm_post_transplant.csv")}
        return cls(recipient, procurement, revenue, drugs, posttx,
                   ("procedures.csv", "icd10pcs_transplant.csv", "icd10cm_post_transplant.csv", "revenue.csv",
                    "drugs.csv"))

    def posttx_signal(self, dx: str) -> tuple[str, str] | None:
        """(kind, organ) when an ICD-10-CM code is a post-transplant signal (section 4.5), else None."""
        c = norm_code(dx)
        for n in (6, 5, 4):
            hit = self.posttx.get(c[:n])
            if hit is not None:
                return hit
        return None


# revenue codes may arrive with or without the leading zero (X12 SV201 "0811", CSV "811")
def norm_revenue(code: str | None) -> str:
    c = (code or "").strip()
    return c.zfill(4) if c.isdigit() and len(c) < 4 else c

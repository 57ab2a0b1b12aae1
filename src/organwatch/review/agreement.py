"""Inter-reviewer agreement on the current labels: Cohen's kappa per reviewer pair, Fleiss' kappa overall,
and the list of hits on which reviewers disagree.

Cohen (1960): kappa = (p_o - p_e) / (1 - p_e) over the hits both reviewers labelled.
Fleiss (1971) over the hits labelled by at least two reviewers; when hits have different numbers of raters the
per-hit agreement P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)) and the category shares p_j are taken over all
ratings (the usual generalisation; with a constant number of raters it is exactly Fleiss' statistic).
kappa is undefined (None) when expected agreement is 1 (e.g. every rating is the same label).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    if len(a) != len(b):
        raise ValueError("rating sequences differ in length")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1 - pe)


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float | None:
    """``items``: for each hit, the labels given by its reviewers (items with < 2 ratings are ignored)."""
    items = [list(x) for x in items if len(x) >= 2]
    if not items:
        return None
    total = sum(len(x) for x in items)
    cat = Counter(lab for x in items for lab in x)
    pe = sum((c / total) ** 2 for c in cat.values())
    p_i = []
    for x in items:
        n = len(x)
        p_i.append(sum(c * (c - 1) for c in Counter(x).values()) / (n * (n - 1)))
    pbar = sum(p_i) / len(p_i)
    if pe >= 1.0:
        return None
    return (pbar - pe) / (1 - pe)


def current_labels(con: sqlite3.Connection) -> dict[int, dict[str, str]]:
    """hit_pk -> {reviewer: latest label}, for hits with at least two reviewers."""
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for r in con.execute("""SELECT hit_pk, reviewer, label FROM hit_state WHERE hit_pk IN
                            (SELECT hit_pk FROM hit_state GROUP BY hit_pk HAVING COUNT(*) > 1)"""):
        out[r[0]][r[1]] = r[2]
    return out


def agreement(con: sqlite3.Connection, disagreement_limit: int = 200) -> dict[str, Any]:
    by_hit = current_labels(con)
    reviewers = [r[0] for r in con.execute("SELECT DISTINCT reviewer FROM hit_state ORDER BY reviewer")]
    pairs = []
    for r1, r2 in itertools.combinations(reviewers, 2):
        both = [(v[r1], v[r2]) for v in by_hit.values() if r1 in v and r2 in v]
        if not both:
            continue
        a, b = zip(*both, strict=True)
        pairs.append({"reviewers": [r1, r2], "n": len(both),
                      "observed_agreement": sum(x == y for x, y in both) / len(both), "kappa": cohen_kappa(a, b)})
    items = [list(v.values()) for v in by_hit.values()]
    dis_pks = sorted(pk for pk, v in by_hit.items() if len(set(v.values())) > 1)
    disagreements = []
    for pk in dis_pks[:disagreement_limit]:
        h = con.execute("SELECT hit_id, pattern, confidence FROM hits WHERE hit_pk = ?", (pk,)).fetchone()
        disagreements.append({"hit_pk": pk, "hit_id": h["hit_id"], "pattern": h["pattern"],
                              "confidence": h["confidence"], "labels": dict(sorted(by_hit[pk].items()))})
    return {"reviewers": reviewers, "hits_multiply_reviewed": len(by_hit), "fleiss_kappa": fleiss_kappa(items),
            "pairs": pairs, "disagreements": disagreements, "n_disagreements": len(dis_pks)}

from __future__ import annotations

import pytest
from review_helpers import make_project

from organwatch.review.agreement import agreement, cohen_kappa, fleiss_kappa
from organwatch.review.ledger import append
from organwatch.review.schema import connect


def test_cohen_kappa_textbook_2x2():
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> p_o 0.7, p_e 0.5, kappa 0.4
    a = ["y"] * 20 + ["y"] * 5 + ["n"] * 10 + ["n"] * 15
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # expected agreement 1: undefined


def test_fleiss_kappa_textbook_table():
    # Fleiss' classic layout: 10 subjects, 14 raters, 5 categories (counts per category) -> kappa 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    items = [[str(j) for j, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(items) == pytest.approx(0.2099, abs=5e-4)
    # two raters: Fleiss' kappa equals Scott's pi; perfect agreement gives 1
    assert fleiss_kappa([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    assert fleiss_kappa([["a"]]) is None


def test_agreement_on_project_lists_disagreements(tmp_path):
    con = connect(make_project(tmp_path))
    append(con, "doc-001#p0", "alice", "confirmed_violation")
    append(con, "doc-001#p0", "bob", "confirmed_violation")
    append(con, "doc-002#p0", "alice", "suspicious")
    append(con, "doc-002#p0", "bob", "not_violation")
    append(con, "doc-004#p0", "alice", "suspicious")  # one reviewer only: not in the agreement set
    a = agreement(con)
    assert a["hits_multiply_reviewed"] == 2
    assert a["n_disagreements"] == 1 and a["disagreements"][0]["hit_id"] == "doc-002#p0"
    assert a["disagreements"][0]["labels"] == {"alice": "suspicious", "bob": "not_violation"}
    assert a["pairs"][0]["reviewers"] == ["alice", "bob"] and a["pairs"][0]["n"] == 2
    # bob changes his mind (a new decision, appended): the disagreement disappears
    append(con, "doc-002#p0", "bob", "suspicious")
    assert agreement(con)["n_disagreements"] == 0

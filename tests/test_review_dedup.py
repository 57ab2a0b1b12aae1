from __future__ import annotations

import sqlite3

from review_helpers import make_project

from organwatch.review.dedup import dedup_key, normalise_title


def test_title_key_keeps_every_script_and_folds_variants():
    # traditional and simplified spellings, full-width forms and punctuation fold to one key
    assert normalise_title("腦死亡供體器官獲取的臨床經驗") == normalise_title("脑死亡供体器官获取的临床经验")
    assert normalise_title("ＡＢＣ　Liver-Transplant！") == normalise_title("abc liver transplant")
    # different Chinese-only titles stay different (an ASCII-only key would make both empty)
    a, b = normalise_title("肺移植供体获取"), normalise_title("肾移植术后随访")
    assert a and b and a != b
    # letters of other scripts are kept too
    assert normalise_title("Трансплантация 2019") == "трансплантация2019"
    assert normalise_title("!!! — …") == ""


def test_identifiers_take_precedence_and_are_normalised():
    assert dedup_key({"doi": "https://doi.org/10.9999/ABC", "title": "x"}) == ("doi:10.9999/abc",) * 2
    assert dedup_key({"source": {"pmid": " 0123 "}, "title": "y"})[1] == "pmid:123"
    assert dedup_key({"cnki_id": "ＺＧＹＺ２００５", "title": "z"})[1] == "cnki:zgyz2005"
    # an invalid DOI falls back to the title key
    assert dedup_key({"doi": "n/a", "title": "Liver donors in a series"})[1] == "t:liverdonorsinaseries"


def test_empty_or_too_short_keys_are_never_grouped():
    assert dedup_key({"title": "..."}) == ("", "")
    assert dedup_key({"title": None}) == ("", "")
    assert dedup_key({"title": "肝"}) == ("", "")  # shorter than min_key_chars


def test_import_groups_duplicates_without_deleting(tmp_path):
    project = make_project(tmp_path, "screen_small.jsonl", "screen_bad_records.jsonl")
    con = sqlite3.connect(project)
    groups = dict(con.execute("SELECT document_id, dup_group FROM documents"))
    assert groups["doc-002"] == groups["doc-003"] is not None  # same DOI written two ways
    assert groups["doc-005"] == groups["doc-006"] is not None  # traditional vs simplified title
    assert groups["doc-010"] == groups["doc-011"] is not None  # same PMID
    assert groups["doc-007"] is None and groups["doc-008"] is None  # distinct Chinese-only titles
    assert groups["doc-012"] is None and groups["ok-2"] is None  # empty keys: never grouped together
    # nothing deleted: every grouped record keeps its row and its hits
    assert con.execute("SELECT COUNT(*) FROM hits WHERE hit_id IN ('doc-002#p0', 'doc-003#p0')").fetchone()[0] == 2

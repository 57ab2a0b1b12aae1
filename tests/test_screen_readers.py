"""Readers of organwatch screen: fixtures for the formats without a shared sample, detection by content,
hostile and broken input, decoding, reconciliation, fuzzing."""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, rejoin_hyphens
from organwatch.screen.readers import FileReport, iter_documents

INPUT = Path(__file__).parent / "data" / "screen" / "input"


def _split(items):
    docs = [d for d in items if isinstance(d, Document)]
    errs = [d for d in items if isinstance(d, RecordError)]
    return docs, errs


def _read(*paths, fmt="auto"):
    reports: list[FileReport] = []
    docs, errs = _split(list(iter_documents(list(paths), fmt, reports=reports)))
    return docs, errs, reports


def _ow(*args):
    return subprocess.run([sys.executable, "-m", "organwatch", *map(str, args)], capture_output=True, text=True)


# -- formats without a redistributable sample: fixtures written from the layouts in the shared README ----------
def test_cnki_estudy_records_start_at_datatype():
    docs, errs, (rep,) = _read(INPUT / "cnki_estudy.txt")
    assert rep.format == "cnki" and (rep.seen, rep.read, rep.failed) == (3, 3, 0) and not errs
    # each record keeps its own id and institution (SrcDatabase comes near the end, not at the start)
    assert [d.document_id for d in docs] == ["CNKI:QGYZ201602003", "CNKI:LCGD201907010", "CNKI:1014123456.nh"]
    assert [d.institution for d in docs] == ["某市第一人民医院器官移植中心;某医科大学", "某大学附属医院肝胆外科", "某医学院"]
    assert [d.year for d in docs] == [2016, 2019, 2014]  # the second from PubTime (no Year field)
    assert docs[0].language == "zh" and "两次脑死亡判定" in docs[0].text  # continuation line kept


def test_cnki_csv_header_aliases():
    docs, errs, (rep,) = _read(INPUT / "cnki_export.csv")
    assert rep.format == "csv" and (rep.seen, rep.read) == (2, 2) and not errs
    d = docs[0]
    assert d.title == "供肾获取时间与移植肾功能延迟恢复" and d.year == 2018 and d.institution == "某省人民医院泌尿外科"
    assert "热缺血时间" in d.text and "某省自然科学基金" not in d.text  # Fund-基金 is a metadata column
    assert "呼吸机撤离" in docs[1].text and not rep.notes  # every column is known: no unknown-column note


def test_refworks_and_refer_percent8_year():
    docs, errs, (rep,) = _read(INPUT / "refworks.txt")
    assert rep.format == "refworks" and rep.read == 2 and not errs
    assert (docs[0].document_id, docs[0].year, docs[0].institution) == ("CNKI:ZHGD201204002", 2012,
                                                                       "某大学附属医院肝移植中心")
    assert docs[0].declared_language == "zh" and docs[1].document_id == "doi:10.9999/example.2017.001"
    docs, errs, (rep,) = _read(INPUT / "refer_cnki.txt")
    assert rep.format == "endnote" and rep.read == 2
    assert docs[0].year == 2015  # from %8 2015-06-08 (no %D)
    assert docs[0].institution == "某医院器官移植科;某大学医学院" and "including written consent" in docs[1].text


def test_ris_one_space_tags_and_detection_by_content(tmp_path):
    f = tmp_path / "export.dat"  # no telling extension
    f.write_text("TY - JOUR\nTI - Donor care after brain death\nPY - 2009\nER - \n\nTY - JOUR\nTI - Second\nER -\n",
                 encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.format == "ris" and [d.title for d in docs] == ["Donor care after brain death", "Second"]
    assert docs[0].year == 2009 and rep.seen == 2


def test_nbib_leading_blank_lines_are_not_merged(tmp_path):
    recs = "".join(f"PMID- {100 + i}\nTI  - Title number {i} of a\n      wrapped line\nAB  - Abstract {i}.\nLA  - eng\n"
                   f"DP  - 201{i} Mar\n\n" for i in range(4))
    f = tmp_path / "pubmed.txt"
    f.write_text("\n\n" + recs, encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.format == "medline_text" and [d.document_id for d in docs] == [f"PMID:{100 + i}" for i in range(4)]
    assert docs[1].title == "Title number 1 of a wrapped line" and docs[2].year == 2012 and rep.seen == 4


def test_wos_many_records_not_merged(tmp_path):
    body = "".join(f"PT J\nAU Author, A\n   Other, B\nTI Title {i}\n   continued\nAB Abstract {i}\nPY 2005\n"
                   f"UT WOS:{i:015d}\nER\n\n" for i in range(472))
    f = tmp_path / "savedrecs.txt"
    f.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\n" + body + "EF\n", encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.format == "wos" and (rep.seen, rep.read) == (472, 472) and not errs
    assert docs[5].title == "Title 5 continued" and docs[5].document_id == "WOS:000000000000005"


def test_pubmed_book_article_set_without_declaration(tmp_path):
    f = tmp_path / "books.xml"
    f.write_text("<PubmedBookArticleSet>" + "".join(
        f"<PubmedBookArticle><BookDocument><PMID>{i}</PMID><Book><BookTitle>Book {i}</BookTitle>"
        f"<PubDate><Year>2010</Year></PubDate></Book><Abstract><AbstractText>Text {i}</AbstractText></Abstract>"
        f"</BookDocument></PubmedBookArticle>" for i in (1, 2)) + "</PubmedBookArticleSet>", encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.format == "medline" and [d.document_id for d in docs] == ["PMID:1", "PMID:2"]
    assert docs[1].title == "Book 2" and docs[1].year == 2010


def test_medline_deletecitation_is_a_note_and_bad_record_fails(tmp_path):
    x = tmp_path / "m.xml"
    x.write_text("<?xml version='1.0'?><PubmedArticleSet>"
                 "<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>供者脑死亡后插管</ArticleTitle>"
                 "<Journal><JournalIssue><PubDate><Year>2001</Year></PubDate></JournalIssue></Journal></Article>"
                 "</MedlineCitation></PubmedArticle>"
                 "<PubmedArticle><MedlineCitation><Article><ArticleTitle>no pmid</ArticleTitle></Article>"
                 "</MedlineCitation></PubmedArticle>"
                 "<DeleteCitation><PMID>5</PMID><PMID>6</PMID></DeleteCitation></PubmedArticleSet>", encoding="utf-8")
    docs, errs, (rep,) = _read(x)
    assert [d.document_id for d in docs] == ["PMID:1"] and docs[0].year == 2001 and docs[0].language == "zh"
    assert len(errs) == 1 and errs[0].record == 2 and "PMID" in errs[0].message and errs[0].file == "m.xml"
    assert rep.notes == ["2 DeleteCitation PMIDs listed (deletions, not documents)"]
    assert (rep.seen, rep.read, rep.failed) == (2, 1, 1)
    r = _ow("screen", x, "--out", tmp_path / "o.jsonl", "--summary", tmp_path / "s.json", "--workers", "1")
    summary = json.loads((tmp_path / "s.json").read_text("utf-8"))
    assert r.returncode == 0 and summary["documents_read"] == 1 and summary["records_failed"] == 1
    assert "DeleteCitation" in summary["notes"][0] and summary["files"][0]["format"] == "medline"


def test_medline_fields_other_abstract_and_affiliation(tmp_path):
    x = tmp_path / "m2.xml"
    x.write_text("<?xml version='1.0'?><PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>7</PMID>"
                 "<DateCompleted><Year>1999</Year></DateCompleted><Article><Journal><JournalIssue><PubDate>"
                 "<MedlineDate>1998 Jan-Feb</MedlineDate></PubDate></JournalIssue></Journal>"
                 "<ArticleTitle>Donor <i>heart</i> procurement</ArticleTitle><Abstract>"
                 "<AbstractText Label='METHODS'>The donor was intubated after brain death.</AbstractText></Abstract>"
                 "<AuthorList><Author><AffiliationInfo><Affiliation>Example Hospital</Affiliation></AffiliationInfo>"
                 "</Author></AuthorList><Language>eng</Language><VernacularTitle>供心获取</VernacularTitle></Article>"
                 "<OtherAbstract Language='chi'><AbstractText>供者脑死亡后气管插管。</AbstractText></OtherAbstract>"
                 "<CommentsCorrectionsList><CommentsCorrections><PMID>99</PMID></CommentsCorrections>"
                 "</CommentsCorrectionsList></MedlineCitation></PubmedArticle></PubmedArticleSet>", encoding="utf-8")
    (d,) = list(iter_documents([x]))
    assert d.document_id == "PMID:7" and d.year == 1998 and d.institution == "Example Hospital"
    assert d.text == ("Donor heart procurement\n\n供心获取\n\nMETHODS: The donor was intubated after brain death."
                      "\n\n供者脑死亡后气管插管。")
    assert d.declared_language == "en" and [n for n, _a, _b in d.sections] == [
        "title", "vernacular_title", "abstract", "other_abstract"]


# -- hostile XML ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload,encoding", [
    ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><PubmedArticleSet>&x;'
     '</PubmedArticleSet>', "utf-8"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
     '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><PubmedArticleSet>&lol3;</PubmedArticleSet>', "utf-8"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     '<PubmedArticleSet><PubmedArticle>&x;</PubmedArticle></PubmedArticleSet>', "utf-16"),
    ('<?xml version="1.0"?><!--' + "x" * 200_000 + '--><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     '<PubmedArticleSet>&x;</PubmedArticleSet>', "utf-8"),
])
def test_entity_declarations_refused_whatever_the_encoding(tmp_path, payload, encoding):
    x = tmp_path / "evil.xml"
    x.write_bytes(payload.encode(encoding))
    docs, errs, (rep,) = _read(x)
    assert not docs and any("refused" in e.message for e in errs) and rep.read == 0


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's handler name
        _Hits.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"SECRET-FROM-NETWORK")

    def log_message(self, *args):
        pass


def test_parser_settings_alone_expand_and_fetch_nothing(tmp_path, monkeypatch):
    """With the <!ENTITY pre-check switched off, lxml's settings still fetch nothing and expand nothing."""
    import re

    from organwatch.screen.readers import xmlstream

    monkeypatch.setattr(xmlstream, "_ENTITY", re.compile(rb"(?!)"))
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-FROM-DISK")
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(9))
    x = tmp_path / "evil.xml"
    x.write_text(f'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY net SYSTEM "http://127.0.0.1:{port}/x">'
                 f'<!ENTITY disk SYSTEM "file://{secret}">{lol}]><PubmedArticleSet><PubmedArticle><MedlineCitation>'
                 f'<PMID>1</PMID><Article><ArticleTitle>a &net; b &disk; c &l8;</ArticleTitle></Article>'
                 f'</MedlineCitation></PubmedArticle></PubmedArticleSet>', encoding="utf-8")
    try:
        docs, errs, _ = _read(x)
    finally:
        srv.shutdown()
    assert not _Hits.hits  # nothing fetched
    text = " ".join(d.text for d in docs)
    assert "SECRET" not in text and "lollol" not in text and len(text) < 1000


# -- compression, damage, decoding -----------------------------------------------------------------------------
def _article(i: int) -> str:
    return (f"<PubmedArticle><MedlineCitation><PMID>{i}</PMID><Article><ArticleTitle>Title {i}</ArticleTitle>"
            f"<Abstract><AbstractText>Abstract of record {i}.</AbstractText></Abstract></Article></MedlineCitation>"
            f"</PubmedArticle>\n")


def test_truncated_xml_gz_keeps_every_complete_record(tmp_path):
    xml = "<?xml version='1.0'?>\n<PubmedArticleSet>\n" + "".join(_article(i) for i in range(1, 214))
    data = gzip.compress(xml.encode())
    # cut inside record 213: everything decompressed before the cut is parsed
    raw = xml.encode()
    cut_at = raw.index(b"<PMID>213") + 3
    import zlib

    for n in range(len(data) // 2, len(data)):
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out = d.decompress(data[:n])
        if cut_at <= len(out) < len(raw) - 20:
            break
    (tmp_path / "cut.xml.gz").write_bytes(data[:n])
    docs, errs, (rep,) = _read(tmp_path / "cut.xml.gz")
    assert [d.document_id for d in docs] == [f"PMID:{i}" for i in range(1, 213)]  # 212 of 212
    assert rep.read == 212 and rep.failed == 1 and rep.seen == 213
    assert any("truncated" in e.message for e in errs)


def test_truncated_jsonl_gz_binary_junk_broken_pdf(tmp_path):
    lines = "".join(json.dumps({"id": str(i), "text": "供者确认脑死亡后立即气管插管。" * 50}) + "\n" for i in range(200))
    full = gzip.compress(lines.encode())
    (tmp_path / "t.jsonl.gz").write_bytes(full[: len(full) // 2])
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>\nthis is not a pdf")
    (tmp_path / "ok.jsonl").write_text(json.dumps({"id": "ok", "text": "The donor was intubated."}) + "\n")
    docs, errs, reps = _read(tmp_path)
    ids = [d.document_id for d in docs]
    assert "ok" in ids
    kept = [i for i in ids if i != "ok"]  # complete lines before the truncation are kept
    assert kept and kept == [str(i) for i in range(len(kept))] and len(kept) < 200
    msgs = " | ".join(str(e) for e in errs)
    assert "t.jsonl.gz" in msgs and "truncated" in msgs and "broken.pdf" in msgs and "junk.bin" in msgs
    by = {r.name: r for r in reps}
    assert by["junk.bin"].format == "binary" and by["broken.pdf"].format == "pdf"
    assert all(r.seen == r.read + r.failed for r in reps)


def test_gzip_bomb_refused_at_the_cap_without_buffering(tmp_path, monkeypatch):
    from organwatch.screen.readers import stream

    monkeypatch.setattr(stream, "MAX_DECOMPRESSED", 1 << 20)
    (tmp_path / "bomb.jsonl.gz").write_bytes(gzip.compress(b" " * (8 << 20)))
    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"\n" * (8 << 20)))
    docs, errs, reps = _read(tmp_path / "bomb.jsonl.gz", tmp_path / "bomb.txt.gz")
    assert not docs and sum("zip bomb" in e.message for e in errs) == 2


def test_one_nul_byte_does_not_reject_a_text_file(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"The donor was declared brain dead.\x00 Then intubated.\n" * 3)
    docs, errs, (rep,) = _read(tmp_path / "a.txt")
    assert rep.format == "text" and len(docs) == 1 and "intubated" in docs[0].text


def test_gb18030_big5_utf16_decoding_is_a_note(tmp_path):
    (tmp_path / "a.txt").write_bytes("供者确认脑死亡后，立即行气管插管。".encode("gb18030"))
    (tmp_path / "b.txt").write_bytes("供者確認腦死亡後，立即行氣管插管。".encode("big5"))
    (tmp_path / "c.ris").write_bytes("TY  - JOUR\nTI  - 供肝获取\nER  - \n".encode("utf-16"))
    docs, errs, reps = _read(tmp_path)
    assert {d.text for d in docs} >= {"供者确认脑死亡后，立即行气管插管。", "供者確認腦死亡後，立即行氣管插管。"}
    assert any(d.title == "供肝获取" for d in docs) and not errs
    assert all(not d.errors for d in docs) and {n for r in reps for n in r.notes} == {"decoded as gb18030",
                                                                                     "decoded as big5"}
    assert {d.language for d in docs} == {"zh"}


def test_hyphenation_rejoined_through_the_offset_map():
    raw = "The donor was intu\ufffe\r\nbated after brain death; do\u00adnor consent was docu-\nmented."
    clean, mapping = rejoin_hyphens(raw)
    assert clean == "The donor was intubated after brain death; donor consent was documented."
    from organwatch.screen.documents import raw_offset

    for i, ch in enumerate(clean):
        assert raw[raw_offset(mapping, i)] == ch


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcdefgh XY.-\n", min_size=0, max_size=12),
                          st.sampled_from(["", "\ufffe", "\u00ad", "-\n", "\ufffe\r\n", "\u00ad\n"])), max_size=20))
def test_offset_map_property(parts):
    raw = "".join(a + b for a, b in parts)
    clean, mapping = rejoin_hyphens(raw)
    from organwatch.screen.documents import raw_offset

    assert "\ufffe" not in clean and "\u00ad" not in clean
    for i, ch in enumerate(clean):
        assert raw[raw_offset(mapping, i)] == ch


def test_csv_unknown_columns_named_once_and_text_columns_option(tmp_path, monkeypatch):
    f = tmp_path / "t.csv"
    f.write_text("id,title,abstract,reviewer_comment,Author\n1,Donor care,After brain death the donor was intubated.,"
                 "extra words here,Someone\n2,Second,Body two,more,Other\n", encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.notes == ["columns not in columns.toml, screened as text: reviewer_comment"]
    assert "extra words here" in docs[0].text and "Someone" not in docs[0].text
    j = tmp_path / "t.jsonl"  # JSON Lines read the option once per file (readers/tabular.row_to_document)
    j.write_text(json.dumps({"id": "1", "title": "Donor care", "abstract": "After brain death the donor was intubated.",
                             "reviewer_comment": "extra words here", "Author": "Someone", "year": "2009 Mar",
                             "language": "chi", "affiliation": ["not", "a", "value"], "organ": 7}) + "\n",
                 encoding="utf-8")
    (jd,), _errs, _reps = _read(j)
    assert "extra words here" in jd.text and jd.title == "Donor care" and jd.year == 2009
    assert (jd.document_id, jd.declared_language, jd.institution) == ("1", "zh", "7")  # first usable value
    monkeypatch.setenv("ORGANWATCH_SCREEN_TEXT_COLUMNS", "abstract")
    docs, errs, (rep,) = _read(f)
    assert "extra words here" not in docs[0].text and "intubated" in docs[0].text
    (jd,), _errs, _reps = _read(j)
    assert jd.text == "Donor care\n\nAfter brain death the donor was intubated."


def test_directory_provenance_and_exit_2_when_nothing_read(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.ris").write_text("TY  - JOUR\nTI  - One\nER  - \n", encoding="utf-8")
    (d / "b.nbib").write_text("PMID- 5\nTI  - Two\n", encoding="utf-8")
    r = _ow("screen", d, "--out", tmp_path / "o.parquet", "--summary", tmp_path / "s.json", "--workers", "1")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "s.json").read_text("utf-8"))
    from organwatch.findings import sha256_file

    assert s["inputs"] == [{"name": "a.ris", "sha256": sha256_file(d / "a.ris"), "format": "ris"},
                           {"name": "b.nbib", "sha256": sha256_file(d / "b.nbib"), "format": "medline_text"}]
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(tmp_path / "o.parquet").metadata[b"organwatch"])["provenance"]
    assert meta["inputs"] == s["inputs"]
    assert "a.ris: RIS, 1 records seen, 1 read, 0 failed" in r.stderr
    (tmp_path / "empty").mkdir()
    (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 40)
    for target in (tmp_path / "empty", tmp_path / "x.bin"):
        r = _ow("screen", target, "--out", tmp_path / "o2.jsonl")
        assert r.returncode == 2 and "nothing read" in r.stderr and "Traceback" not in r.stderr


def test_cli_bad_input_exit_2_one_line(tmp_path):
    r = _ow("screen", tmp_path / "missing.ris", "--out", tmp_path / "o.jsonl")
    assert r.returncode == 2 and "missing.ris" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("organwatch:")


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("suffix,prefix", [
    (".xml", b"<?xml version='1.0'?><PubmedArticleSet>"), (".ris", b"TY  - JOUR\n"), (".enw", b"%0 Journal Article\n"),
    (".txt", b"DataType: 1\nTitle-\xe9\xa2\x98\xe5\x90\x8d: "), (".jsonl", b'{"id": '), (".csv", b"id,title\n"),
    (".tsv", b"id\ttext\n"), (".pdf", b"%PDF-1.7\n"), (".txt", b""), (".nbib", b"PMID- 1\n"), (".isi", b"FN x\nPT J\n"),
    (".nxml", b"<article><front><article-meta>"), (".xml", b"<xml><records><record>"), (".net", b"{Reference Type}: "),
    (".txt", b"<1>\nTitle\n  "), (".txt", b"RT Journal Article\nT1 x\n")])
def test_fuzz_every_reader_never_crashes(tmp_path_factory, suffix, prefix):
    d = tmp_path_factory.mktemp("fuzz")

    @FUZZ
    @given(st.binary(max_size=600), st.text(max_size=200))
    def run(blob, txt):
        f = d / f"f{suffix}"
        f.write_bytes(prefix + blob + txt.encode("utf-8", "surrogatepass"))
        reports: list[FileReport] = []
        for item in iter_documents([f], reports=reports):
            assert isinstance(item, (Document, RecordError))
            if isinstance(item, RecordError):
                assert "\n" not in str(item) and not item.note
        (rep,) = reports
        assert rep.seen == rep.read + rep.failed

    run()


def test_xlsx_cnki_excel_export(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["SrcDatabase-来源库", "Title-题名", "Author-作者", "Organ-单位", "Summary-摘要", "Year-年", "备注"])
    ws.append(["期刊", "供肝获取体会", "张某", "某医院", "供者脑死亡后插管。", 2010, "x"])
    ws.append([None] * 7)
    ws.append(["期刊", "第二篇", "李某", "某大学", "摘要二。", 2011, None])
    wb.save(tmp_path / "cnki.xlsx")
    docs, errs, (rep,) = _read(tmp_path / "cnki.xlsx")
    assert rep.format == "xlsx" and (rep.seen, rep.read) == (2, 2) and not errs
    assert [(d.title, d.year, d.institution) for d in docs] == [("供肝获取体会", 2010, "某医院"), ("第二篇", 2011, "某大学")]
    assert rep.notes == ["columns not in columns.toml, screened as text: 备注"] and "插管" in docs[0].text


def test_json_array_is_records_not_one_text(tmp_path):
    f = tmp_path / "export.json"
    f.write_text(json.dumps([{"id": "a", "title": "Donor care", "abstract": "After brain death."},
                             {"id": "b", "text": "Second"}, 3]), encoding="utf-8")
    docs, errs, (rep,) = _read(f)
    assert rep.format == "json" and (rep.seen, rep.read, rep.failed) == (3, 2, 1)
    assert [d.document_id for d in docs] == ["a", "b"] and errs[0].record == 3


def test_document_language_is_the_passage_majority(tmp_path):
    from organwatch.screen.documents import document_language, passage_language

    body = "供者经两次脑死亡判定后行器官获取，术中维持循环稳定，所有捐献均获得家属书面知情同意。" * 60  # ~2500 CJK
    refs = "\n".join(f"[{i}] Author A, Author B. A long English title of a cited paper about liver grafts and "
                     f"outcomes. Transplant Proc. 2010;42:{i}-{i + 9}." for i in range(80))  # ~10,000 Latin chars
    text = f"{body}\n\n参考文献\n{refs}"
    assert document_language(text) == "zh"  # the share of CJK characters alone would say English
    assert passage_language(refs) == "en" and passage_language(body) == "zh"
    (tmp_path / "paper.txt").write_text(text, encoding="utf-8")
    docs, _errs, _ = _read(tmp_path / "paper.txt")
    assert docs[0].language == "zh"


def test_empty_file_has_no_records_and_says_so(tmp_path):
    (tmp_path / "empty.nbib").write_bytes(b"")
    (tmp_path / "blank.ris").write_text("\n \n\n", encoding="utf-8")
    docs, errs, reps = _read(tmp_path)
    assert not docs and [(r.seen, r.read, r.failed) for r in reps] == [(0, 0, 0), (0, 0, 0)]
    assert all(r.errors == ["empty file: no records"] for r in reps) and len(errs) == 2

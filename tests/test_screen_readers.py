"""Readers of organwatch screen: real formats from ../shared, hostile and broken input, fuzzing."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organwatch.screen.documents import Document, RecordError
from organwatch.screen.readers import iter_documents


def _split(items):
    docs = [d for d in items if isinstance(d, Document)]
    errs = [d for d in items if isinstance(d, RecordError)]
    return docs, errs


def test_shared_ris_files(shared_formats):
    total = 0
    for f in sorted((shared_formats / "ris").iterdir()):
        docs, errs = _split(list(iter_documents([f])))
        assert docs, f
        total += len(docs)
        for d in docs:
            assert d.text and d.file == str(f)
    assert total >= 70


def test_shared_medline(shared_formats, tmp_path):
    f = shared_formats / "medline" / "pubmed-29768149.xml"
    docs, errs = _split(list(iter_documents([f])))
    assert [d.document_id for d in docs] == ["PMID:29768149"] and docs[0].year == 2018 and not errs
    gz = tmp_path / "base.xml.gz"
    gz.write_bytes(gzip.compress(f.read_bytes()))
    docs2, _ = _split(list(iter_documents([tmp_path])))
    assert docs2[0].text == docs[0].text


def test_medline_deletecitation_and_bad_record(tmp_path):
    x = tmp_path / "m.xml"
    x.write_text("<?xml version='1.0'?><PubmedArticleSet>"
                 "<PubmedArticle><MedlineCitation><PMID>1</PMID><Article><ArticleTitle>供者脑死亡后插管</ArticleTitle>"
                 "<Journal><JournalIssue><PubDate><Year>2001</Year></PubDate></JournalIssue></Journal></Article>"
                 "</MedlineCitation></PubmedArticle>"
                 "<PubmedArticle><MedlineCitation><Article><ArticleTitle>no pmid</ArticleTitle></Article>"
                 "</MedlineCitation></PubmedArticle>"
                 "<DeleteCitation><PMID>5</PMID><PMID>6</PMID></DeleteCitation></PubmedArticleSet>", encoding="utf-8")
    docs, errs = _split(list(iter_documents([x])))
    assert [d.document_id for d in docs] == ["PMID:1"] and docs[0].year == 2001
    assert any("record 2" in str(e) and "PMID" in str(e) for e in errs)
    from organwatch.screen.documents import ReaderNote

    assert any("2 DeleteCitation" in str(e) and isinstance(e, ReaderNote) for e in errs)
    r = subprocess.run([sys.executable, "-m", "organwatch", "screen", str(x), "--out", str(tmp_path / "o.jsonl"),
                        "--json", "--workers", "1"], capture_output=True, text=True)
    summary = json.loads(r.stdout)
    assert summary["documents_read"] == 1 and summary["records_failed"] == 1 and "DeleteCitation" in summary["notes"][0]


@pytest.mark.parametrize("payload", [
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><PubmedArticleSet>&x;</PubmedArticleSet>',
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><PubmedArticleSet>&lol3;</PubmedArticleSet>',
])
def test_xxe_and_billion_laughs_refused(tmp_path, payload):
    x = tmp_path / "evil.xml"
    x.write_text(payload, encoding="utf-8")
    docs, errs = _split(list(iter_documents([x])))
    assert not docs and len(errs) == 1 and "refused" in str(errs[0])


def test_truncated_gzip_binary_junk_broken_pdf(tmp_path):
    lines = "".join(json.dumps({"id": str(i), "text": "供者确认脑死亡后立即气管插管。" * 50}) + "\n" for i in range(200))
    full = gzip.compress(lines.encode())
    (tmp_path / "t.jsonl.gz").write_bytes(full[: len(full) // 2])
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>\nthis is not a pdf")
    (tmp_path / "ok.jsonl").write_text(json.dumps({"id": "ok", "text": "The donor was intubated."}) + "\n")
    docs, errs = _split(list(iter_documents([tmp_path])))
    ids = [d.document_id for d in docs]
    assert "ok" in ids
    kept = [i for i in ids if i != "ok"]  # complete lines before the truncation are kept
    assert kept and kept == [str(i) for i in range(len(kept))] and len(kept) < 200
    msgs = " | ".join(str(e) for e in errs)
    assert "t.jsonl.gz" in msgs and "truncated" in msgs and "broken.pdf" in msgs and "junk.bin" in msgs


def test_gzip_bomb_refused(tmp_path, monkeypatch):
    import organwatch.screen.readers as readers

    monkeypatch.setattr(readers, "MAX_GUNZIP", 1 << 20)
    (tmp_path / "bomb.jsonl.gz").write_bytes(gzip.compress(b" " * (8 << 20)))
    docs, errs = _split(list(iter_documents([tmp_path / "bomb.jsonl.gz"])))
    assert not docs and "zip bomb" in str(errs[0])


def test_gb18030_and_big5_text(tmp_path):
    (tmp_path / "a.txt").write_bytes("供者确认脑死亡后，立即行气管插管。".encode("gb18030"))
    (tmp_path / "b.txt").write_bytes("供者確認腦死亡後，立即行氣管插管。".encode("big5"))
    docs, errs = _split(list(iter_documents([tmp_path])))
    assert {d.text for d in docs} == {"供者确认脑死亡后，立即行气管插管。", "供者確認腦死亡後，立即行氣管插管。"}


def test_real_pdf_per_page(tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    for txt in ("The donor was declared brain dead", "then immediately intubated"):
        page = pdf.new_page(300, 200)
        font = raw.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
        obj = raw.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", 12.0)
        data = (txt + "\x00").encode("utf-16-le")
        import ctypes

        buf = (ctypes.c_ushort * (len(data) // 2)).from_buffer_copy(data)
        raw.FPDFText_SetText(obj, buf)
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 20, 100)
        raw.FPDFPage_InsertObject(page.raw, obj)
        raw.FPDFPage_GenerateContent(page.raw)
        del font
    pdf.save(tmp_path / "p.pdf")
    docs, errs = _split(list(iter_documents([tmp_path / "p.pdf"])))
    assert len(docs) == 1 and "brain dead" in docs[0].text and "intubated" in docs[0].text
    assert "\f" in docs[0].text
    d = docs[0]
    assert len(d.page_offsets) == 2 and d.text[d.page_offsets[1]:].startswith("then")
    from organwatch.screen.engine import ScreenOptions, screen_chunk

    d.text = d.text.replace("The donor", "After brain death the donor", 1)
    d.page_offsets = [0, d.page_offsets[1] + len("After brain death the donor") - len("The donor")]
    rec = screen_chunk([d], ScreenOptions())[0]
    assert rec["source"]["pages"] == d.page_offsets and rec["passages"][0]["page"] == 1


def test_endnote_and_cnki(tmp_path):
    (tmp_path / "e.enw").write_text("%0 Journal Article\n%T 供心获取体会\n%D 2004\n%X 供者确认脑死亡后立即气管插管。\n\n"
                                   "%0 Journal Article\n%D 2005\n\n", encoding="utf-8")
    docs, errs = _split(list(iter_documents([tmp_path / "e.enw"])))
    assert docs[0].year == 2004 and "气管插管" in docs[0].text and len(errs) == 1 and "record 2" in str(errs[0])
    (tmp_path / "c.txt").write_text("SrcDatabase-来源库: 期刊\nTitle-题名: 供肺获取\nOrgan-单位: 某某医院\n"
                                   "Summary-摘要: 供者面罩给氧后开胸。\nYear-年: 2003\n\n"
                                   "{Reference Type}: Journal Article\n{Title}: 供心保护\n{Year}: 2002\n"
                                   "{Author Address}: 某医科大学\n{Abstract}: 灌注停跳液。\n", encoding="utf-8")
    docs, errs = _split(list(iter_documents([tmp_path / "c.txt"])))
    assert [(d.year, d.institution) for d in docs] == [(2003, "某某医院"), (2002, "某医科大学")]
    (tmp_path / "rw.txt").write_text("RT Journal Article\nSR 1\nA1 张三;李四\nAD 某某大学附属医院\nT1 供肺获取体会\n"
                                    "YR 2006\nAB 供者确认脑死亡后立即气管插管。\n\nRT Journal Article\nT1 第二篇\nYR 2007\n",
                                    encoding="utf-8")
    docs, errs = _split(list(iter_documents([tmp_path / "rw.txt"])))
    assert [(d.title, d.year, d.institution) for d in docs] == [("供肺获取体会", 2006, "某某大学附属医院"),
                                                                ("第二篇", 2007, None)]
    assert "气管插管" in docs[0].text and not errs


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("suffix,prefix", [(".xml", b"<?xml version='1.0'?><PubmedArticleSet>"), (".ris", b"TY  - JOUR\n"),
                                           (".enw", b"%0 Journal Article\n"), (".txt", b"SrcDatabase-"),
                                           (".jsonl", b'{"id": '), (".csv", b"id,title\n"), (".tsv", b"id\ttext\n"),
                                           (".pdf", b"%PDF-1.7\n"), (".txt", b"")])
def test_fuzz_every_reader_never_crashes(tmp_path_factory, suffix, prefix):
    d = tmp_path_factory.mktemp("fuzz")

    @FUZZ
    @given(st.binary(max_size=600), st.text(max_size=200))
    def run(blob, txt):
        f = d / f"f{suffix}"
        f.write_bytes(prefix + blob + txt.encode("utf-8", "surrogatepass"))
        for item in iter_documents([f]):
            assert isinstance(item, (Document, RecordError))
            if isinstance(item, RecordError):
                assert "\n" not in str(item)

    run()


def test_cli_bad_input_exit_2_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "organwatch", "screen", str(tmp_path / "missing.ris"), "--out",
                        str(tmp_path / "o.jsonl")], capture_output=True, text=True)
    assert r.returncode == 2 and "missing.ris" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


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

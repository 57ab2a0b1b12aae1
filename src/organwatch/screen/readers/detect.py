"""Format detection from a file's first decompressed bytes (content first; the extension only breaks ties
between delimited tables and plain text). Each test is a small function in the ``_TAGGED`` table."""

from __future__ import annotations

import re
from pathlib import Path

# format name -> what the summary calls it
FORMAT_NAMES = {
    "medline": "PubMed/MEDLINE XML", "pmc": "PMC JATS XML", "endnote_xml": "EndNote XML",
    "medline_text": "PubMed MEDLINE text (.nbib)", "ris": "RIS", "wos": "Web of Science/ISI tagged",
    "ovid": "OVID tagged", "endnote": "Refer/EndNote tagged (%0)", "refworks": "RefWorks tagged (RT)",
    "noteexpress": "NoteExpress", "cnki": "CNKI E-Study", "csv": "CSV", "tsv": "TSV", "jsonl": "JSON Lines",
    "xlsx": "Excel workbook (.xlsx)", "json": "JSON array of records",
    "text": "plain text", "pdf": "PDF", "binary": "binary (not a supported format)",
    "xml": "XML of an unsupported kind",
}

_XML_ROOTS = {
    "PubmedArticleSet": "medline", "PubmedArticle": "medline", "PubmedBookArticle": "medline",
    "PubmedBookArticleSet": "medline", "MedlineCitationSet": "medline", "MedlineCitation": "medline",
    "article": "pmc", "pmc-articleset": "pmc", "articles": "pmc", "xml": "endnote_xml", "records": "endnote_xml",
}
_ROOT = re.compile(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]")


def xml_root(text: str) -> str | None:
    """Name of the first element after the prolog (declaration, comments, processing instructions, DOCTYPE)."""
    i = 0
    n = len(text)
    while i < n:
        j = text.find("<", i)
        if j < 0:
            return None
        if text.startswith("<?", j):
            k = text.find("?>", j)
        elif text.startswith("<!--", j):
            k = text.find("-->", j)
        elif text.startswith("<!", j):  # DOCTYPE, possibly with an internal subset
            k = text.find("]>", j) + 1 if "[" in text[j:text.find(">", j) + 1] else text.find(">", j)
        else:
            m = _ROOT.match(text, j)
            return m.group(2) if m else None
        if k < 0:
            return None
        i = k + 1
    return None


def _lines(text: str, n: int = 60) -> list[str]:
    out = []
    for ln in text.splitlines():
        if ln.strip():
            out.append(ln.rstrip("\r"))
            if len(out) >= n:
                break
    return out


_RIS_TAG = re.compile(r"^[A-Z][A-Z0-9] {1,2}-( |$)")
_MEDLINE_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,3} *-( |$)")
_WOS_TAG = re.compile(r"^[A-Z][A-Z0-9]( |$)")
_CNKI_KEY = re.compile(r"^[A-Za-z][A-Za-z ]{0,29}-[^\x00-\x7f]{1,12}\s*[:：]")


def _is_pdf(lines: list[str], head: bytes) -> bool:
    return b"%PDF-" in head[:1024]


def _is_refer(lines: list[str], head: bytes) -> bool:
    return bool(lines) and lines[0].startswith("%0") and sum(ln.startswith("%") for ln in lines) >= 2


def _is_noteexpress(lines: list[str], head: bytes) -> bool:
    return bool(lines) and lines[0].startswith("{") and sum(bool(re.match(r"^\{[^}]{1,60}\}\s*[:：]", ln))
                                                            for ln in lines) >= 2


def _is_cnki(lines: list[str], head: bytes) -> bool:
    first = lines[0] if lines else ""
    return first.startswith("DataType") or sum(bool(_CNKI_KEY.match(ln)) for ln in lines) >= 2


def _is_refworks(lines: list[str], head: bytes) -> bool:
    return bool(lines) and lines[0].startswith("RT ") and any(ln[:3] in ("T1 ", "A1 ", "AB ", "JF ")
                                                              for ln in lines[1:])


def _is_wos(lines: list[str], head: bytes) -> bool:
    if not lines:
        return False
    if lines[0].startswith(("FN ", "VR ")) or lines[0].startswith("PT ") and not _RIS_TAG.match(lines[0]):
        return sum(bool(_WOS_TAG.match(ln)) for ln in lines) >= 2
    return False


def _is_medline_text(lines: list[str], head: bytes) -> bool:
    tags = [ln for ln in lines if _MEDLINE_TAG.match(ln)]
    if not tags or any(ln.startswith(("TY  -", "TY - ")) for ln in lines):
        return False
    return any(ln.startswith(("PMID-", "PMC -", "TI  -", "FAU -", "AB  -", "OWN -", "STAT-")) for ln in tags[:20])


def _is_ris(lines: list[str], head: bytes) -> bool:
    tags = sum(bool(_RIS_TAG.match(ln.lstrip("\ufeff"))) for ln in lines)
    return tags >= 2 or any(ln.lstrip("\ufeff").startswith(("TY  -", "TY - ")) for ln in lines)


def _is_ovid(lines: list[str], head: bytes) -> bool:
    """``<N>`` record lines (within the first lines) followed by field names with indented values."""
    starts = [i for i, ln in enumerate(lines[:40]) if re.match(r"^<\d+>\s*$", ln)]
    return bool(starts) and starts[0] < 5 and any(ln[:1].isspace() for ln in lines[starts[0]:starts[0] + 6])


def _is_jsonl(lines: list[str], head: bytes) -> bool:
    return bool(lines) and lines[0].lstrip("\ufeff").lstrip().startswith("{")


def _is_json_array(lines: list[str], head: bytes) -> bool:
    first = "".join(lines[:3]).lstrip("\ufeff").lstrip()
    return first.startswith("[") and first[1:].lstrip()[:1] in ("{", "]")


_TAGGED = (("pdf", _is_pdf), ("endnote", _is_refer), ("noteexpress", _is_noteexpress), ("cnki", _is_cnki),
           ("refworks", _is_refworks), ("wos", _is_wos), ("medline_text", _is_medline_text), ("ovid", _is_ovid),
           ("ris", _is_ris), ("jsonl", _is_jsonl), ("json", _is_json_array))


def is_binary(head: bytes) -> bool:
    """Real binary content: many NUL bytes or control characters (one stray NUL does not make a binary)."""
    sample = head[:8192]
    if not sample:
        return False
    nul = sample.count(b"\x00")
    ctrl = sum(sample.count(bytes([c])) for c in (*range(1, 9), 11, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                                                   25, 26, 27, 28, 29, 30, 31))
    return nul > max(8, len(sample) // 100) or (nul + ctrl) > len(sample) * 0.1


def _delimited(lines: list[str], path: Path) -> str | None:
    if not lines:
        return None
    from organwatch.screen.readers.tabular import header_role

    for delim, name in (("\t", "tsv"), (",", "csv"), (";", "csv")):
        head = lines[0].lstrip("\ufeff").split(delim)
        if len(head) < 2 or any(len(h) > 80 for h in head):
            continue
        if any(header_role(h) is not None for h in head):
            return name
    ext = path.suffix.lower()
    if ext in (".csv", ".tsv", ".tab"):
        return "tsv" if ext != ".csv" else "csv"
    return None


def decode_head(head: bytes) -> str:
    """The head as text for detection (UTF-8 else GB18030, never failing)."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start > len(head) - 4:
            return head[:e.start].decode("utf-8")
    return head.decode("gb18030", "replace")


def detect_format(path: Path, head: bytes) -> str:
    """The format name of a file from its first decompressed bytes (see :data:`FORMAT_NAMES`)."""
    h = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not h:
        return "text"
    if _is_pdf([], head):
        return "pdf"
    if head.startswith(b"PK\x03\x04") and (b"xl/" in head[:8192] or b"[Content_Types].xml" in head[:8192]):
        return "xlsx"  # an Office Open XML workbook (CNKI/Wanfang Excel exports)
    if is_binary(head):
        return "binary"
    text = decode_head(head).lstrip("\ufeff")
    if text.lstrip().startswith("<"):
        root = xml_root(text)
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        if root is not None and root.lower() not in ("html", "body", "head"):
            return "xml"
    lines = _lines(text)
    for name, test in _TAGGED:
        if test(lines, head):
            return name
    return _delimited(lines, path) or "text"

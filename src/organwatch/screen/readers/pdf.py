"""PDF text extraction with pypdfium2 (one process per file in a pool); pages joined with form feeds.

Each page's text is rejoined where pdfium marked hyphenation (U+FFFE), at soft hyphens and at ``-`` + line
break between lower-case letters; ``Document.origin_map`` maps offsets back to pdfium's raw text and
``Document.page_offsets`` gives each page's start. Title: the document metadata title when it is a real title,
else the first title-like line of page 1 (never a page number, a DOI, a URL or a date). Year: the year the
first page states most often (journal header, copyright line), else the metadata creation date. A broken or
encrypted PDF, or one without extractable text, is one RecordError; the batch goes on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from organwatch.errors import RecordError
from organwatch.screen.documents import Document, document_language, rejoin_hyphens
from organwatch.textscript import is_cjk

PAGE_SEP = "\n\f\n"
MAX_PAGES = 2000
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_NOT_TITLE = re.compile(r"(doi|https?:|www\.|@|©|issn|isbn|arxiv|copyright|vol\.|volume|page \d|received|"
                        r"accepted|published)", re.I)
_DATEISH = re.compile(r"^[\d\s.,:/\-–—()]+$|^\W*\d+\W*$")
_BAD_META = re.compile(r"^(untitled|microsoft word|title|document\d*|\S+\.(pdf|docx?|tex|dvi|ps))$", re.I)


def good_title(t: str) -> bool:
    """A plausible title: letters, at least two words or four CJK characters, not a number/date/DOI/URL."""
    t = t.strip()
    if len(t) < 4 or _DATEISH.match(t) or _NOT_TITLE.search(t) or _BAD_META.match(t):
        return False
    cjk = sum(1 for ch in t if is_cjk(ch))
    return cjk >= 4 or (len(t.split()) >= 2 and sum(ch.isalpha() for ch in t) >= 6)


def title_from_page(text: str) -> str:
    for line in text.splitlines()[:15]:
        if good_title(line):
            return " ".join(line.split())[:300]
    return ""


_HEADER_CUE = re.compile(r"©|\(c\)|copyright|received|accepted|published|proceedings|conference|journal|"
                         r"\bvol\b|volume|[’'‘]\d\d\b|\d{4}年", re.I)
_REFERENCE = re.compile(r"\bpp\.|et al|\bno\.\s*\d|\[\d+\]")


def _page_form(title: str, page: str) -> str:
    """The metadata title as the first page writes it (metadata often drops the space at a line break)."""
    want = "".join(title.split())
    lines = [ln.strip() for ln in page.splitlines()[:15] if ln.strip()]
    for i in range(len(lines)):
        acc = ""
        for j in range(i, min(i + 4, len(lines))):
            acc += "".join(lines[j].split())
            if acc == want:
                return " ".join(" ".join(lines[i:j + 1]).split())
            if not want.startswith(acc):
                break
    return title


def year_from_page(text: str) -> int | None:
    """The year of page 1's header/footer lines (journal or conference line, copyright), else None.
    Reference-list lines never count."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not _REFERENCE.search(ln)]
    cued = [ln for ln in lines if _HEADER_CUE.search(ln)]
    for group in (cued, lines[:8] + lines[-5:]):
        years = Counter(int(y) for ln in group for y in _YEAR.findall(ln))
        if years:
            return max(years, key=lambda y: (years[y], y))
    return None


def extract_pdf(path: str) -> tuple[str, list[int], list[str], dict[str, str], list[tuple[int, int]] | None] | str:
    """(text, page start offsets, page errors, metadata, origin map) or an error message."""
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
    except Exception as e:  # pypdfium2 raises PdfiumError for broken/encrypted files
        msg = str(e)
        if "password" in msg.lower():
            return "encrypted PDF (a password is needed): not read"
        return f"cannot open PDF: {type(e).__name__}: {msg}"
    texts: list[str] = []
    offsets: list[int] = []
    errs: list[str] = []
    origin: list[tuple[int, int]] = []
    pos = raw_pos = 0
    try:
        try:
            meta = {k: str(v) for k, v in pdf.get_metadata_dict().items()}
        except Exception:  # metadata is optional
            meta = {}
        n = len(pdf)
        for i in range(min(n, MAX_PAGES)):
            try:
                page = pdf[i]
                tp = page.get_textpage()
                raw = tp.get_text_range()
                tp.close()
                page.close()
            except Exception as e:  # one bad page does not lose the others
                raw = ""
                errs.append(f"page {i + 1}: {type(e).__name__}: {e}")
            t, mapping = rejoin_hyphens(raw)
            for c, r in (mapping or [(0, 0)]):
                origin.append((pos + c, raw_pos + r))
            offsets.append(pos)
            texts.append(t)
            pos += len(t) + len(PAGE_SEP)
            raw_pos += len(raw) + len(PAGE_SEP)
        if n > MAX_PAGES:
            errs.append(f"only the first {MAX_PAGES} of {n} pages were read")
    finally:
        pdf.close()
    return PAGE_SEP.join(texts), offsets, errs, meta, origin


def _document(p: Path, file: str, res: tuple) -> Document | RecordError:
    text, offsets, errs, meta, origin = res
    if not text.strip():
        return RecordError(file, 1, "PDF has no extractable text (scanned images need OCR first)")
    first = text[:offsets[1]] if len(offsets) > 1 else text
    mt = " ".join(meta.get("Title", "").split())
    title = _page_form(mt, first) if good_title(mt) else title_from_page(first)
    year = year_from_page(first)
    if year is None:
        m = re.match(r"(?:D:)?(\d{4})", meta.get("CreationDate", "").strip())
        year = int(m.group(1)) if m and 1950 <= int(m.group(1)) <= 2100 else None
    doc = Document(document_id=p.name, file=file, record=1, text=text, title=title, year=year,
                   language=document_language(text), errors=errs, page_offsets=offsets,
                   origin_map=origin if len(origin) > len(offsets) else None)
    return doc


def read_pdfs(paths: list[Path], workers: int = 1, files: list[str] | None = None
              ) -> Iterator[Document | RecordError]:
    names = files or [str(p) for p in paths]
    results: Iterator
    if workers > 1 and len(paths) > 1:
        ex = ProcessPoolExecutor(max_workers=workers)
        results = ex.map(extract_pdf, [str(p) for p in paths])
    else:
        ex = None
        results = map(extract_pdf, [str(p) for p in paths])
    try:
        for p, file, res in zip(paths, names, results, strict=True):
            if isinstance(res, str):
                yield RecordError(file, 1, res)
            else:
                yield _document(p, file, res)
    finally:
        if ex is not None:
            ex.shutdown()

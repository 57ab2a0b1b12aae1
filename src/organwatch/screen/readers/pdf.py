"""PDF text extraction with pypdfium2, one process per file in a pool; pages joined with form feeds.

Each page's text starts at a recorded offset (``Document.errors`` lists pages that failed). A broken or
encrypted PDF becomes one RecordError; the batch continues.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from organwatch.screen.documents import Document, RecordError

PAGE_SEP = "\n\f\n"
MAX_PAGES = 2000


def extract_pdf(path: str) -> tuple[str, list[int], list[str]] | str:
    """(text, page start offsets, page errors) or an error message."""
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
    except Exception as e:  # pypdfium2 raises PdfiumError for broken/encrypted files
        return f"cannot open PDF: {type(e).__name__}: {e}"
    texts: list[str] = []
    offsets: list[int] = []
    errs: list[str] = []
    pos = 0
    try:
        n = len(pdf)
        for i in range(min(n, MAX_PAGES)):
            try:
                page = pdf[i]
                tp = page.get_textpage()
                t = tp.get_text_range().replace("\r\n", "\n")
                tp.close()
                page.close()
            except Exception as e:
                t = ""
                errs.append(f"page {i + 1}: {type(e).__name__}: {e}")
            offsets.append(pos)
            texts.append(t)
            pos += len(t) + len(PAGE_SEP)
        if n > MAX_PAGES:
            errs.append(f"only the first {MAX_PAGES} of {n} pages were read")
    finally:
        pdf.close()
    return PAGE_SEP.join(texts), offsets, errs


def read_pdfs(paths: list[Path], workers: int = 1) -> Iterator[Document | RecordError]:
    results: Iterator
    if workers > 1 and len(paths) > 1:
        ex = ProcessPoolExecutor(max_workers=workers)
        results = ex.map(extract_pdf, [str(p) for p in paths])
    else:
        ex = None
        results = map(extract_pdf, [str(p) for p in paths])
    try:
        for p, res in zip(paths, results):
            if isinstance(res, str):
                yield RecordError(str(p), 1, res)
                continue
            text, offsets, errs = res
            if not text.strip():
                yield RecordError(str(p), 1, "PDF has no extractable text (scanned images need OCR first)")
                continue
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
            doc = Document(document_id=p.name, file=str(p), record=1, text=text, title=first[:300], errors=errs,
                           page_offsets=offsets)
            yield doc
    finally:
        if ex is not None:
            ex.shutdown()

"""Visible text of an HTML page with an offset map into the decoded page, table cells kept apart.

One tokenising expression walks the decoded page: comments, ``script``/``style``/``noscript``/``template`` blocks
and other markup are dropped; block-level tags become a line break and each table cell opens with a tab, so that
each block and each table row is one line of the visible text and the n-th cell of a row follows n tabs; character
references are decoded; whitespace inside text runs becomes a space (same length). For every visible character
``i``, ``starts[i]`` and ``ends[i]`` give the ``[start, end)`` of the page characters it came from, so a visible
span ``[a, b)`` quotes ``page[starts[a]:ends[b - 1]]``. Plain-text pages map one to one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import numpy as np

BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "title", "section",
         "article", "header", "footer", "nav", "blockquote", "pre", "dd", "dt", "dl", "hr", "form", "center",
         "tbody", "thead", "tfoot", "caption", "main", "aside", "figure", "figcaption", "address", "option",
         "body", "head", "html", "frame", "iframe", "fieldset", "legend", "menu"}
CELL = {"td", "th"}
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(?P<raw>script|style|noscript|template|svg|object)\b[^>]*>.*?(?:</(?P=raw)\s*>|\Z)"
    r"|<!\[CDATA\[.*?(?:\]\]>|\Z)|<[!?][^>]*>?"
    r"|</?(?P<tag>[A-Za-z][A-Za-z0-9:-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
    r"|(?P<ent>&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};?))",
    re.S | re.I)
_WS_RX = re.compile("[\n\r\t\f\v]")


@dataclass
class VisibleText:
    text: str
    starts: np.ndarray  # int64, page start offset of each visible character
    ends: np.ndarray  # int64, page end offset
    newlines: np.ndarray | None = None  # visible offsets of the line breaks, computed on demand

    def page_span(self, a: int, b: int) -> tuple[int, int]:
        """Page ``[start, end)`` of visible ``[a, b)`` (b > a)."""
        return int(self.starts[a]), int(self.ends[b - 1])

    def quote(self, a: int, b: int) -> str:
        """The visible text of ``[a, b)`` with cell and line breaks shown as spaces."""
        return self.text[a:b].replace("\t", " ").replace("\n", " ")


def plain_text(page: str) -> VisibleText:
    idx = np.arange(len(page), dtype=np.int64)
    return VisibleText(page, idx, idx + 1)


def _separator(tag: str) -> str | None:
    t = tag.lower()
    if t in CELL:
        return "\t"
    if t in BLOCK:
        return "\n"
    return None


def html_text(page: str) -> VisibleText:
    """The visible text of an HTML page (see the module docstring)."""
    pieces: list[str] = []
    src: list[int] = []  # per piece: page start
    src_end: list[int] = []  # per piece: page end of a one-character piece (entity, separator); -1 for runs
    page_ws = _WS_RX.sub(" ", page)  # whitespace inside text runs becomes a space (same length), once per page
    pos = 0
    last = "\n"  # last visible character that is not a space (separators are not repeated)
    for m in _TOKEN.finditer(page):
        a, b = m.span()
        if a > pos:
            piece = page_ws[pos:a]
            pieces.append(piece)
            src.append(pos)
            src_end.append(-1)
            tail = piece.rstrip(" ")
            if tail:
                last = tail[-1]
        pos = b
        ent = m.group("ent")
        if ent is not None:
            ch = html.unescape(ent)
            if ch == ent:  # not a known reference: keep it as text
                pieces.append(ent)
                src.append(a)
                src_end.append(-1)
            else:
                ch = ch.replace("\xa0", " ")
                for c in ch:
                    pieces.append(c)
                    src.append(a)
                    src_end.append(b)
                last = ch.rstrip(" ")[-1:] or last
            continue
        tag = m.group("tag")
        sep = _separator(tag) if tag is not None else None
        if sep == "\t":  # every cell opens with one tab (so the n-th cell of a row follows n tabs); closes: none
            if page[a + 1:a + 2] == "/":
                continue
        elif sep is not None and sep == last:
            continue
        if sep is not None:
            pieces.append(sep)
            src.append(a)
            src_end.append(b)
            last = sep
    if len(page) > pos:
        pieces.append(page_ws[pos:])
        src.append(pos)
        src_end.append(-1)
    if not pieces:
        return VisibleText("", np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    lens = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    s0 = np.asarray(src, dtype=np.int64)
    e0 = np.asarray(src_end, dtype=np.int64)
    offs = np.cumsum(lens) - lens
    seg = np.repeat(np.arange(len(pieces)), lens)
    within = np.arange(int(lens.sum()), dtype=np.int64) - offs[seg]
    is_run = e0[seg] < 0
    starts = np.where(is_run, s0[seg] + within, s0[seg])
    ends = np.where(is_run, starts + 1, e0[seg])
    return VisibleText("".join(pieces), starts, ends)


def looks_like_html(page: str, content_type: str | None = None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = page[:2048].lower()
    return "<html" in head or "<!doctype html" in head or "<body" in head or "<meta" in head or "<p>" in head

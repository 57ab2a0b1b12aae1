"""Inline SVG charts for the offline report (no JavaScript, no external requests).

Every chart is an ``<svg class="ow-chart">`` with a ``<title>``, an ``aria-label`` and a ``data-points``
attribute counting the data marks it draws, so tests can check that each chart rendered something.
All text is escaped. Numbers are formatted deterministically so the report is byte-stable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#808080")
HIGHLIGHT = "#c00000"


def _f(x: float) -> str:
    """Stable short coordinate formatting."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def fmt_num(x: float | int | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    ax = abs(x)
    if ax != 0 and (ax < 1e-3 or ax >= 1e7):
        return f"{x:.{digits - 1}e}"
    return f"{x:,.{digits}g}" if ax >= 1 else f"{x:.{digits}g}"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0]
    if hi == lo:
        hi = lo + 1 if lo == 0 else lo + abs(lo) * 0.1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


class _Canvas:
    def __init__(self, width: int, height: int, title: str, margin=(20, 20, 50, 70)):
        self.w, self.h = width, height
        self.title = title
        self.mt, self.mr, self.mb, self.ml = margin
        self.mt += 18  # room for the visible title
        self.h += 18
        self.parts: list[str] = []
        self.points = 0

    @property
    def pw(self) -> float:
        return self.w - self.ml - self.mr

    @property
    def ph(self) -> float:
        return self.h - self.mt - self.mb

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, anchor: str = "middle", size: int = 11, cls: str = "",
             rotate: float | None = None, fill: str = "#222") -> None:
        tr = f' transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"' if rotate is not None else ""
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}"{c}{tr}>'
                 f"{escape(s)}</text>")

    def render(self, extra_attrs: str = "") -> Markup:
        t = escape(self.title)
        shown = self.title if len(self.title) <= 110 else self.title[:107] + "…"
        body = (f'<text x="8" y="16" font-size="12" font-weight="600" fill="#1a1a1a">{escape(shown)}</text>'
                + "".join(self.parts))
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" class="ow-chart" viewBox="0 0 {self.w} {self.h}" '
            f'width="{self.w}" height="{self.h}" role="img" aria-label="{t}" data-points="{self.points}"'
            f"{extra_attrs}><title>{t}</title>"
            f'<rect x="0" y="0" width="{self.w}" height="{self.h}" fill="#fff"/>{body}</svg>'
        )


def line_chart(series: Sequence[dict], title: str, x_label: str = "", y_label: str = "", width: int = 640,
               height: int = 320, y_zero: bool = True, log_y: bool = False) -> Markup:
    """``series``: dicts with ``name``, ``x`` (numbers), ``y`` (numbers/None), optional ``color``,
    ``dash`` (bool, for fitted curves), ``markers`` (bool, default True), ``labels`` (per point, tooltips)."""
    c = _Canvas(width, height, title)
    xs = [x for s in series for x, y in zip(s["x"], s["y"]) if y is not None]
    ys = [y for s in series for y in s["y"] if y is not None]
    if log_y:
        ys = [y for y in ys if y > 0]
    if not xs or not ys:
        c.text(width / 2, height / 2, "no data to draw")
        return c.render()
    tf = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    ylo, yhi = min(map(tf, ys)), max(map(tf, ys))
    if y_zero and not log_y:
        ylo = min(0.0, ylo)
    yt = _nice_ticks(ylo, yhi)
    ylo, yhi = min(yt[0], ylo), max(yt[-1], yhi)
    if yhi == ylo:
        yhi = ylo + 1
    sx = lambda x: c.ml + (x - x0) / (x1 - x0) * c.pw  # noqa: E731
    sy = lambda y: c.mt + c.ph - (tf(y) - ylo) / (yhi - ylo) * c.ph  # noqa: E731
    sy_raw = lambda t: c.mt + c.ph - (t - ylo) / (yhi - ylo) * c.ph  # noqa: E731
    _axes(c, x0, x1, sx, yt, sy_raw, x_label, y_label, log_y)
    legend_y = c.mt + 4
    for i, s in enumerate(series):
        col = s.get("color") or PALETTE[i % len(PALETTE)]
        pts = [(x, y) for x, y in zip(s["x"], s["y"]) if y is not None and (not log_y or y > 0)]
        labels = s.get("labels") or [None] * len(s["x"])
        segs: list[list[tuple[float, float]]] = [[]]
        for x, y in zip(s["x"], s["y"]):
            if y is None or (log_y and y <= 0):
                segs.append([])
            else:
                segs[-1].append((x, y))
        dash = ' stroke-dasharray="5 4"' if s.get("dash") else ""
        for seg in segs:
            if len(seg) > 1 and s.get("line", True):
                d = " ".join(f"{'M' if j == 0 else 'L'}{_f(sx(x))},{_f(sy(y))}" for j, (x, y) in enumerate(seg))
                c.add(f'<path d="{d}" fill="none" stroke="{col}" stroke-width="2"{dash}/>')
        if s.get("markers", True):
            for (x, y), lab in zip([(x, y) for x, y in zip(s["x"], s["y"])], labels):
                if y is None or (log_y and y <= 0):
                    continue
                tip = escape(lab if lab else f"{s['name']}: {fmt_num(x)} → {fmt_num(y)}")
                c.add(f'<circle class="ow-point" cx="{_f(sx(x))}" cy="{_f(sy(y))}" r="3.5" fill="{col}">'
                      f"<title>{tip}</title></circle>")
                c.points += 1
        else:
            c.points += len(pts)
        c.add(f'<line x1="{_f(c.ml + 10)}" y1="{_f(legend_y)}" x2="{_f(c.ml + 28)}" y2="{_f(legend_y)}" '
              f'stroke="{col}" stroke-width="2"{dash}/>')
        c.text(c.ml + 32, legend_y + 4, s["name"], anchor="start", size=11)
        legend_y += 15
    return c.render()


def _axes(c: _Canvas, x0, x1, sx, yt, sy_raw, x_label, y_label, log_y=False, x_ticks=None) -> None:
    base = c.mt + c.ph
    c.add(f'<line x1="{_f(c.ml)}" y1="{_f(base)}" x2="{_f(c.ml + c.pw)}" y2="{_f(base)}" stroke="#444"/>')
    c.add(f'<line x1="{_f(c.ml)}" y1="{_f(c.mt)}" x2="{_f(c.ml)}" y2="{_f(base)}" stroke="#444"/>')
    for t in yt:
        y = sy_raw(t)
        c.add(f'<line x1="{_f(c.ml)}" y1="{_f(y)}" x2="{_f(c.ml + c.pw)}" y2="{_f(y)}" stroke="#e5e5e5"/>')
        c.text(c.ml - 6, y + 4, fmt_num(10 ** t if log_y else t, 3), anchor="end", size=10)
    if x_ticks is None:
        span = x1 - x0
        if span <= 30 and float(x0).is_integer():
            step = 1 if span <= 12 else (2 if span <= 24 else 5)
            x_ticks = [x for x in range(int(x0), int(x1) + 1) if (x - int(x0)) % step == 0]
        else:
            x_ticks = _nice_ticks(x0, x1)
    for t in x_ticks:
        if x0 - 1e-9 <= t <= x1 + 1e-9:
            c.text(sx(t), base + 16, fmt_num(t) .replace(",", ""), size=10)
    if x_label:
        c.text(c.ml + c.pw / 2, c.h - 10, x_label, size=11)
    if y_label:
        c.text(14, c.mt + c.ph / 2, y_label, size=11, rotate=-90)


def bar_chart(labels: Sequence[str], values: Sequence[float | None], title: str, value_label: str = "",
              highlight: Iterable[int] = (), width: int = 640, height: int | None = None,
              reference_line: float | None = None, reference_label: str = "", log_x: bool = False,
              value_format=None) -> Markup:
    """Horizontal bars, one per label; ``highlight`` indices drawn in the highlight colour."""
    hl = set(highlight)
    n = len(labels)
    bar_h = 16 if n <= 40 else (9 if n <= 150 else max(2, int(900 / n)))
    gap = 4 if n <= 40 else 2
    labelled = n <= 150
    fs = 10 if n <= 40 else 8
    height = height or (60 + n * (bar_h + gap))
    c = _Canvas(width, height, title, margin=(20, 90, 40, 180 if labelled else 60))
    vals = [v for v in values if v is not None and (not log_x or v > 0)]
    if not vals:
        c.text(width / 2, height / 2, "no data to draw")
        return c.render()
    tf = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    lo = min(0.0, min(map(tf, vals))) if not log_x else math.floor(min(map(tf, vals)))
    hi = max(map(tf, vals)) if not log_x else math.ceil(max(map(tf, vals)))
    if hi == lo:
        hi = lo + 1
    sx = lambda v: c.ml + (tf(v) - lo) / (hi - lo) * c.pw  # noqa: E731
    for t in (range(int(lo), int(hi) + 1) if log_x else _nice_ticks(lo, hi)):
        x = c.ml + (t - lo) / (hi - lo) * c.pw
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(c.mt + c.ph)}" stroke="#e5e5e5"/>')
        c.text(x, c.mt + c.ph + 14, fmt_num(10 ** t if log_x else t, 3), size=10)
    fmt = value_format or (lambda v: fmt_num(v))
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = c.mt + i * (bar_h + gap)
        col = HIGHLIGHT if i in hl else PALETTE[0]
        if labelled:
            c.text(c.ml - 6, y + bar_h - 1, lab, anchor="end", size=fs, fill=col if i in hl else "#222")
        if v is None or (log_x and v <= 0):
            c.text(c.ml + 4, y + bar_h - 3, "not available", anchor="start", size=10, fill="#888")
            continue
        x0 = c.ml if not log_x else c.ml
        w = max(sx(v) - x0, 0.5)
        c.add(f'<rect class="ow-bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(w)}" height="{bar_h}" fill="{col}">'
              f"<title>{escape(lab)}: {escape(fmt(v))}</title></rect>")
        c.points += 1
        if labelled:
            c.text(x0 + w + 4, y + bar_h - 1, fmt(v), anchor="start", size=fs)
    if reference_line is not None and (not log_x or reference_line > 0):
        x = sx(reference_line)
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(c.mt + c.ph)}" stroke="{HIGHLIGHT}" '
              f'stroke-dasharray="4 3"/>')
        if reference_label:
            c.text(x + 3, c.mt + 10, reference_label, anchor="start", size=10, fill=HIGHLIGHT)
    if value_label:
        c.text(c.ml + c.pw / 2, c.h - 8, value_label, size=11)
    return c.render()


def tornado(rows: Sequence[tuple[str, float, float]], baseline: float, title: str, value_label: str = "",
            width: int = 640) -> Markup:
    """Sensitivity chart: ``rows`` of (parameter, result at low, result at high), widest first."""
    rows = sorted(rows, key=lambda r: -abs(r[2] - r[1]))
    n = len(rows)
    height = 70 + n * 26
    c = _Canvas(width, height, title, margin=(20, 30, 40, 200))
    allv = [baseline] + [v for r in rows for v in r[1:]]
    lo, hi = min(allv), max(allv)
    if hi == lo:
        hi = lo + 1
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    sx = lambda v: c.ml + (v - lo) / (hi - lo) * c.pw  # noqa: E731
    for t in ticks:
        c.text(sx(t), c.mt + c.ph + 14, fmt_num(t, 3), size=10)
    for i, (name, a, b) in enumerate(rows):
        y = c.mt + i * 26
        c.text(c.ml - 6, y + 14, name, anchor="end", size=10)
        for v, col in ((a, PALETTE[0]), (b, PALETTE[1])):
            x0, x1 = sorted((sx(baseline), sx(v)))
            c.add(f'<rect class="ow-bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 0.5))}" height="18" '
                  f'fill="{col}"><title>{escape(name)}: {escape(fmt_num(v))}</title></rect>')
            c.points += 1
    x = sx(baseline)
    c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(c.mt + c.ph)}" stroke="#222"/>')
    if value_label:
        c.text(c.ml + c.pw / 2, c.h - 8, value_label, size=11)
    return c.render()


def histogram(values: Sequence[float], title: str, bins: int = 30, value_label: str = "",
              marker: float | None = None, marker_label: str = "", width: int = 640, height: int = 280) -> Markup:
    import numpy as np

    c = _Canvas(width, height, title)
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        c.text(width / 2, height / 2, "no data to draw")
        return c.render()
    counts, edges = np.histogram(v, bins=bins)
    x0, x1 = float(edges[0]), float(edges[-1])
    if marker is not None and math.isfinite(marker):
        x0, x1 = min(x0, marker), max(x1, marker)
    if x1 == x0:
        x1 = x0 + 1
    yt = _nice_ticks(0, float(counts.max()))
    yhi = max(yt[-1], float(counts.max())) or 1
    sx = lambda x: c.ml + (x - x0) / (x1 - x0) * c.pw  # noqa: E731
    sy = lambda y: c.mt + c.ph - y / yhi * c.ph  # noqa: E731
    _axes(c, x0, x1, sx, yt, sy, value_label, "count")
    for k, cnt in enumerate(counts):
        a, b = sx(edges[k]), sx(edges[k + 1])
        c.add(f'<rect class="ow-bar" x="{_f(a)}" y="{_f(sy(cnt))}" width="{_f(max(b - a - 1, 0.5))}" '
              f'height="{_f(c.mt + c.ph - sy(cnt))}" fill="{PALETTE[0]}"><title>{fmt_num(float(edges[k]))}–'
              f"{fmt_num(float(edges[k + 1]))}: {int(cnt)}</title></rect>")
        c.points += 1
    if marker is not None and math.isfinite(marker):
        x = sx(marker)
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(c.mt + c.ph)}" stroke="{HIGHLIGHT}" '
              f'stroke-width="2"/>')
        c.text(x + 3, c.mt + 10, marker_label, anchor="start", size=10, fill=HIGHLIGHT)
    return c.render()


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "",
               numeric: bool = True) -> Markup:
    """A small escaped HTML table; numbers formatted with :func:`fmt_num` when ``numeric``."""
    h = "".join(f"<th>{escape(x)}</th>" for x in headers)
    body = []
    for r in rows:
        cells = []
        for v in r:
            if numeric and isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{escape(fmt_num(v))}</td>')
            else:
                cells.append(f"<td>{escape('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Markup(f'<table class="ow-table">{cap}<thead><tr>{h}</tr></thead><tbody>{"".join(body)}</tbody></table>')

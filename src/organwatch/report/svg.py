"""Inline SVG charts for the offline report: every label inside its box, legends outside the data, no scripts.

Every chart function returns one ``<figure class="ow-figure">`` holding

* an ``<svg class="ow-chart">`` with ``<title>``, ``<desc>``, an ``aria-label`` and a ``data-points`` attribute
  counting the data marks it draws (tests check that each chart rendered something);
* a collapsed data table with the numbers the chart draws ("on demand", inside ``<details>``);
* a "download SVG" link whose target is a ``data:`` URI of the same SVG, so it works offline without scripts.

Text widths are estimated conservatively (:func:`text_width`) and every label is wrapped or shortened to the room
it has, with the full text kept in a tooltip. Lines break where a series has no data (a gap between years is
drawn as a gap, never as a straight line across it). Numbers are formatted deterministically so the report is
byte-stable, with no scientific notation (:func:`fmt_num`) and readable ticks (1k, 10k, 100k: :func:`fmt_tick`).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from organwatch.report.i18n import gettext as _

PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#808080")
HIGHLIGHT = "#c00000"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'OW Noto Sans CJK SC', sans-serif"
_IDENT = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
_IDENT_IN_TEXT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


# -- numbers ---------------------------------------------------------------------------------------------------------
def fmt_num(x: float | int | None, digits: int = 4) -> str:
    """A number for people: thousands separators, ``digits`` significant digits, never scientific notation."""
    if x is None or isinstance(x, bool) or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return f"{int(x):,}"
    ax = abs(x)
    if ax >= 1e5:
        return f"{x:,.0f}"
    if ax >= 1:
        return f"{x:,.{digits}g}" if "e" not in f"{x:.{digits}g}" else f"{x:,.0f}"
    if ax == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(ax))
    return f"{x:.{decimals}f}".rstrip("0").rstrip(".")


def fmt_year(x: Any) -> str:
    """A year or period: ``2009``, never ``2,009``; other values unchanged."""
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return str(x)


def fmt_tick(v: float) -> str:
    """Axis tick: 1k, 10k, 100k, 1M for round thousands and millions, else :func:`fmt_num` with 3 digits."""
    if v != 0:
        v = round(v, 2 - math.floor(math.log10(abs(v))))  # 19999.9999 (from 10 ** 4.301) -> 20000
    av = abs(v)
    if av >= 1e6 and (v / 1e6) == round(v / 1e6, 1):
        return f"{v / 1e6:g}M"
    if av >= 1e3 and (v / 1e3) == round(v / 1e3, 1):
        return f"{v / 1e3:g}k"
    return fmt_num(v, 3)


_SCI = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)e([-+]?\d+)\b")
_SPEC = re.compile(r"\s*\((?:see )?(?:spec|docs/specs/[\w.-]+\.md) ?§\s?[\d.]+(?:, items? [\d and]+)?\)|"
                   r"\s*(?:of |in )?spec §\s?[\d.]+")


def plain(s: str) -> str:
    """Text for readers: scientific notation as decimals (``3.1e-06`` -> ``0.0000031``), references to research
    notes the reader does not have ("(spec §7.3)") removed."""
    s = _SCI.sub(lambda m: fmt_num(float(m.group(0)), 3), s)
    return _SPEC.sub("", s)


def humanize(s: str) -> str:
    """A snake_case identifier shown as words (``deny_statutory`` -> ``deny statutory``); other text unchanged."""
    return s.replace("_", " ") if _IDENT.match(s) else s


# -- text geometry ---------------------------------------------------------------------------------------------------
def _char_w(ch: str) -> float:
    if _WIDE.match(ch):
        return 1.0
    if ch in " .,:;'!|il()[]`":
        return 0.34
    if ch.isupper() or ch in "mwMW%@&—–":
        return 0.78
    if ch.isdigit():
        return 0.65
    return 0.58


def text_width(s: str, size: float, bold: bool = False) -> float:
    """Conservative rendered width of ``s`` at font size ``size`` (px) in a common sans-serif (measured
    against DejaVu Sans, one of the widest; bold is about 13 % wider)."""
    return sum(_char_w(c) for c in s) * size * (1.17 if bold else 1.04)


def fit(s: str, max_w: float, size: float, bold: bool = False) -> str:
    """``s`` shortened with "…" so that it fits in ``max_w`` px."""
    if text_width(s, size, bold) <= max_w:
        return s
    out = ""
    for ch in s:
        if text_width(out + ch + "…", size, bold) > max_w:
            break
        out += ch
    return out.rstrip() + "…"


def wrap(s: str, max_w: float, size: float, max_lines: int = 3, bold: bool = False) -> list[str]:
    """``s`` broken into lines of at most ``max_w`` px (the last line shortened with "…" if needed)."""
    words = s.split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        cand = (cur + " " + w).strip()
        if text_width(cand, size, bold) <= max_w or not cur:
            cur = cand
        else:
            lines.append(cur)
            cur = w
    lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return [fit(x, max_w, size, bold) for x in lines]


def _f(x: float) -> str:
    """Stable short coordinate formatting."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


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


# -- the canvas ------------------------------------------------------------------------------------------------------
@dataclass
class _Canvas:
    """One SVG: a wrapped title on top, a plot area, room below for axis labels and the legend."""

    w: int
    h: int
    title: str
    ml: float = 70
    mr: float = 20
    mt: float = 10
    mb: float = 44
    desc: str = ""
    parts: list[str] = field(default_factory=list)
    points: int = 0
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (name, colour, kind: line/dash/dot/box)
    title_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.title_lines = wrap(self.title, self.w - 16, 13, max_lines=3, bold=True) if self.title else []
        self.mt += 17 * len(self.title_lines)
        self.h += 17 * len(self.title_lines)

    @property
    def pw(self) -> float:
        return self.w - self.ml - self.mr

    @property
    def ph(self) -> float:
        return self.h - self.mt - self.mb

    def add(self, s: str) -> None:
        self.parts.append(s)

    def text(self, x: float, y: float, s: str, anchor: str = "middle", size: float = 11, cls: str = "",
             rotate: float | None = None, fill: str = "#222", max_w: float | None = None, weight: str = "") -> None:
        s = humanize(s)
        bold = weight in ("600", "700", "bold")
        room = min(max_w or self.w, self.w - 4) if rotate is None else (max_w or self.h)
        shown = fit(s, room, size, bold)
        if rotate is None:  # keep the label inside the box: shift it in from the edges
            w = text_width(shown, size, bold)
            lo = {"start": 2.0, "middle": w / 2 + 2, "end": w + 2}[anchor]
            hi = {"start": self.w - w - 2, "middle": self.w - w / 2 - 2, "end": self.w - 2.0}[anchor]
            x = min(max(x, lo), max(hi, lo))
        tr = f' transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"' if rotate is not None else ""
        c = f' class="{cls}"' if cls else ""
        wt = f' font-weight="{weight}"' if weight else ""
        tip = f"<title>{escape(s)}</title>" if shown != s else ""
        self.add(f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{_f(size)}" fill="{fill}"{wt}{c}'
                 f"{tr}>{tip}{escape(shown)}</text>")

    def _legend_svg(self, top: float) -> tuple[str, float]:
        """Legend items laid out left to right below the plot, wrapping; returns (svg, height used)."""
        if not self.legend:
            return "", 0.0
        x, y, out = 8.0, top + 12, []
        for name, col, kind in self.legend:
            label = fit(humanize(name), self.w - 48, 11)
            item_w = 26 + text_width(label, 11) + 14
            if x + item_w > self.w - 8 and x > 8:
                x, y = 8.0, y + 16
            if kind == "dot":
                out.append(f'<circle cx="{_f(x + 9)}" cy="{_f(y - 4)}" r="4" fill="{col}"/>')
            elif kind == "box":
                out.append(f'<rect x="{_f(x + 2)}" y="{_f(y - 9)}" width="14" height="10" fill="{col}"/>')
            else:
                dash = ' stroke-dasharray="5 4"' if kind == "dash" else ""
                out.append(f'<line x1="{_f(x)}" y1="{_f(y - 4)}" x2="{_f(x + 20)}" y2="{_f(y - 4)}" stroke="{col}" '
                           f'stroke-width="2"{dash}/>')
            out.append(f'<text x="{_f(x + 26)}" y="{_f(y)}" font-size="11" fill="#222">{escape(label)}</text>')
            x += item_w
        return "".join(out), y - top + 6

    def svg(self) -> str:
        legend, lh = self._legend_svg(self.h)
        height = self.h + lh
        t = escape(self.title)
        head = "".join(f'<text x="8" y="{16 + 17 * i}" font-size="13" font-weight="600" fill="#1a1a1a">'
                       f"{escape(line)}</text>" for i, line in enumerate(self.title_lines))
        desc = escape(self.desc or self.title)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="ow-chart" viewBox="0 0 {self.w} {_f(height)}" '
                f'width="{self.w}" height="{_f(height)}" role="img" aria-label="{t}" data-points="{self.points}" '
                f'font-family="{FONT}"><title>{t}</title><desc>{desc}</desc>'
                f'<rect x="0" y="0" width="{self.w}" height="{_f(height)}" fill="#fff"/>{head}{"".join(self.parts)}'
                f"{legend}</svg>")


def _slug(s: str) -> str:
    return (re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:60] or "chart") + ".svg"


def figure(svg_text: str, title: str, headers: Sequence[str] = (), rows: Iterable[Sequence[object]] = (),
           numeric: bool = True) -> Markup:
    """The chart, its data table on demand and an offline "download SVG" link, as one ``<figure>``."""
    rows = list(rows)
    data = base64.b64encode(svg_text.encode("utf-8")).decode("ascii")
    table = ""
    if headers and rows:
        summary = escape(_("Data table"))
        table = (f'<details class="ow-data"><summary>{summary}</summary>'
                 f"{html_table(headers, rows, numeric=numeric)}</details>")
    label = escape(_("Download SVG"))
    link = (f'<a class="ow-download" download="{escape(_slug(title))}" href="data:image/svg+xml;base64,{data}">'
            f"{label}</a>")
    return Markup(f'<figure class="ow-figure"><div class="ow-chart-box">{svg_text}</div>'
                  f'<div class="ow-figtools">{link}{table}</div></figure>')


# -- axes ------------------------------------------------------------------------------------------------------------
def _log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten between ``lo`` and ``hi`` (log10 units), with 2 and 5 multiples when the span is short."""
    a, b = math.floor(lo), math.ceil(hi)
    ticks = [float(t) for t in range(a, b + 1)]
    if b - a <= 2:
        ticks = sorted(ticks + [t + math.log10(m) for t in range(a, b) for m in (2, 5)])
    return [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9] or [lo, hi]


def _year_ticks(x0: float, x1: float, room: float) -> list[float]:
    span = x1 - x0
    n_max = max(2, int(room // 38))
    for step in (1, 2, 5, 10, 20, 50):
        if span / step <= n_max:
            break
    first = math.ceil(x0 / step) * step
    return [float(x) for x in range(int(first), int(x1) + 1, step)]


def _axes(c: _Canvas, x0: float, x1: float, sx: Callable[[float], float], yt: Sequence[float],
          sy_raw: Callable[[float], float], x_label: str, y_label: str, log_y: bool = False,
          years: bool = False) -> None:
    base = c.mt + c.ph
    c.add(f'<line x1="{_f(c.ml)}" y1="{_f(base)}" x2="{_f(c.ml + c.pw)}" y2="{_f(base)}" stroke="#444"/>')
    c.add(f'<line x1="{_f(c.ml)}" y1="{_f(c.mt)}" x2="{_f(c.ml)}" y2="{_f(base)}" stroke="#444"/>')
    for t in yt:
        y = sy_raw(t)
        c.add(f'<line x1="{_f(c.ml)}" y1="{_f(y)}" x2="{_f(c.ml + c.pw)}" y2="{_f(y)}" stroke="#e5e5e5"/>')
        c.text(c.ml - 6, y + 4, fmt_tick(10 ** t if log_y else t), anchor="end", size=10, max_w=c.ml - 24)
    x_ticks = _year_ticks(x0, x1, c.pw) if years else _nice_ticks(x0, x1)
    for t in x_ticks:
        if x0 - 1e-9 <= t <= x1 + 1e-9:
            c.text(sx(t), base + 15, fmt_year(t) if years else fmt_tick(t), size=10)
    if x_label:
        c.text(c.ml + c.pw / 2, base + 32, x_label, size=11, max_w=c.pw)
    if y_label:
        c.text(13, c.mt + c.ph / 2, y_label, size=11, rotate=-90, max_w=c.ph)


# -- line chart ------------------------------------------------------------------------------------------------------
def _segments(xs: Sequence[float], ys: Sequence[float | None], log_y: bool, connect: bool) -> list[list[tuple]]:
    """Runs of consecutive points to join; a run breaks at a missing value and, unless ``connect``, wherever the
    step between x values is larger than the series' usual step (a gap in years is a gap in the line)."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=False)]
    steps = sorted(b[0] - a[0] for a, b in zip(pts, pts[1:], strict=False) if b[0] > a[0])
    usual = steps[0] if steps else 1.0
    segs: list[list[tuple]] = [[]]
    prev_x: float | None = None
    for x, y in pts:
        if y is None or (log_y and y <= 0):
            segs.append([])
            prev_x = None
            continue
        if not connect and prev_x is not None and x - prev_x > usual * 1.5:
            segs.append([])
        segs[-1].append((x, y))
        prev_x = x
    return [s for s in segs if s]


def _gaps(series: Sequence[dict], x0: float, x1: float) -> list[tuple[float, float]]:
    """Periods without data in the observed series drawn as lines (or asking for ``gaps``): (last year before,
    first year after)."""
    obs = [s for s in series if s.get("gaps") or (s.get("markers", True) and s.get("line", True)
                                                 and not s.get("connect"))]
    xs = sorted({x for s in obs for x, y in zip(s["x"], s["y"], strict=False) if y is not None})
    steps = sorted(b - a for a, b in zip(xs, xs[1:], strict=False) if b > a)
    if not steps:
        return []
    usual = steps[0]
    return [(a, b) for a, b in zip(xs, xs[1:], strict=False) if b - a > usual * 1.5 and x0 <= a and b <= x1]


def _ticks_above(ticks: list[float], top: float) -> list[float]:
    """``ticks`` extended by one step when the data reach above the last one (no bar touches the frame)."""
    if len(ticks) > 1 and ticks[-1] < top:
        return [*ticks, round(ticks[-1] + ticks[1] - ticks[0], 12)]
    return ticks


def _y_axis(ys: Sequence[float], tf: Callable[[float], float], y_zero: bool, log_y: bool
            ) -> tuple[float, float, list[float]]:
    ylo, yhi = min(map(tf, ys)), max(map(tf, ys))
    if y_zero and not log_y:
        ylo = min(0.0, ylo)
    yt = _log_ticks(ylo, yhi) if log_y else _ticks_above(_nice_ticks(ylo, yhi), yhi)
    ylo, yhi = min(yt[0], ylo), max(yt[-1], yhi)
    return ylo, (ylo + 1 if yhi == ylo else yhi), yt


def _draw_gaps(c: _Canvas, gaps: list[tuple[float, float]], sx: Callable[[float], float]) -> None:
    no_data = _("no data")
    for a, b in gaps:
        xa, xb = sx(a) + 4, sx(b) - 4
        c.add(f'<rect x="{_f(xa)}" y="{_f(c.mt)}" width="{_f(max(xb - xa, 1))}" height="{_f(c.ph)}" '
              f'fill="#f1f1f1"><title>{escape(no_data)}: {fmt_year(a)}–{fmt_year(b)}</title></rect>')
        if xb - xa > text_width(no_data, 10) + 4:
            c.text((xa + xb) / 2, c.mt + 12, no_data, size=10, fill="#777")


def _draw_series(c: _Canvas, i: int, s: dict, sx: Callable[[float], float], sy: Callable[[float], float],
                 log_y: bool, years: bool) -> list[list[object]]:
    """One series: its line segments (broken at gaps), its markers, its legend entry; returns its data rows."""
    col = s.get("color") or PALETTE[i % len(PALETTE)]
    dash = ' stroke-dasharray="5 4"' if s.get("dash") else ""
    xf = fmt_year if years else fmt_num
    if s.get("line", True):
        for seg in _segments(s["x"], s["y"], log_y, bool(s.get("connect"))):
            if len(seg) > 1:
                d = " ".join(f"{'M' if j == 0 else 'L'}{_f(sx(x))},{_f(sy(y))}" for j, (x, y) in enumerate(seg))
                c.add(f'<path d="{d}" fill="none" stroke="{col}" stroke-width="2"{dash}/>')
    labels = s.get("labels") or [None] * len(s["x"])
    shown = [(x, y, lab) for x, y, lab in zip(s["x"], s["y"], labels, strict=False)
             if y is not None and (not log_y or y > 0)]
    rows: list[list[object]] = []
    if s.get("markers", True):
        for x, y, lab in shown:
            tip = escape(lab if lab else f"{s['name']}: {xf(x)} → {fmt_num(y)}")
            c.add(f'<circle class="ow-point" cx="{_f(sx(x))}" cy="{_f(sy(y))}" r="3.5" fill="{col}">'
                  f"<title>{tip}</title></circle>")
            c.points += 1
            rows.append([s["name"], xf(x), y])
    else:
        c.points += len(shown)
        if shown:
            rows.append([s["name"], f"{xf(shown[0][0])}–{xf(shown[-1][0])}",
                         f"{fmt_num(shown[0][1])} … {fmt_num(shown[-1][1])}"])
    kind = "dash" if s.get("dash") else ("line" if s.get("line", True) else "dot")
    c.legend.append((s["name"], col, kind))
    return rows


def line_chart(series: Sequence[dict], title: str, x_label: str = "", y_label: str = "", width: int = 640,
               height: int = 300, y_zero: bool = True, log_y: bool = False, desc: str = "",
               years: bool | None = None) -> Markup:
    """``series``: dicts with ``name``, ``x`` (numbers), ``y`` (numbers/None), optional ``color``, ``dash`` (fitted
    curves), ``markers`` (default True), ``line`` (default True), ``connect`` (join across gaps; for model curves),
    ``gaps`` (shade the periods this series has no data for, even when drawn as dots) and ``labels`` (tooltips).
    Gaps in the observed series are shaded and labelled "no data"."""
    c = _Canvas(width, height, title, desc=desc)
    xs = [x for s in series for x, y in zip(s["x"], s["y"], strict=False) if y is not None]
    ys = [y for s in series for y in s["y"] if y is not None and (not log_y or y > 0)]
    if not xs or not ys:
        c.text(width / 2, c.mt + 40, _("no data to draw"))
        return figure(c.svg(), title)
    if years is None:
        years = all(float(x).is_integer() and 1800 <= x <= 2200 for s in series for x in s["x"]
                    if s.get("markers", True))
    tf: Callable[[float], float] = math.log10 if log_y else (lambda v: v)
    x0, x1 = min(xs), max(xs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    ylo, yhi, yt = _y_axis(ys, tf, y_zero, log_y)
    pad = (x1 - x0) * 0.03

    def sx(x: float) -> float:
        return c.ml + (x - x0 + pad) / (x1 - x0 + 2 * pad) * c.pw

    def sy_raw(t: float) -> float:
        return c.mt + c.ph - (t - ylo) / (yhi - ylo) * c.ph

    def sy(y: float) -> float:
        return sy_raw(tf(y))

    _draw_gaps(c, _gaps(series, x0, x1), sx)
    _axes(c, x0 - pad, x1 + pad, sx, yt, sy_raw, x_label, y_label, log_y, years=years)
    rows: list[list[object]] = []
    for i, s in enumerate(series):
        rows += _draw_series(c, i, s, sx, sy, log_y, years)
    return figure(c.svg(), title, [_("series"), x_label or "x", y_label or "y"], rows)


# -- bars ------------------------------------------------------------------------------------------------------------
def _bar_scale(vals: Sequence[float], log_x: bool) -> tuple[float, float, list[float]]:
    tf = math.log10 if log_x else (lambda v: v)
    if log_x:
        lo, hi = math.floor(min(map(tf, vals))), math.ceil(max(map(tf, vals)))
        if hi == lo:
            hi = lo + 1
        return lo, hi, [float(t) for t in range(int(lo), int(hi) + 1)]
    lo, hi = min(0.0, min(vals)), max(vals)
    if hi == lo:
        hi = lo + 1
    ticks = _nice_ticks(lo, hi)
    return min(lo, ticks[0]), max(hi, ticks[-1]), ticks


def bar_chart(labels: Sequence[str], values: Sequence[float | None], title: str, value_label: str = "",
              highlight: Iterable[int] = (), width: int = 640, height: int | None = None,
              reference_line: float | None = None, reference_label: str = "", log_x: bool = False,
              value_format: Callable[[float], str] | None = None, desc: str = "") -> Markup:
    """Horizontal bars, one per label; ``highlight`` indices drawn in the highlight colour."""
    hl = set(highlight)
    labels = [humanize(str(lab)) for lab in labels]
    n = len(labels)
    bar_h = 16 if n <= 40 else (9 if n <= 150 else max(2, int(900 / n)))
    gap = 4 if n <= 40 else 2
    labelled = n <= 150
    fs = 10 if n <= 40 else 8
    label_w = min(max((text_width(x, fs) for x in labels), default=40) + 10, width * 0.36) if labelled else 20
    fmt = value_format or (lambda v: fmt_num(v))
    shown_vals = [fmt(v) for v in values if v is not None]
    value_w = max((text_width(v, fs) for v in shown_vals), default=20) + 8 if labelled else 10
    c = _Canvas(width, (height or (n * (bar_h + gap))) + 10 + 44, title, ml=label_w, mr=value_w + 6, mt=10, mb=44,
                desc=desc)
    vals = [v for v in values if v is not None and (not log_x or v > 0)]
    if not vals:
        c.text(width / 2, c.mt + 30, _("no data to draw"))
        return figure(c.svg(), title)
    tf: Callable[[float], float] = math.log10 if log_x else (lambda v: v)
    lo, hi, ticks = _bar_scale(vals, log_x)

    def sx(v: float) -> float:
        return c.ml + (tf(v) - lo) / (hi - lo) * c.pw

    base_y = c.mt + n * (bar_h + gap)
    for t in ticks:
        x = c.ml + (t - lo) / (hi - lo) * c.pw
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(base_y)}" stroke="#e5e5e5"/>')
        c.text(x, base_y + 14, fmt_tick(10 ** t if log_x else t), size=10)
    rows: list[list[object]] = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=False)):
        y = c.mt + i * (bar_h + gap)
        col = HIGHLIGHT if i in hl else PALETTE[0]
        if labelled:
            c.text(c.ml - 6, y + bar_h - 3, lab, anchor="end", size=fs, fill=col if i in hl else "#222",
                   max_w=c.ml - 10, weight="600" if i in hl else "")
        rows.append([lab, "–" if v is None else fmt(v)])
        if v is None or (log_x and v <= 0):
            c.text(c.ml + 4, y + bar_h - 3, _("not available"), anchor="start", size=fs, fill="#888")
            continue
        x0 = sx(10 ** lo) if log_x else sx(max(lo, 0.0))
        w = max(sx(v) - x0, 0.5)
        c.add(f'<rect class="ow-bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(w)}" height="{bar_h}" fill="{col}">'
              f"<title>{escape(lab)}: {escape(fmt(v))}</title></rect>")
        c.points += 1
        if labelled:
            c.text(x0 + w + 4, y + bar_h - 3, fmt(v), anchor="start", size=fs)
    if reference_line is not None and (not log_x or reference_line > 0) and lo <= tf(reference_line) <= hi:
        x = sx(reference_line)
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(base_y)}" stroke="{HIGHLIGHT}" '
              f'stroke-dasharray="4 3"/>')
        if reference_label:
            c.legend.append((f"{reference_label} ({fmt(reference_line)})", HIGHLIGHT, "dash"))
    if value_label:
        c.text(c.ml + c.pw / 2, base_y + 32, value_label, size=11, max_w=c.pw)
    return figure(c.svg(), title, [_("label"), value_label or _("value")], rows, numeric=False)


def tornado(rows: Sequence[tuple[str, float, float]], baseline: float, title: str, value_label: str = "",
            width: int = 640, low_label: str = "", high_label: str = "", desc: str = "") -> Markup:
    """Sensitivity chart: ``rows`` of (parameter, result at low, result at high), widest first."""
    rows = sorted(rows, key=lambda r: -abs(r[2] - r[1]))
    n = len(rows)
    names = [humanize(r[0]) for r in rows]
    label_w = min(max((text_width(x, 10) for x in names), default=40) + 12, width * 0.36)
    c = _Canvas(width, n * 26 + 10 + 44, title, ml=label_w, mr=24, desc=desc)
    allv = [baseline] + [v for r in rows for v in r[1:]]
    lo, hi = min(allv), max(allv)
    if hi == lo:
        hi = lo + 1
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])

    def sx(v: float) -> float:
        return c.ml + (v - lo) / (hi - lo) * c.pw

    base_y = c.mt + n * 26
    for t in ticks:
        c.add(f'<line x1="{_f(sx(t))}" y1="{_f(c.mt)}" x2="{_f(sx(t))}" y2="{_f(base_y)}" stroke="#eee"/>')
        c.text(sx(t), base_y + 14, fmt_tick(t), size=10)
    for i, (name, (_n, a, b)) in enumerate(zip(names, rows, strict=False)):
        y = c.mt + i * 26
        c.text(c.ml - 6, y + 13, name, anchor="end", size=10, max_w=c.ml - 10)
        for v, col in ((a, PALETTE[0]), (b, PALETTE[1])):
            x0, x1 = sorted((sx(baseline), sx(v)))
            c.add(f'<rect class="ow-bar" x="{_f(x0)}" y="{_f(y)}" width="{_f(max(x1 - x0, 0.5))}" height="18" '
                  f'fill="{col}"><title>{escape(name)}: {escape(fmt_num(v))}</title></rect>')
            c.points += 1
    x = sx(baseline)
    c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(base_y)}" stroke="#222"/>')
    c.legend += [(low_label or _("input in its lowest decile"), PALETTE[0], "box"),
                 (high_label or _("input in its highest decile"), PALETTE[1], "box"),
                 (_("median") + f" ({fmt_num(baseline)})", "#222", "line")]
    if value_label:
        c.text(c.ml + c.pw / 2, base_y + 32, value_label, size=11, max_w=c.pw)
    table = [[nm, a, b] for nm, (_n, a, b) in zip(names, rows, strict=False)]
    return figure(c.svg(), title, [_("input"), low_label or _("lowest decile"), high_label or _("highest decile")],
                  table)


def histogram(values: Sequence[float], title: str, bins: int = 30, value_label: str = "",
              marker: float | None = None, marker_label: str = "", width: int = 640, height: int = 260,
              desc: str = "") -> Markup:
    import numpy as np

    c = _Canvas(width, height, title, desc=desc)
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        c.text(width / 2, c.mt + 30, _("no data to draw"))
        return figure(c.svg(), title)
    counts, edges = np.histogram(v, bins=bins)
    x0, x1 = float(edges[0]), float(edges[-1])
    if marker is not None and math.isfinite(marker):
        x0, x1 = min(x0, marker), max(x1, marker)
    if x1 == x0:
        x1 = x0 + 1
    yt = _ticks_above(_nice_ticks(0, float(counts.max())), float(counts.max()))
    yhi = max(yt[-1], float(counts.max())) or 1

    def sx(x: float) -> float:
        return c.ml + (x - x0) / (x1 - x0) * c.pw

    def sy(y: float) -> float:
        return c.mt + c.ph - y / yhi * c.ph

    _axes(c, x0, x1, sx, yt, sy, value_label, _("count"))
    rows: list[list[object]] = []
    for k, cnt in enumerate(counts):
        a, b = sx(edges[k]), sx(edges[k + 1])
        rng = f"{fmt_num(float(edges[k]), 3)}–{fmt_num(float(edges[k + 1]), 3)}"
        c.add(f'<rect class="ow-bar" x="{_f(a)}" y="{_f(sy(cnt))}" width="{_f(max(b - a - 1, 0.5))}" '
              f'height="{_f(c.mt + c.ph - sy(cnt))}" fill="{PALETTE[0]}"><title>{rng}: {int(cnt)}</title></rect>')
        c.points += 1
        rows.append([rng, int(cnt)])
    c.legend.append((_("other countries"), PALETTE[0], "box"))
    if marker is not None and math.isfinite(marker):
        x = sx(marker)
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(c.mt + c.ph)}" stroke="{HIGHLIGHT}" '
              f'stroke-width="2"/>')
        c.legend.append(((marker_label or _("tested")) + f" ({fmt_num(marker, 3)})", HIGHLIGHT, "line"))
    return figure(c.svg(), title, [value_label or _("value"), _("count")], rows)


# -- briefing charts -------------------------------------------------------------------------------------------------
def _x_scale(values: Sequence[float], log_x: bool
             ) -> tuple[Callable[[float], float], float, float, list[float]]:
    """(transform, low, high, ticks) of a horizontal scale over ``values`` (positive when ``log_x``): whole
    decades on a log scale, the ticks' range included, never empty."""
    tf: Callable[[float], float] = math.log10 if log_x else (lambda v: v)
    lo, hi = min(map(tf, values)), max(map(tf, values))
    if log_x:
        lo, hi = math.floor(lo), math.ceil(hi)
    ticks = _log_ticks(lo, hi) if log_x else _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    if hi == lo:
        hi = lo + 1
    return tf, lo, hi, ticks


def dot_strip(values: Sequence[float], marked: float, title: str, axis_label: str, marked_label: str,
              others_label: str, log_x: bool = False, width: int = 400, lower_is: str = "",
              labels: Sequence[str] = (), desc: str = "") -> Markup:
    """One row of dots (the reference countries) with the tested value marked: a compact distribution."""
    c = _Canvas(width, 96, title, ml=16, mr=16, mt=14, mb=40, desc=desc)
    allv = [x for x in [*values, marked] if x is not None and math.isfinite(x) and (not log_x or x > 0)]
    if not allv:
        c.text(width / 2, c.mt + 30, _("no data to draw"))
        return figure(c.svg(), title)
    tf, lo, hi, ticks = _x_scale(allv, log_x)

    def sx(v: float) -> float:
        return c.ml + (tf(v) - lo) / (hi - lo) * c.pw

    mid = c.mt + c.ph / 2
    base = c.mt + c.ph
    c.add(f'<line x1="{_f(c.ml)}" y1="{_f(base)}" x2="{_f(c.ml + c.pw)}" y2="{_f(base)}" stroke="#444"/>')
    for t in ticks:
        x = c.ml + (t - lo) / (hi - lo) * c.pw
        c.add(f'<line x1="{_f(x)}" y1="{_f(base)}" x2="{_f(x)}" y2="{_f(base + 4)}" stroke="#444"/>')
        c.text(x, base + 15, fmt_tick(10 ** t if log_x else t), size=10)
    c.text(c.ml + c.pw / 2, base + 31, axis_label, size=10, max_w=c.pw, fill="#444")
    labs = list(labels) or [""] * len(values)
    for i, (v, lab) in enumerate(zip(values, labs, strict=False)):
        if v is None or not math.isfinite(v) or (log_x and v <= 0):
            continue
        y = mid + ((i % 5) - 2) * 5
        tip = f"{lab}: {fmt_num(v, 3)}" if lab else fmt_num(v, 3)
        c.add(f'<circle class="ow-point" cx="{_f(sx(v))}" cy="{_f(y)}" r="4" fill="{PALETTE[0]}" '
              f'fill-opacity="0.45"><title>{escape(tip)}</title></circle>')
        c.points += 1
    x = sx(marked)
    c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(base)}" stroke="{HIGHLIGHT}" stroke-width="2"/>')
    c.add(f'<circle class="ow-point" cx="{_f(x)}" cy="{_f(mid)}" r="6" fill="{HIGHLIGHT}"><title>'
          f"{escape(marked_label)}: {escape(fmt_num(marked, 3))}</title></circle>")
    c.points += 1
    c.legend += [(others_label, PALETTE[0], "dot"), (marked_label, HIGHLIGHT, "dot")]
    if lower_is:
        c.legend.append((lower_is, "#fff", "box"))
    rows = [[lab or "", fmt_num(v, 4)] for v, lab in zip(values, labs, strict=False)]
    rows.append([marked_label, fmt_num(marked, 4)])
    return figure(c.svg(), title, [_("unit"), axis_label], rows, numeric=False)


def range_bar(ranges: Sequence[dict], title: str, axis_label: str, width: int = 400, log_x: bool = True,
              desc: str = "") -> Markup:
    """Horizontal ranges on one scale: dicts with ``label``, ``low``, ``high``, optional ``mid`` and ``color``."""
    n = len(ranges)
    labels = [humanize(r["label"]) for r in ranges]
    label_w = min(max((text_width(x, 10) for x in labels), default=40) + 12, width * 0.42)
    c = _Canvas(width, n * 24 + 12 + 40, title, ml=label_w, mr=24, mt=10, mb=40, desc=desc)
    allv = [v for r in ranges for v in (r["low"], r["high"]) if v is not None and v > 0]
    if not allv:
        c.text(width / 2, c.mt + 30, _("no data to draw"))
        return figure(c.svg(), title)
    tf, lo, hi, ticks = _x_scale(allv, log_x)

    def sx(v: float) -> float:
        return c.ml + (tf(v) - lo) / (hi - lo) * c.pw

    base = c.mt + n * 24 + 4
    for t in ticks:
        x = c.ml + (t - lo) / (hi - lo) * c.pw
        c.add(f'<line x1="{_f(x)}" y1="{_f(c.mt)}" x2="{_f(x)}" y2="{_f(base)}" stroke="#e5e5e5"/>')
        c.text(x, base + 14, fmt_tick(10 ** t if log_x else t), size=10)
    c.text(c.ml + c.pw / 2, base + 30, axis_label, size=10, max_w=c.pw, fill="#444")
    rows: list[list[object]] = []
    median = _("median")
    for i, (r, lab) in enumerate(zip(ranges, labels, strict=False)):
        y = c.mt + i * 24
        col = r.get("color") or PALETTE[i % len(PALETTE)]
        c.text(c.ml - 6, y + 13, lab, anchor="end", size=10, max_w=c.ml - 10)
        a, b = sx(r["low"]), sx(r["high"])
        c.add(f'<rect class="ow-bar" x="{_f(a)}" y="{_f(y + 3)}" width="{_f(max(b - a, 3))}" height="12" rx="3" '
              f'fill="{col}" fill-opacity="0.8"><title>{escape(lab)}: {escape(fmt_num(r["low"]))}–'
              f"{escape(fmt_num(r['high']))}</title></rect>")
        c.points += 1
        if r.get("mid") is not None:
            c.add(f'<line x1="{_f(sx(r["mid"]))}" y1="{_f(y)}" x2="{_f(sx(r["mid"]))}" y2="{_f(y + 18)}" '
                  f'stroke="#111" stroke-width="2"><title>{escape(median)}: {escape(fmt_num(r["mid"]))}</title>'
                  "</line>")
        rows.append([lab, fmt_num(r["low"]), fmt_num(r["high"]), "" if r.get("mid") is None else fmt_num(r["mid"])])
    return figure(c.svg(), title, [_("range"), _("low"), _("high"), _("median")], rows, numeric=False)


# -- tables ----------------------------------------------------------------------------------------------------------
def _cell(v: object, numeric: bool, year_col: bool) -> str:
    if year_col and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<td class="num">{escape(fmt_year(v))}</td>'
    if numeric and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<td class="num">{escape(fmt_num(v))}</td>'
    s = "" if v is None else plain(str(v))
    # identifiers (snake_case keys, column names) inside a cell are shown as code, not as prose
    return "<td>" + _IDENT_IN_TEXT.sub(lambda m: f"<code>{m.group(0)}</code>", str(escape(s))) + "</td>"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "",
               numeric: bool = True) -> Markup:
    """A small escaped HTML table that scrolls inside its card; numbers formatted with :func:`fmt_num` when
    ``numeric`` (years in columns named "year", "as of" or "period" without separators); identifier-like cells
    (snake_case) shown as code."""
    heads = [humanize(str(x)) for x in headers]
    year_cols = {i for i, x in enumerate(heads) if re.search(r"\b(year|as of|period|年)", x.lower())}
    h = "".join(f"<th>{escape(x)}</th>" for x in heads)
    body = []
    for r in rows:
        body.append("<tr>" + "".join(_cell(v, numeric, i in year_cols) for i, v in enumerate(r)) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Markup(f'<div class="ow-scroll"><table class="ow-table">{cap}<thead><tr>{h}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table></div>')

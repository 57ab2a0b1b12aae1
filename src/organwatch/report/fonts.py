"""The CJK font embedded in the report: a WOFF2 subset (only the glyphs the page uses) of Noto Sans CJK SC.

Chinese text must render on machines without CJK fonts, so the report carries its own font as a ``data:`` URI.
The font comes from Debian's ``fonts-noto-cjk`` package (SIL Open Font License 1.1; files under
``/usr/share/fonts/opentype/noto/``), or from the file named by ``ORGANWATCH_CJK_FONT``; it is subset with
fontTools and compressed to WOFF2 with brotli. A page without CJK characters embeds nothing. When no font is
found the report is still written, without the font, and :func:`subset_face` says how to install one.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

FAMILY = "OW Noto Sans CJK SC"
CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
INSTALL_HINT = "apt-get install fonts-noto-cjk (or set ORGANWATCH_CJK_FONT to a Noto Sans CJK SC .otf/.ttc file)"
LICENSE = "Noto Sans CJK SC, SIL Open Font License 1.1 (Debian package fonts-noto-cjk)"
_CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def cjk_chars(text: str) -> str:
    """The distinct CJK characters (ideographs, CJK punctuation, full-width forms) in ``text``, sorted."""
    return "".join(sorted(set(_CJK.findall(text))))


def find_font() -> tuple[Path, int] | None:
    """(font file, index of the Simplified Chinese face in a collection), or None."""
    env = os.environ.get("ORGANWATCH_CJK_FONT")
    for p in ([env] if env else []) + list(CANDIDATES):
        path = Path(p)
        if path.is_file():
            return path, _sc_index(path)
    return None


def _sc_index(path: Path) -> int:
    if path.suffix.lower() != ".ttc":
        return 0
    from fontTools.ttLib import TTCollection

    coll = TTCollection(str(path), lazy=True)
    for i, font in enumerate(coll.fonts):
        if font["name"].getDebugName(1) == "Noto Sans CJK SC":
            return i
    return 0


def subset_woff2(chars: str, font: tuple[Path, int]) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.flavor = "woff2"
    opts.layout_features = ["*"]
    opts.name_IDs = ["*"]  # keep the copyright and licence records (OFL)
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    path, index = font
    # recalcTimestamp=False: the font keeps its own modified date, so the same page gives the same bytes
    tt = TTFont(str(path), fontNumber=index, lazy=False, recalcTimestamp=False)
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(tt)
    buf = io.BytesIO()
    tt.flavor = "woff2"
    tt.save(buf)
    return buf.getvalue()


def subset_face(text: str) -> tuple[str, str | None]:
    """(``@font-face`` CSS for the CJK characters in ``text``, or "", and a warning or None)."""
    chars = cjk_chars(text)
    if not chars:
        return "", None
    font = find_font()
    if font is None:
        return "", f"no CJK font to embed, Chinese text may show as boxes elsewhere: {INSTALL_HINT}"
    data = base64.b64encode(subset_woff2(chars, font)).decode("ascii")
    css = (f"@font-face{{font-family:'{FAMILY}';src:url(data:font/woff2;base64,{data}) format('woff2');"
           "font-weight:100 900;font-display:block}")
    return css, None

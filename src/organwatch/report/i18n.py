"""Message catalogs for the report's fixed strings: English source strings, Simplified Chinese from a .po file.

The catalog ``organwatch/report/locale/zh/LC_MESSAGES/organwatch.po`` ships with the package and is read directly
with Babel (no compiled ``.mo`` needed, so a clean ``pip install .`` works). :func:`use` selects the language for
the current report build (a context variable, so nested or concurrent builds do not leak into each other);
:func:`gettext` translates one string. Only fixed strings go through the catalog: data values, quotations and
the text of other engines' findings stay in their original language.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import gettext as _gettext
import io
from collections.abc import Iterator
from functools import cache
from importlib import resources

LANGUAGES = {"en": "en", "zh": "zh-Hans"}  # --lang value -> <html lang>
DOMAIN = "organwatch"
_current: contextvars.ContextVar[str] = contextvars.ContextVar("organwatch_report_lang", default="en")


def catalog_path(lang: str) -> resources.abc.Traversable:
    return resources.files("organwatch.report") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of ``lang`` as gettext translations (English: the identity)."""
    if lang == "en":
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(lang).open("rb") as fh:
        cat = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


@contextlib.contextmanager
def use(lang: str) -> Iterator[None]:
    """Translate fixed strings into ``lang`` inside the ``with`` block."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported report language {lang!r} (supported: {', '.join(LANGUAGES)})")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def html_lang() -> str:
    return LANGUAGES[current()]


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def format_date(iso: str) -> str:
    """An ISO date (``2023-09-01``) in words for the current language: "1 September 2023" / "2023年9月1日"."""
    try:
        d = _dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    from babel.dates import format_date as _fd

    return _fd(d, format="long", locale="zh_Hans_CN" if current() == "zh" else "en_GB")


# -- catalog maintenance (used by tests/test_report_i18n.py and to update the .po) ----------------------------------
SOURCE_MODULES = ("organwatch.report.briefing", "organwatch.report.build", "organwatch.report.labels",
                  "organwatch.report.svg", "organwatch.stats.report_section", "organwatch.volume.report_section")
TEMPLATES = ("report.html.j2",)


def extract_messages() -> list[str]:
    """Every fixed string the report translates: ``_()``/``gettext()`` calls in :data:`SOURCE_MODULES` and
    :data:`TEMPLATES`, plus the label tables of :mod:`organwatch.report.labels`."""
    import importlib.util

    import jinja2.ext
    from babel.messages.extract import extract_from_file

    from organwatch.report import briefing, labels

    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    found: set[str] = set()
    paths = [(importlib.util.find_spec(m).origin, "python") for m in SOURCE_MODULES]  # type: ignore[union-attr]  # our own modules always exist
    tdir = resources.files("organwatch.report") / "templates"
    paths += [(str(tdir / t), jinja2.ext.babel_extract) for t in TEMPLATES]  # type: ignore[misc]  # babel accepts a callable
    for path, method in paths:
        for _lineno, msg, _comments, _ctx in extract_from_file(method, str(path), keywords=keywords):
            found.add(msg if isinstance(msg, str) else msg[0])
    found |= set(labels.KEYS.values()) | set(labels.MODELS.values()) | {"yes", "no"}
    found |= set(briefing.US_STATES.values()) | set(briefing.COUNTRIES.values())
    return sorted(found)

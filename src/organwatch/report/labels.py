"""Human labels and plain formatting for what findings carry: statistic keys, values, prose and badges.

Findings keep their machine keys (``r2_one_param``, ``p_model_exceeds_official``); the report shows words
("R² of the one-parameter quadratic", "share of model draws above the official figure"). Unknown keys are
spelled out token by token (:data:`TOKENS`), so no snake_case key reaches visible text. Prose from engines
is cleaned of scientific notation (:func:`plain_text`); the raw values stay in the collapsed technical panel.
"""

from __future__ import annotations

import json
import re
from typing import Any

from organwatch.findings import Finding
from organwatch.report.i18n import gettext as _
from organwatch.report.svg import fmt_num, fmt_year, plain

# whole keys with a label of their own (checked before the token rules)
KEYS = {
    "n": "number of values",
    "cv": "coefficient of variation",
    "empirical_p": "empirical p-value (share of reference units at least as extreme)",
    "tested_r2": "R² of the tested fit",
    "tested_model": "tested curve",
    "reason": "reason",
    "published": "published value",
    "computed": "value computed by organwatch",
    "chi2": "chi-square statistic",
    "p_value_monte_carlo": "p-value (Monte Carlo)",
    "median": "median",
    "draws": "Monte Carlo draws",
    "seed": "random seed",
    "result_id": "result",
}
TOKENS = {
    "r2": "R²", "p5": "5th percentile", "p95": "95th percentile", "p2": "2.5th percentile", "p97": "97.5th percentile",
    "p25": "25th percentile", "p75": "75th percentile", "cv": "coefficient of variation", "dd": "deceased-donor",
    "ld": "living-donor", "tx": "transplants", "pmp": "per million population", "n": "number", "p": "p",
    "loo": "leave-one-out", "f": "f", "min": "minimum", "max": "maximum", "godt": "GODT", "cotrs": "COTRS",
    "cctv": "CCTV", "one": "one", "param": "parameter", "t": "t", "a": "a", "b": "b", "c": "c", "k": "k",
    "k0": "k", "ess": "effective sample size", "abs": "absolute", "rel": "relative", "pct": "per cent",
}
MODELS = {"one_param": "one-parameter quadratic", "quadratic": "general quadratic", "linear": "straight line",
          "exponential": "exponential curve"}
_IDENT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def stat_label(key: str) -> str:
    """A statistic key in words: ``r2_one_param`` -> "R² of the one-parameter quadratic"."""
    if key in KEYS:
        return _(KEYS[key])
    m = re.fullmatch(r"(.+)\[(.+)\]", key)
    if m:
        return f"{stat_label(m.group(1))} ({m.group(2).replace('_', ' ')})"
    for model, words in MODELS.items():
        if key.startswith("r2_") and key[3:] == model:
            return _("R² of the %(model)s") % {"model": _(words)}
        if key == f"one_minus_r2_{model}":
            return _("1 − R² of the %(model)s") % {"model": _(words)}
        if key == f"formula_{model}":
            return _("formula of the %(model)s") % {"model": _(words)}
        if key.startswith(model + "_") and len(key) - len(model) <= 8:
            return _("%(model)s, parameter %(p)s") % {"model": _(words), "p": key[len(model) + 1:].replace("_", " ")}
    text = " ".join(TOKENS.get(t, t) for t in key.split("_") if t)
    return text[:1].upper() + text[1:] if text else key


def is_year_key(key: str) -> bool:
    return bool(re.search(r"(^|_)(year|years|period|as_of|first|last)($|_)", key))


def stat_value(key: str, v: Any) -> str:
    """A statistic value for people: years without separators, no scientific notation, R² < 0 explained."""
    if isinstance(v, bool):
        return _("yes") if v else _("no")
    if isinstance(v, (int, float)):
        if is_year_key(key):
            return fmt_year(v)
        text = fmt_num(v)
        if ("r2" in key.split("_") or key.startswith("r2")) and isinstance(v, float) and v < 0:
            text += " (" + _("fits worse than a flat line") + ")"
        return text
    if v is None:
        return "–"
    if isinstance(v, (list, dict)):
        return plain_text(json.dumps(v, ensure_ascii=False, sort_keys=True))
    return plain_text(str(v))


def plain_text(s: str) -> str:
    """Prose for readers: scientific notation as decimals, references to specs the reader does not have removed
    (:func:`organwatch.report.svg.plain`)."""
    return plain(s)


def negative_r2_note(f: Finding) -> str:
    """The sentence that explains a negative R² when a finding reports one, else ""."""
    if any(isinstance(v, float) and v < 0 for k, v in f.statistics.items() if k.startswith("r2")):
        return _("A negative R² means that curve fits worse than a flat line at the series' average.")
    return ""


def n_compared(f: Finding) -> int | None:
    """How many reference units (countries) a test compared the subject with, when it says so."""
    for src, key in ((f.reference, "n_countries"), (f.statistics, "reference_countries"),
                     (f.reference, "reference_countries")):
        v = src.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def VERDICTS() -> dict[str, str]:  # noqa: N802 - a table, translated at call time
    return {"consistent": _("consistent"), "unusual": _("unusual"), "highly_unusual": _("highly unusual"),
            "not_testable": _("not testable")}


def STATUSES() -> dict[str, str]:  # noqa: N802 - a table, translated at call time
    return {"reproduced": _("reproduced"), "differs": _("differs"), "not_reproducible": _("not reproducible")}


def prose_html(s: str) -> str:
    """Escaped :func:`plain_text` with identifiers (snake_case ids, file columns) set as ``<code>``."""
    from markupsafe import Markup, escape

    text = str(escape(plain_text(s)))
    return Markup(_IDENT.sub(lambda m: f"<code>{m.group(0)}</code>", text))

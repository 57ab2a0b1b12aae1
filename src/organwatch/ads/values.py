"""Wait-time and price expressions in normalised page text: two compiled expressions built from the pack's grammar.

:class:`ValueGrammar` compiles the grammar of a pack once into a wait expression and a price expression; each
is run once over a page's normalised text (one C-level scan each). A match becomes a :class:`Value` through
small parsing functions: numbers (digits, Chinese numerals, number words, juxtaposed ranges), units to days,
ranges, "within" (maximum only), vague waits, multipliers and currencies (README conventions of
``datasets/data/ads``). Context checks (dates, ages, "per week", comparators in years) are table-driven too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from organwatch.ads.rules import Grammar

DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
_LATIN = re.compile(r"^[a-z][a-z .\-]*$")
_TIME_OR_DATE = re.compile(r"\d[:./]$")


@dataclass
class Value:
    kind: str  # "wait" or "price"
    start: int  # normalised offsets
    end: int
    rule: str
    lo: float | None = None
    hi: float | None = None
    vague: bool = False
    currency: str | None = None


def _alt(words: list[str] | set[str]) -> str:
    """Alternation, longest first; Latin words get ASCII word boundaries."""
    parts = []
    for w in sorted(set(words), key=lambda x: (-len(x), x)):
        e = re.escape(w)
        if _LATIN.match(w.strip()):
            e = (r"(?<![a-z])" if w[0].isalpha() else "") + e + (r"(?![a-z])" if w[-1].isalpha() else "")
        parts.append(e)
    return "(?:" + "|".join(parts) + ")"


def _rounded(x: float | None, nd: int = 3) -> float | None:
    if x is None:
        return None
    r = round(x, nd)
    return float(int(r)) if r == int(r) else r


class ValueGrammar:
    def __init__(self, g: Grammar, lang_default: str = "zh"):
        self.g = g
        cjk = "".join(sorted(set(g.cjk_digits) | set(g.cjk_units)))
        num = f"(?:{_alt(list(g.numeral_ranges))}|{DIGITS}|[{re.escape(cjk)}]+|{_alt(list(g.word_numbers))})"
        conn = _alt(g.connectors)
        unit = _alt(list(g.units))
        self.single = f"(?:{_alt(list(g.fixed))}|{_alt(g.vague)}|{num}(?: ?{conn} ?{num})?[ -]?{unit}半?)"
        wait = (f"(?:(?P<wb>{_alt(g.within_before)}) ?)?(?P<between>between )?(?P<w1>{self.single})"
                f"(?: ?(?P<wc>{conn}) ?(?P<w2>{self.single}))?(?P<wa> ?{_alt(g.within_after)})?")
        self.wait_rx = re.compile(wait)
        self.single_rx = re.compile(
            f"(?P<fixed>{_alt(list(g.fixed))})|(?P<vague>{_alt(g.vague)})|"
            f"(?P<n1>{num})(?: ?(?P<c>{conn}) ?(?P<n2>{num}))?[ -]?(?P<unit>{unit})(?P<half>半)?")
        amt = f"(?:{DIGITS}|[{re.escape(cjk)}]+)"
        pre = _alt(list(g.currency_before))
        mult = _alt(list(g.multipliers))
        pconn = _alt([c for c in g.connectors if c not in ("or", "and", "或")])
        bounds_b = _alt(g.price_min_before + g.price_max_before)
        bounds_a = _alt(g.price_min_after + g.price_max_after)
        post = _alt(list(g.currency_after))
        # a multiplier may be followed by more (number, multiplier) pairs: 6万2千, 1亿2000万, 2천5백만
        cmult = f"{mult}(?:{amt}{mult})*"
        # parsing uses the atomic multipliers only (千万 = 千 then 万), so 2천5백만 is (2천 + 5백) x 만
        ms = g.multipliers
        atomic = [k for k in ms if not any(k == a + b and a in ms and b in ms for a in ms for b in ms)]
        digits_only = "".join(sorted(g.cjk_digits))
        self.mult_pair_rx = re.compile(f"({DIGITS}|[{re.escape(digits_only)}]+)?({_alt(atomic)})")
        price = (f"(?:(?P<pb>{bounds_b}) ?)?(?P<c1>{pre})? ?(?P<a1>{amt}) ?(?P<m1>{cmult})?(?P<post1>{post})?"
                 f"(?: ?{pconn} ?(?P<c2>{pre})? ?(?P<a2>{amt}) ?(?P<m2>{cmult})?)?"
                 f" ?(?P<post>{post})?"
                 f"(?P<pa>{bounds_a})?")
        self.price_rx = re.compile(price)
        en_n = f"(?:\\d{{1,2}}(?:st|nd|rd|th)|{_alt(list(g.ordinal_words))})"
        forms = [re.escape(f).replace(re.escape("{n}"), f"(?P<n{i}>{num})") for i, f in enumerate(g.ordinal_day_cjk)]
        forms += [r"(?<![a-z])" + re.escape(f).replace(re.escape("{n}"), f"(?P<n{i + 50}>{en_n})")
                  for i, f in enumerate(g.ordinal_day_en)]
        self.ordinal_rx = re.compile("|".join(forms)) if forms else None
        self.lang_default = lang_default

    # -- numbers ------------------------------------------------------------------------------------------
    def cjk_number(self, s: str) -> float | None:
        g = self.g
        if all(ch in g.cjk_digits for ch in s):  # 二〇〇六 style or a single digit
            return float("".join(str(g.cjk_digits[ch]) for ch in s)) if len(s) <= 4 else None
        total, cur = 0, 0
        for ch in s:
            if ch in g.cjk_digits:
                cur = g.cjk_digits[ch]
            elif ch in g.cjk_units:
                total += (cur or 1) * g.cjk_units[ch]
                cur = 0
            else:
                return None
        return float(total + cur)

    def number(self, s: str) -> tuple[float, float] | None:
        """(low, high) of one number token; a juxtaposed range (一两, two or three) gives two values."""
        s = s.strip()
        g = self.g
        if s in g.numeral_ranges:
            a, b = g.numeral_ranges[s]
            return float(a), float(b)
        if s in g.word_numbers:
            return float(g.word_numbers[s]), float(g.word_numbers[s])
        if s and (s[0].isdigit()):
            try:
                v = float(s.replace(",", ""))
            except ValueError:
                return None
            return v, v
        v2 = self.cjk_number(s)
        return None if v2 is None else (v2, v2)

    # -- waits --------------------------------------------------------------------------------------------
    def single_wait(self, text: str) -> tuple[float | None, float | None, bool, str] | None:
        """(min days, max days, vague, unit text) of one wait term."""
        m = self.single_rx.fullmatch(text.strip())
        if m is None:
            return None
        if m.group("fixed"):
            a, b = self.g.fixed[m.group("fixed")]
            return a, b, False, "fixed"
        if m.group("vague"):
            return None, None, True, "vague"
        n1 = self.number(m.group("n1"))
        n2 = self.number(m.group("n2")) if m.group("n2") else None
        if n1 is None or (m.group("n2") and n2 is None):
            return None
        unit = m.group("unit")
        days = self.g.units[unit]
        extra = days / 2 if (m.group("half") or "半" in unit) else 0.0
        lo = n1[0] * days + extra
        hi = (n2[1] if n2 else n1[1]) * days + extra
        if lo > hi:
            return None
        return lo, hi, False, unit

    def _rejected_context(self, norm: str, start: int, end: int, w1_start: int, first: str) -> bool:
        """Dates, ordinals, schedules and ages around a wait: reject_before (Latin words may be followed by a
        space; other entries must touch the number), reject_after, and "a"/"an" only after article_after."""
        g = self.g
        raw = norm[max(0, start - 8):start]
        if _TIME_OR_DATE.search(raw):
            return True  # 10:30, 5.10, 2006/5/10
        for w in g.reject_before:
            if (raw.rstrip().endswith(w) if _LATIN.match(w) else raw.endswith(w)):
                return True
        after = norm[end:end + 12]
        if any(after.startswith(w) for w in g.reject_after):
            return True
        if first.startswith(("a ", "an ")) and first not in g.vague and first not in g.fixed:
            prev = norm[max(0, w1_start - 16):w1_start].split()
            if not prev or prev[-1] not in g.article_after:
                return True
        return False

    def _bare_date(self, norm: str, m: re.Match[str], unit: str) -> bool:
        """A bare 月/日 (May, the 10th) counts as a duration only when 'within' follows or a wait cue precedes."""
        if unit not in self.g.bare_units or m.group("wa") or m.group("wb"):
            return False
        nxt = norm[m.end():m.end() + 1]
        if nxt.isdigit() or nxt in self.g.cjk_digits:
            return True
        before = norm[max(0, m.start() - 6):m.start()]
        return not any(c in before for c in ("等", "需", "约", "仅", "只", "要", "待", "快", "wait", "대기"))

    def ordinal_days(self, norm: str, a: int = 0, b: int | None = None) -> list[Value]:
        """"on the 2nd day", 第二天: elapsed time from N-1 to N days."""
        out: list[Value] = []
        if self.ordinal_rx is None:
            return out
        for m in self.ordinal_rx.finditer(norm, a, len(norm) if b is None else b):
            tok = next(v for k, v in m.groupdict().items() if v is not None)
            tok = re.sub(r"(st|nd|rd|th)$", "", tok) if tok[0].isdigit() else tok
            n = self.g.ordinal_words.get(tok)
            val = float(n) if n is not None else (self.number(tok) or (None, None))[0]
            if val is None or not 1 <= val <= 60:
                continue
            out.append(Value("wait", m.start(), m.end(), "wait.ordinal_day", _rounded(val - 1), _rounded(val)))
        return out

    def waits(self, norm: str, a: int = 0, b: int | None = None) -> list[Value]:
        """Wait expressions in ``norm[a:b]`` (lookbehinds see the text before ``a``)."""
        out: list[Value] = self.ordinal_days(norm, a, b)
        for m in self.wait_rx.finditer(norm, a, len(norm) if b is None else b):
            v = self._wait(norm, m)
            if v is not None:
                out.append(v)
        return out

    def _wait(self, norm: str, m: re.Match[str]) -> Value | None:
        w1 = m.group("w1")
        end = m.end()
        while end > m.start() and norm[end - 1] == " ":
            end -= 1
        p1 = self.single_wait(w1)
        if p1 is None:
            return None
        p2 = None
        if m.group("w2"):
            if m.group("wc") == "and" and not m.group("between"):
                end = m.start("w1") + len(w1)
            else:
                p2 = self.single_wait(m.group("w2"))
        start = m.start("w1") if not m.group("wb") else m.start()
        if m.group("between"):
            start = m.start("between")
        if self._rejected_context(norm, start, end, m.start("w1"), w1):
            return None
        units = [p1[3]] + ([p2[3]] if p2 else [])
        if any(self._bare_date(norm, m, u) for u in units):
            return None
        lo, hi, vague = p1[0], p1[1], p1[2]
        if p2 is not None:
            hi, vague = p2[1], vague or p2[2]
            if lo is not None and hi is not None and lo > hi:
                return None
        if max(hi or 0, lo or 0) >= min(self.g.comparator_min_days, self.g.comparator_max_days):
            return None  # waits in years or over half a year: comparators (waiting-list statistics), not ads
        within = bool(m.group("wb") or (m.group("wa") and end == m.end()))
        if within and lo is not None and lo == hi:
            lo = None  # "within 1 week": maximum only (a range stays a range: "within 2-4 weeks")
        if vague and p2 is None:
            lo = hi = None
        rule = "wait." + ("vague" if vague else "within" if within else "range" if lo != hi else "single")
        return Value("wait", start, end, rule, _rounded(lo), _rounded(hi), vague)

    # -- prices -------------------------------------------------------------------------------------------
    def _amount(self, a: str | None, mlt: str | None) -> float | None:
        """An amount with its multipliers: small ones (千, 百, 천, k) add up within a section, large ones
        (万, 亿, 만, 억, million) multiply the section: 6万2千 = 62,000; 2천5백만 = 25,000,000."""
        if a is None:
            return None
        n = self.number(a)
        if n is None:
            return None
        if not mlt:
            return n[0]
        total, section, first = 0.0, 0.0, True
        for num, mul in self.mult_pair_rx.findall(mlt):
            parsed = self.number(num) if num else None
            k = n[0] if first else (parsed[0] if parsed else 0.0)
            first = False
            m = self.g.multipliers[mul]
            if m >= 10000:
                total += (section + k) * m if (section + k) else m
                section = 0.0
            else:
                section += (k or 1) * m
        return total + section

    def prices(self, norm: str, lang: str, a: int = 0, b: int | None = None) -> list[Value]:
        out: list[Value] = []
        for m in self.price_rx.finditer(norm, a, len(norm) if b is None else b):
            v = self._price(m, lang)
            if v is not None:
                out.append(v)
        return out

    def _price(self, m: re.Match[str], lang: str) -> Value | None:
        g = self.g
        cur_text = m.group("c1") or m.group("post1") or m.group("c2") or m.group("post")
        implicit = False
        if not cur_text:
            # "费用约20-30万" on a Chinese page: 万 without a currency is yuan (the clause needs a fee cue)
            nxt = m.string[m.end():m.end() + 1]
            mlt = m.group("m2") or m.group("m1") or ""
            if not (lang.startswith("zh") and any(x in mlt for x in g.implicit_cny_multipliers)
                    and nxt not in g.counter_words):
                return None
            implicit = True
        code = "CNY" if implicit else \
            g.currency_before.get(cur_text or "") or g.currency_after.get(cur_text or "") or ""
        if code == "YEN":
            code = "JPY" if lang == "ja" else "CNY"
        a1, a2 = m.group("a1"), m.group("a2")
        m1, m2 = m.group("m1"), m.group("m2")
        if a2 is not None and m1 is None and m2 is not None:
            n1, n2 = self.number(a1), self.number(a2)
            if n1 is not None and n2 is not None and n1[0] <= n2[0]:
                m1 = m2  # "10-15万元", "W60-70M": the multiplier applies to both ends
        lo = self._amount(a1, m1)
        hi = self._amount(a2, m2) if a2 is not None else lo
        if lo is None or hi is None or lo > hi or hi <= 0:
            return None
        pb, pa = (m.group("pb") or "").strip(), m.group("pa")
        rule = "price.range" if lo != hi else "price.single"
        single = a2 is None  # bounds apply to one amount: "from $98,000 to $130,000" stays a range
        if single and ((pb and pb in g.price_min_before) or (pa and pa in g.price_min_after)):
            hi, rule = None, "price.at_least"
        elif single and ((pb and pb in g.price_max_before) or (pa and pa in g.price_max_after)):
            lo, rule = None, "price.up_to"
        if implicit:
            rule = "price.implicit_cny"
        start = m.start("pb") if pb else m.start("c1") if m.group("c1") else m.start("a1")
        end = m.end()
        while end > start and m.string[end - 1] == " ":
            end -= 1
        return Value("price", start, end, rule, _rounded(lo, 2), _rounded(hi, 2), False, code)

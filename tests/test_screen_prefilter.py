"""The raw-byte prefilter: sound (never drops a document the matcher finds an event in) and invisible
(records with the prefilter are byte-identical to records without it), locally and on Dask."""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organwatch.buildinfo import compiled_modules
from organwatch.screen.documents import Document
from organwatch.screen.engine import ScreenOptions, _components, run_dask, run_local, screen_chunk
from organwatch.screen.prefilter import _plan, get_prefilter, language_of, proxy_texts

DATA = Path(__file__).parent / "data" / "screen"
ON, OFF = ScreenOptions(), ScreenOptions(prefilter=False)


def _items() -> list[dict]:
    return [json.loads(x) for f in sorted(DATA.glob("labelled*.jsonl")) for x in f.read_text("utf-8").splitlines()
            if x.strip()]


@lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def _full_width(t: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t)


def _ocr(t: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice([" ", "\n", "\u3000", "  "]) if rng.random() < 0.4 else "") for c in t)


def _pinyin(t: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(["(gòng)", " (tǐ)", "（nao3）"]) if rng.random() < 0.15 else "") for c in t)


def _hyphen(t: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(["-\n", "\u00ad", "\ufffe"]) if c.isalpha() and rng.random() < 0.05 else "")
                   for c in t)


def _variants(text: str, rng: random.Random) -> list[str]:
    return [text, _s2t().convert(text), _full_width(text), _ocr(text, rng), _pinyin(text, rng), text.upper(),
            _hyphen(text, rng), _ocr(_s2t().convert(text), rng)]


def _docs(texts: list[str], tag: str = "t") -> list[Document]:
    years = [None, 1998, 2008, 2012, 2020]
    return [Document(f"{tag}{i}", "labelled.jsonl", i + 1, t, title=t[:12] if i % 3 == 0 else "",
                     year=years[i % len(years)], institution="某某医院" if i % 7 == 0 else None,
                     language={0: "zh", 5: "en", 7: "ja"}.get(i % 11)) for i, t in enumerate(texts)]


def _same(docs: list[Document], include_text: bool = False) -> None:
    on = screen_chunk(docs, ScreenOptions(include_text=include_text))
    off = screen_chunk(docs, ScreenOptions(prefilter=False, include_text=include_text))
    assert json.dumps(on, ensure_ascii=False) == json.dumps(off, ensure_ascii=False)


def _sound(texts: list[str]) -> int:
    """Every text with an event is selected; returns how many were passed over."""
    pf = get_prefilter("ddr_default")
    matcher = _components("ddr_default", "hyperscan")[1]
    skipped = 0
    for t, m in zip(texts, matcher.match(texts), strict=True):
        if not pf.hit(t.encode("utf-8", "surrogatepass")):
            skipped += 1
            assert not m.events, (t[:80], m.events[:3])
    return skipped


@pytest.mark.parametrize("sample", [None, 10**9])
def test_labelled_sets_identical_with_and_without_prefilter(sample, monkeypatch):
    """With the dense-text shortcut (the labelled items come first, so the sample is dense and the rest is
    selected whole) and without it (every document decided by its own scan: the stand-in path runs)."""
    import organwatch.screen.prefilter as prefilter_module

    if sample is not None:
        monkeypatch.setattr(prefilter_module, "SAMPLE", sample)
    rng = random.Random(14)
    texts = [v for it in _items() for v in _variants(it["text"], rng)]
    # pieces of passages too, so that many documents hold no literal at all (the prefilter's work)
    texts += [it["text"][i:i + 9] for it in _items() for i in range(0, len(it["text"]), 11)]
    texts += ["", " ", "\n\n", "The cohort was small.", "一般资料：本组共12例。", "(gòng)", "x" * 50]
    assert _sound(texts) > 200
    docs = _docs(texts)
    assert get_prefilter("ddr_default").ok  # else the prefilter is off and equality would prove nothing
    plan = _plan(docs, ON)
    if sample is None:
        assert plan is None  # dense sample: every document selected, no scan after the sample
    else:
        assert plan is not None and len(plan[1]) > 200  # the stand-in path really runs
    for i in range(0, len(docs), 500):
        _same(docs[i:i + 500])
    _same(docs[:300], include_text=True)


def test_every_pack_literal_and_its_variants_is_selected():
    """The patterns come from the loaded pack: each literal, in each written form, selects its document."""
    pack = _components("ddr_default", "hyperscan")[0]
    pf = get_prefilter("ddr_default")
    rng = random.Random(3)
    for lit in pack.literal_strings():
        for v in _variants(lit, rng)[:6]:
            m = _components("ddr_default", "hyperscan")[1].match([v])[0]
            if m.events:
                assert pf.hit(v.encode("utf-8")), (lit, v)


def test_stand_in_texts_are_literal_free_and_keep_the_language():
    prox = proxy_texts("ddr_default")
    matcher = _components("ddr_default", "hyperscan")[1]
    for lang, text in prox.items():
        m = matcher.match([text])[0]
        assert m.language == lang and not m.events


def test_stand_in_language_is_worked_out_only_when_the_reader_gave_none(monkeypatch):
    """The matcher's language of a passed-over document reaches its record only through ``doc.language or
    lang``: with a reader's language the stand-in is the English one and no language is worked out, and the
    records still equal those without the prefilter (Chinese texts labelled with any language included)."""
    import organwatch.screen.prefilter as prefilter_module

    texts = ["一段中文文字。", "plain words only", "一段文字 plain words", "weather is fine today", "文字文字 weather"] * 3
    labelled = [Document(f"s{i}", "f.jsonl", i + 1, t, year=(None, 2001, 2019)[i % 3],
                         language=("zh", "en", "ja", "ko", "zh")[i % 5] if i < 10 else None)
                for i, t in enumerate(texts)]
    calls: list[str] = []
    real = prefilter_module.language_of

    def counting(text, data, pf, exact):
        calls.append(text)
        return real(text, data, pf, exact)

    monkeypatch.setattr(prefilter_module, "SAMPLE", 10**9)  # every document decided by its own scan
    monkeypatch.setattr(prefilter_module, "language_of", counting)
    plan = _plan(labelled, ON)
    assert plan is not None and len(plan[1]) == len(texts)  # no literal anywhere: all passed over
    prox = proxy_texts("ddr_default")
    assert [s.text for s in plan[1][:10]] == [prox["en"]] * 10
    # without a reader's language, the stand-in keeps the matcher's language (Chinese texts: the zh stand-in)
    assert [s.text for s in plan[1][10:]] == [prox["zh"], prox["en"], prox["zh"], prox["en"], prox["zh"]]
    if "organwatch.screen.prefilter" not in compiled_modules():  # compiled callers skip the monkeypatch
        assert calls == texts[10:]  # worked out only for the documents without a reader's language
    _same(labelled)
    _same(labelled, include_text=True)


@pytest.mark.parametrize("text", ["plain english words", "中文的一段文字，没有术语。", "中文 mixed with English words 多",
                                  "ＡＢＣ全角", "x", "ⅡⅢ期", "a (b) 中 (zhōng)", "\u3000\u3000中", "é" * 30 + "中"])
def test_language_bounds_agree_with_the_matcher(text):
    pf = get_prefilter("ddr_default")
    matcher = _components("ddr_default", "hyperscan")[1]
    exact = matcher.match([text])[0].language
    assert language_of(text, text.encode("utf-8"), pf, lambda t: matcher.match([t])[0].language) == exact


@lru_cache(maxsize=1)
def _literals() -> list[str]:
    return _components("ddr_default", "hyperscan")[0].literal_strings()


_FILL = st.text(alphabet=st.sampled_from(list("的患者术后一般情况良好例年月日资料方法结果 \n\t()（）,.，。abcxyzABC-0123")
                                         + ["\u3000", "\u00a0", "ａ", "Ⅱ", "℃", "\u00ad"]), max_size=30)


@st.composite
def _documents(draw) -> str:
    pieces = draw(st.lists(st.one_of(_FILL, st.sampled_from(_literals())), min_size=0, max_size=6))
    text = "".join(pieces)
    how = draw(st.sampled_from(["plain", "s2t", "full", "ocr", "pinyin", "upper", "hyphen"]))
    rng = random.Random(draw(st.integers(0, 1 << 16)))
    if how == "s2t":
        return _s2t().convert(text)
    if how == "full":
        return _full_width(text)
    if how == "upper":
        return text.upper()
    return {"plain": text, "ocr": _ocr(text, rng), "pinyin": _pinyin(text, rng), "hyphen": _hyphen(text, rng)}[how]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_documents(), min_size=1, max_size=8))
def test_generated_documents_identical_with_and_without_prefilter(texts):
    _sound(texts)
    _same(_docs(texts, "h"))


def test_dask_with_prefilter_identical_to_local_without():
    from distributed import LocalCluster

    rng = random.Random(5)
    texts = [v for it in _items()[:60] for v in _variants(it["text"], rng)[:3]]
    texts += [it["text"][:7] for it in _items()[:60]]
    docs = _docs(texts, "d")
    chunks = [docs[i:i + 50] for i in range(0, len(docs), 50)]
    local: list = []
    run_local(chunks, OFF, 1, local.extend)
    remote: list = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        run_dask(chunks, ON, cluster.scheduler_address, remote.extend)
    assert json.dumps(remote, ensure_ascii=False) == json.dumps(local, ensure_ascii=False)
    assert len(local) == len(docs)


def test_cli_output_identical_with_no_prefilter(tmp_path):
    """Through the CLI (JSONL byte ranges read by the bulk reader, raw lines marked): same bytes."""
    import subprocess
    import sys

    f = tmp_path / "c.jsonl"
    rng = random.Random(9)
    with open(f, "w", encoding="utf-8") as fh:
        for k, it in enumerate(_items()):
            text = _variants(it["text"], rng)[k % 8]
            fh.write(json.dumps({"id": it["id"], "title": "标题" if k % 2 else "A title", "text": text,
                                 "year": 2000 + k % 20}, ensure_ascii=k % 3 == 0) + "\n")
            fh.write(json.dumps({"id": f"free{k}", "title": "A note", "abstract": it["text"][:5],
                                 "text": "Nothing to see." if k % 2 else "没有相关内容。"}, ensure_ascii=False) + "\n")
        fh.write("{broken\n")
    outs = []
    for extra in ([], ["--no-prefilter"]):
        out = tmp_path / f"o{len(outs)}.jsonl"
        r = subprocess.run([sys.executable, "-m", "organwatch", "screen", str(f), "--out", str(out),
                            "--workers", "2", "--include-text", *extra], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") == 2 * len(_items()) + 1


def test_bulk_reader_marks_documents_whose_raw_line_matches(tmp_path):
    from organwatch.screen.readers.bulk import read_jsonl_range

    f = tmp_path / "m.jsonl"
    lines = [json.dumps({"id": "a", "text": "供者确认脑死亡后行气管插管。"}, ensure_ascii=False),
             json.dumps({"id": "b", "text": "供者确认脑死亡后行气管插管。"}),  # \\u escapes: decided on the text
             json.dumps({"id": "c", "text": "x"}), "{broken"]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = list(read_jsonl_range(str(f), 0, f.stat().st_size, 1, "ddr_default"))
    marks = [d.prefilter_mark for d in got if isinstance(d, Document)]
    assert marks == ["ddr_default", None, None] and len(got) == 4
    assert get_prefilter("ddr_default").select([d for d in got if isinstance(d, Document)], "ddr_default") == [
        True, True, False]

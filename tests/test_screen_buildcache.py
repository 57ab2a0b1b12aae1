"""The screener's start-up cache (screen/buildcache.py): cached artefacts equal freshly built ones, a changed
pack gets its own entry, damaged entries are rebuilt silently, ``off`` writes nothing, nothing on import.

Every test points the cache at its own tmp_path (never the real home)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from organwatch.screen import buildcache, normalise, prefilter, rulepack, scanner
from organwatch.screen.prefilter import Prefilter
from organwatch.screen.rulepack import load_pack

DATA = Path(__file__).parent / "data" / "screen"
PACK_TOML = Path(rulepack.__file__).parent / "rules" / "ddr_default.toml"
# sample texts written for these tests: zh (simplified, traditional, OCR spacing), en (mixed case), full-width
SAMPLES = [
    "该供者经判定为脑死亡，随后行气管插管并进行器官获取。",
    "該供者經判定為腦死亡，隨後行氣管插管並進行器官獲取。",
    "该 供 者 经 判\n定 为 脑 死 亡 后 拔除气管导管。",
    "The donor was declared Brain Dead and the heart was procured after intubation.",
    "ＢＲＡＩＮ ＤＥＡＴＨ was not mentioned; the patient recovered.",
    "Serum creatinine normalised by day seven. Graft function recovered well; brain death.",
    "患者因脑出血入院，术后恢复良好。",
    "𠀀 astral text 𠀁 with brain death inside",
    "",
]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("ORGANWATCH_CACHE", str(d))
    monkeypatch.delenv("ORGANWATCH_PREFILTER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return d


def _off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGANWATCH_CACHE", "off")


def _files(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file()) if d.exists() else []


def _forbid(monkeypatch: pytest.MonkeyPatch, mod: object, name: str) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError(f"{name} was called although a cache entry exists")

    monkeypatch.setattr(mod, name, boom)


# --- directory and keys ----------------------------------------------------------------------------------------

def test_directory_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORGANWATCH_CACHE", raising=False)
    monkeypatch.delenv("ORGANWATCH_PREFILTER_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert buildcache.root() == tmp_path / "xdg" / "organwatch"
    assert prefilter._cache_dir() == tmp_path / "xdg" / "organwatch" / "prefilter"
    monkeypatch.setenv("ORGANWATCH_PREFILTER_CACHE", str(tmp_path / "legacy"))  # the older name still works
    assert buildcache.directory("scanner") == tmp_path / "legacy" / "scanner"
    assert prefilter._cache_dir() == tmp_path / "legacy" / "prefilter"
    monkeypatch.setenv("ORGANWATCH_CACHE", str(tmp_path / "new"))  # the general name wins
    assert buildcache.root() == tmp_path / "new"
    monkeypatch.setenv("ORGANWATCH_CACHE", "off")
    assert buildcache.root() is None and prefilter._cache_dir() is None
    monkeypatch.delenv("ORGANWATCH_CACHE")
    monkeypatch.setenv("ORGANWATCH_PREFILTER_CACHE", "off")
    assert buildcache.root() is None


def test_keys_depend_on_inputs_kind_and_code(monkeypatch: pytest.MonkeyPatch) -> None:
    k = buildcache.key("rulepack", ("abc", "x.toml"))
    assert k == buildcache.key("rulepack", ("abc", "x.toml"))
    assert k != buildcache.key("rulepack", ("abd", "x.toml"))
    assert k != buildcache.key("normalise-tables", ("abc", "x.toml"))
    monkeypatch.setattr(buildcache, "fingerprint", lambda: "another version of the code")
    assert k != buildcache.key("rulepack", ("abc", "x.toml"))


def test_fingerprint_covers_the_building_modules() -> None:
    pkg = Path(buildcache.__file__).resolve().parents[1]
    for rel in buildcache._SOURCES:
        assert (pkg / rel).is_file(), rel
    for mod in (normalise, rulepack, prefilter, scanner, buildcache):
        rel = Path(mod.__file__).resolve().relative_to(pkg)
        # the compiled build (setup.py) imports an extension module built from the .py beside it
        assert rel.with_name(rel.name.split(".")[0] + ".py").as_posix() in buildcache._SOURCES


# --- cached = freshly built -------------------------------------------------------------------------------------

def test_pack_from_cache_equals_fresh_pack(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_pack()  # builds and writes the entry
    entries = list((cache_dir / "build").glob("rulepack-*.pickle"))
    assert len(entries) == 1
    _forbid(monkeypatch, rulepack, "compile_pack")
    cached = load_pack()
    monkeypatch.undo()
    _off(monkeypatch)
    fresh = load_pack()
    assert cached is not first
    assert cached == fresh == first
    assert cached.literal_strings() == fresh.literal_strings()
    assert cached.owners == fresh.owners and cached.settings == fresh.settings
    assert cached.types == fresh.types and cached.ethics == fresh.ethics and cached.sha256 == fresh.sha256


def test_normaliser_tables_from_cache_equal_fresh(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = normalise.default_config()
    args = (bool(cfg["nfkc"]), bool(cfg["traditional_to_simplified"]), bool(cfg["case_fold"]),
            bool(cfg["collapse_whitespace"]), tuple(cfg["ocr"]))
    uncached = normalise._tables.__wrapped__  # the function behind the in-process lru_cache
    first = uncached(*args)
    assert list((cache_dir / "build").glob("normalise-tables-*.pickle"))
    _forbid(monkeypatch, normalise, "build_tables")
    cached = uncached(*args)
    monkeypatch.undo()
    fresh = normalise.build_tables(*args)
    assert cached == fresh == first
    # a normaliser prepared from the cached tables normalises like the one built in memory
    monkeypatch.setattr(normalise, "_tables", lambda *_a: cached)
    norm = normalise.Normaliser()
    norm._prepare()
    monkeypatch.undo()
    assert norm._table == fresh[0] and norm._expand == fresh[1]
    for text in SAMPLES:
        a, b = norm.normalise(text), normalise.get_normaliser().normalise(text)
        assert a.text == b.text
        assert np.array_equal(a.end_map, b.end_map)


def test_lookup_tables_equal_the_per_character_definition() -> None:
    norm = normalise.get_normaliser()
    norm._prepare()
    lut = np.arange(0x110000, dtype=np.uint32)
    for cp, ch in norm._table.items():
        lut[cp] = ord(ch)
    exp = np.zeros(0x110000, dtype=bool)
    for ch in norm._expand:
        exp[ord(ch)] = True
    flag = (norm._wslut[lut].astype(np.uint8) | (norm._cjklut[lut].astype(np.uint8) << 1)
            | (exp.astype(np.uint8) << 2))
    assert np.array_equal(norm._lut, lut) and norm._lut.dtype == lut.dtype
    assert np.array_equal(norm._flaglut, flag) and norm._flaglut.dtype == flag.dtype


def _pack_and_norm():
    from organwatch.screen.engine import _components

    pack, matcher, _logic = _components("ddr_default", "hyperscan")
    return pack, matcher.norm


def _decisions(pf: Prefilter, texts: list[str]) -> list[tuple[bool, bool]]:
    return [(pf.hit(t.encode("utf-8", "surrogatepass")), pf.has_expansion(t.encode("utf-8", "surrogatepass")))
            for t in texts]


def _texts(pack) -> list[str]:
    lits = pack.literal_strings()
    return SAMPLES + lits[::7] + [x.upper() for x in lits[::11]] + [f"qq {x} zz" for x in lits[::13]] + ["Ⅱ ℃ ﬁ"]


def test_prefilter_from_cache_equals_fresh(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack, norm = _pack_and_norm()
    first = Prefilter(pack, norm)
    assert list((cache_dir / "build").glob("prefilter-patterns-*.pickle"))
    assert len(list((cache_dir / "prefilter").glob("*.hsdb"))) == 3
    _forbid(monkeypatch, prefilter, "Patterns")  # the cached lists make the pattern builder unnecessary
    _forbid(monkeypatch, prefilter, "build_pattern_lists")
    cached = Prefilter(pack, norm)
    monkeypatch.undo()
    _off(monkeypatch)
    fresh = Prefilter(pack, norm)
    assert cached.ok and fresh.ok and first.ok
    texts = _texts(pack)
    assert _decisions(cached, texts) == _decisions(fresh, texts) == _decisions(first, texts)
    assert any(h for h, _ in _decisions(fresh, texts)) and not all(h for h, _ in _decisions(fresh, texts))
    lists = prefilter.pattern_lists(cached._lits, norm)
    assert lists == prefilter.build_pattern_lists(cached._lits, norm)
    assert (cached.patterns.pure, cached.patterns.regex) == lists[:2]  # built on demand, same lists


def _scan_all(sc: scanner.HyperscanScanner, texts: list[str]) -> list[list[list[int]]]:
    out = []
    for t in texts:
        for width in (1, 2, 4):
            top = max((ord(c) for c in t), default=0)
            if (width == 1 and top > 0xFF) or (width == 2 and top > 0xFFFF):
                continue
            ids, s, e = sc.scan(scanner.encode(t, width), width)
            out.append([ids.tolist(), s.tolist(), e.tolist()])
    return out


class _NoCompile:
    """hyperscan with ``Database`` (compiling) forbidden; loading (``loadb``) and scratch space still work."""

    def __init__(self) -> None:
        import hyperscan

        self._hs = hyperscan

    def __getattr__(self, name: str) -> object:
        if name == "Database":
            raise AssertionError("the scanner compiled a database although a cache entry exists")
        return getattr(self._hs, name)


def test_scanner_from_cache_equals_fresh(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack, _norm = _pack_and_norm()
    lits = pack.literal_strings()[:300]  # width 4 databases of the whole pack take seconds to compile
    texts = _texts(pack)
    first = scanner.HyperscanScanner(lits)
    hits_first = _scan_all(first, texts)
    assert len(list((cache_dir / "scanner").glob("*.hsdb"))) == 3  # one per code-unit width (1, 2, 4)
    cached = scanner.HyperscanScanner(lits)
    cached._hs = _NoCompile()
    hits_cached = _scan_all(cached, texts)
    _off(monkeypatch)
    hits_fresh = _scan_all(scanner.HyperscanScanner(lits), texts)
    assert hits_cached == hits_fresh == hits_first
    assert any(ids for ids, _s, _e in hits_fresh)
    # the literal order gives the match ids: the same literals in another order are another database
    monkeypatch.setenv("ORGANWATCH_CACHE", str(cache_dir))
    rev = scanner.HyperscanScanner(lits[::-1])
    ids, _s, _e = rev.scan(scanner.encode(lits[0], 2), 2)
    assert len(lits) - 1 in ids.tolist()


# --- invalidation and damage ------------------------------------------------------------------------------------

def test_changed_pack_gets_a_new_entry(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PACK_TOML.read_text("utf-8")
    old = 'terms = ["{zh_bd}", "急性脑死亡", "脑干死亡", "全脑死亡"]'
    assert old in text
    pack_file = tmp_path / "mypack.toml"
    pack_file.write_text(text, "utf-8")
    base = load_pack(str(pack_file))
    pack_file.write_text(text.replace(old, old[:-1] + ', "测试用脑死亡词"]'), "utf-8")
    changed = load_pack(str(pack_file))
    assert len(list((cache_dir / "build").glob("rulepack-*.pickle"))) == 2
    assert "测试用脑死亡词" in changed.literal_strings() and "测试用脑死亡词" not in base.literal_strings()
    assert len(changed.literals) == len(base.literals) + 1 and changed.sha256 != base.sha256
    _forbid(monkeypatch, rulepack, "compile_pack")
    assert load_pack(str(pack_file)) == changed  # the second load of the changed pack is from its entry


def _damage(files: list[Path]) -> None:
    for i, p in enumerate(files):
        p.write_bytes(b"" if i % 3 == 0 else b"\x80\x05 not a cache entry" * (i + 1))


def test_damaged_entries_are_rebuilt_silently(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack, norm = _pack_and_norm()
    lits = pack.literal_strings()[:200]
    good_pack = load_pack()
    good_pf = _decisions(Prefilter(pack, norm), _texts(pack))
    good_scan = _scan_all(scanner.HyperscanScanner(lits), SAMPLES)
    files = _files(cache_dir)
    assert len(files) >= 6
    _damage(files)
    assert load_pack() == good_pack
    assert _decisions(Prefilter(pack, norm), _texts(pack)) == good_pf
    assert _scan_all(scanner.HyperscanScanner(lits), SAMPLES) == good_scan
    # the entries were written again and are valid
    for p in (cache_dir / "build").glob("*.pickle"):
        k, _value = pickle.loads(p.read_bytes())
        assert p.name.endswith(f"-{k}.pickle")
    # a valid pickle under another key (a renamed entry) is not trusted either
    entry = next((cache_dir / "build").glob("rulepack-*.pickle"))
    entry.write_bytes(pickle.dumps(("0" * 40, "not a pack")))
    assert load_pack() == good_pack


def test_unwritable_cache_builds_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ORGANWATCH_CACHE", str(blocker / "cache"))  # mkdir fails: read-only-like
    pack, norm = _pack_and_norm()
    assert load_pack() == pack
    assert Prefilter(pack, norm).ok
    assert blocker.read_text() == "not a directory"
    assert not list(tmp_path.glob("**/*.tmp")) and not list(tmp_path.glob("**/.*.tmp"))


def test_off_builds_everything_in_memory_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    for var in ("ORGANWATCH_CACHE", "ORGANWATCH_PREFILTER_CACHE"):
        watched = tmp_path / var
        watched.mkdir()
        monkeypatch.delenv("ORGANWATCH_CACHE", raising=False)
        monkeypatch.delenv("ORGANWATCH_PREFILTER_CACHE", raising=False)
        monkeypatch.setenv(var, "off")
        monkeypatch.setenv("XDG_CACHE_HOME", str(watched / "xdg"))
        monkeypatch.setenv("HOME", str(watched / "home"))
        pack, norm = _pack_and_norm()
        assert load_pack() == pack
        cfg = normalise.default_config()
        tables = normalise._tables.__wrapped__(True, bool(cfg["traditional_to_simplified"]), True, True,
                                               tuple(cfg["ocr"]))
        assert tables == normalise.build_tables(True, bool(cfg["traditional_to_simplified"]), True, True,
                                                tuple(cfg["ocr"]))
        assert Prefilter(pack, norm).ok
        sc = scanner.HyperscanScanner(pack.literal_strings()[:50])
        assert _scan_all(sc, SAMPLES[:2])
        assert list(watched.iterdir()) == []


def test_nothing_is_computed_or_written_on_import(tmp_path: Path) -> None:
    d = tmp_path / "cache"
    env = {**os.environ, "ORGANWATCH_CACHE": str(d), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    code = ("import organwatch.screen.buildcache as b, organwatch.screen.rulepack, organwatch.screen.prefilter, "
            "organwatch.screen.scanner, organwatch.screen.normalise as n; "
            "assert b.fingerprint.cache_info().currsize == 0 and n._tables.cache_info().currsize == 0")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert not d.exists() and not (tmp_path / "xdg").exists()


def test_cli_output_identical_cold_warm_and_off(tmp_path: Path) -> None:
    """`organwatch screen` writes the same bytes with an empty cache, a filled one and the cache off."""
    src = DATA / "labelled_heldout.jsonl"
    outs = []
    for i, cache in enumerate((str(tmp_path / "cache"), str(tmp_path / "cache"), "off")):
        out = tmp_path / f"out{i}.jsonl"
        env = {**os.environ, "ORGANWATCH_CACHE": cache, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
        subprocess.run([sys.executable, "-m", "organwatch", "screen", str(src), "--out", str(out), "--workers", "1"],
                       env=env, check=True, timeout=300, capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2] and outs[0].count(b"\n") == 81  # 81 records: counted with wc -l
    assert _files(tmp_path / "cache") and not (tmp_path / "xdg").exists()

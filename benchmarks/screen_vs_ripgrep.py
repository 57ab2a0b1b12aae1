"""Benchmark (a)/(d): organwatch screen (full rule logic) vs ripgrep `rg -c -F -f` (and `-i`) with every literal of the pack.

Usage: python benchmarks/screen_vs_ripgrep.py [--mb 200] [--workers 2]          # (a) >= 200 MB mixed zh/en JSONL
       python benchmarks/screen_vs_ripgrep.py --docs 124770 --avg-bytes 20000       # (d) the 124,770-document corpus
Prints both timings and the ratio measured in this run. Corpus goes to a temp dir (never committed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from screen_corpus import generate  # noqa: E402

from organwatch.screen.documents import Document  # noqa: E402
from organwatch.screen.rulepack import load_pack  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=200)
    ap.add_argument("--docs", type=int, default=0, help="number of documents (overrides --mb)")
    ap.add_argument("--avg-chars", type=int, default=6000)
    ap.add_argument("--avg-bytes", type=int, default=None, help="average UTF-8 bytes of text per document "
                    "(benchmark d: --docs 124770 --avg-bytes 20000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="best of this many runs of each command")
    ap.add_argument("--keep", type=Path, default=None, help="write the corpus here and keep it (reused if present)")
    a = ap.parse_args()
    rg = shutil.which("rg")
    with tempfile.TemporaryDirectory() as tmp:
        td = Path(tmp)
        corpus = a.keep or td / "corpus.jsonl"
        n_docs = a.docs or int(a.mb * 1e6 / (a.avg_chars * 1.8))
        t0 = time.perf_counter()
        if a.keep and a.keep.exists():
            size = a.keep.stat().st_size
        else:
            size = generate(corpus, n_docs, a.avg_chars, avg_bytes=a.avg_bytes)
        print(f"generated in {time.perf_counter() - t0:.0f} s")
        lits = td / "literals.txt"
        lits.write_text("\n".join(load_pack().literal_strings()) + "\n", encoding="utf-8")
        t_rg = t_rgi = t_ow = float("inf")
        for _ in range(a.runs):  # alternating, each triple in one run; best of the runs
            if rg:
                t0 = time.perf_counter()
                subprocess.run([rg, "-c", "-F", "-f", str(lits), str(corpus)], stdout=subprocess.DEVNULL, check=False)
                t_rg = min(t_rg, time.perf_counter() - t0)
                t0 = time.perf_counter()  # case-insensitive, as organwatch matches (after case folding)
                subprocess.run([rg, "-c", "-F", "-i", "-f", str(lits), str(corpus)], stdout=subprocess.DEVNULL,
                               check=False)
                t_rgi = min(t_rgi, time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "organwatch", "screen", str(corpus), "--out",
                                str(td / "o.parquet"), "--workers", str(a.workers)], capture_output=True, text=True)
            t_ow = min(t_ow, time.perf_counter() - t0)
        print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")
        print(f"corpus: {n_docs} documents, {size / 1e6:.1f} MB JSONL; machine: {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} (other processes share the cores)")
        print(f"organwatch screen (full logic, {a.workers} workers): {t_ow:.2f} s = {size / 1e6 / t_ow:.1f} MB/s")
        if rg:
            n_lits = len(load_pack().literals)
            print(f"baseline ripgrep rg -c -F -f ({n_lits} literals): {t_rg:.2f} s = {size / 1e6 / t_rg:.1f} MB/s")
            print(f"          ripgrep rg -c -F -i -f (case-insensitive): {t_rgi:.2f} s = {size / 1e6 / t_rgi:.1f} MB/s")
            print(f"ratio organwatch / ripgrep: {t_ow / t_rg:.2f}x (case-insensitive ripgrep: {t_ow / t_rgi:.2f}x)")
        else:
            print("ripgrep not installed: apt-get install ripgrep for the baseline")
        stages(corpus)
        selected(corpus)


def selected(corpus: Path, mb: int = 16) -> None:
    """Share of the documents (first ~``mb`` MB) the raw-byte prefilter selects for full screening."""
    from organwatch.screen.engine import jsonl_ranges
    from organwatch.screen.prefilter import get_prefilter
    from organwatch.screen.readers.tabular import read_jsonl_range

    t = next(iter(jsonl_ranges(str(corpus), block=mb << 20)))
    docs = [d for d in read_jsonl_range(t.path, t.start, t.end, t.first_line) if isinstance(d, Document)]
    sel = get_prefilter("ddr_default").select(docs)
    print(f"prefilter: {sum(sel)} of {len(docs)} documents selected for full screening ({sum(sel) / len(docs):.1%})")


def stages(corpus: Path, mb: int = 16) -> None:
    """In-process stage breakdown on the first ~``mb`` MB (one core, best of 3): where the time goes."""
    import gc

    from organwatch.screen.engine import ScreenOptions, _components, jsonl_ranges, screen_chunk
    from organwatch.screen.readers.tabular import read_jsonl_range

    _pack, matcher, _logic = _components("ddr_default", "hyperscan")
    t = next(iter(jsonl_ranges(str(corpus), block=mb << 20)))

    def best(f) -> float:
        out = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            f()
            out = min(out, time.perf_counter() - t0)
        return out

    gc.disable()  # as the engine runs a task
    t_read = best(lambda: list(read_jsonl_range(t.path, t.start, t.end, t.first_line)))
    docs = [d for d in read_jsonl_range(t.path, t.start, t.end, t.first_line) if isinstance(d, Document)]
    texts = [d.text for d in docs]
    t_match = best(lambda: matcher.match(texts))
    t_all = best(lambda: screen_chunk(docs, ScreenOptions(prefilter=False)))
    gc.enable()
    mbytes = (t.end - t.start) / 1e6
    print(f"stages on {mbytes:.1f} MB, one process: read + JSON + document language {mbytes / t_read:.0f} MB/s; "
          f"normalise + scan + events {mbytes / t_match:.0f} MB/s; passage logic + ethics + records "
          f"{mbytes / (t_all - t_match):.0f} MB/s; screen_chunk {mbytes / t_all:.1f} MB/s")


if __name__ == "__main__":
    main()

"""Benchmark (b): MEDLINE XML parsing, organwatch reader vs pubmed_parser.parse_medline_xml, same .xml.gz file.

Usage: python benchmarks/screen_medline.py [--records 20000]. Generates a seeded MEDLINE-shaped file in a
temp dir, times both parsers in this run and prints the ratio and peak RSS growth of each (flat memory).
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path


def make(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0"?>\n<PubmedArticleSet>\n')
        for i in range(n):
            ab = " ".join(rng.choice(["donor", "brain death", "intubated", "recipient", "graft", "survival"])
                          for _ in range(150))
            fh.write(f"<PubmedArticle><MedlineCitation Status='MEDLINE' Owner='NLM'><PMID Version='1'>{i + 1}</PMID>"
                     f"<Article><Journal><JournalIssue><PubDate><Year>{1990 + i % 30}</Year></PubDate></JournalIssue>"
                     f"<Title>J</Title></Journal><ArticleTitle>Title {i}</ArticleTitle><Abstract><AbstractText>{ab}"
                     "</AbstractText></Abstract><AuthorList><Author><LastName>A</LastName><ForeName>B</ForeName>"
                     "<AffiliationInfo><Affiliation>Some Hospital</Affiliation></AffiliationInfo></Author></AuthorList>"
                     "<Language>eng</Language></Article></MedlineCitation></PubmedArticle>\n")
        fh.write("</PubmedArticleSet>\n")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        raw = Path(td) / "m.xml"
        make(raw, a.records)
        f = Path(td) / "m.xml.gz"  # pubmed_parser reads baseline files gzipped, as NLM ships them
        import gzip
        import shutil

        with open(raw, "rb") as src, gzip.open(f, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        raw.unlink()
        from organwatch.screen.readers.medline import read_medline

        r0 = rss_mb()
        t0 = time.perf_counter()
        n = sum(1 for _ in read_medline(f))
        t_ow = time.perf_counter() - t0
        r1 = rss_mb()
        import pubmed_parser as pp

        t0 = time.perf_counter()
        m = sum(1 for _ in pp.parse_medline_xml(str(f)))
        t_pp = time.perf_counter() - t0
        r2 = rss_mb()
        print(f"file: {f.stat().st_size / 1e6:.1f} MB gzipped, {a.records} records")
        print(f"organwatch read_medline: {n} records in {t_ow:.2f} s (peak RSS +{r1 - r0:.0f} MB)")
        print(f"baseline pubmed_parser.parse_medline_xml: {m} records in {t_pp:.2f} s (peak RSS +{r2 - r1:.0f} MB)")
        print(f"speed-up: {t_pp / t_ow:.2f}x")


if __name__ == "__main__":
    main()

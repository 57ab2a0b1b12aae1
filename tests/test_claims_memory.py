"""Claims readers stay under the documented memory bound (1 GiB of address space) on hostile files: an 80 MiB
X12 segment and an 80 MiB NDJSON line are one-line file errors (exit 2), never a MemoryError or a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "claims"
LIMIT_MB = 1024


def run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    code = ("import resource,sys;"
            f"resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_MB} << 20, {LIMIT_MB} << 20));"
            "from organwatch.cli import main; sys.argv=['organwatch', *sys.argv[1:]]; main()")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("claims-memory")
    src = (DATA / "professional.837").read_text(encoding="utf-8")
    cut = src.index("~", src.index("CLM*")) + 1
    x12 = d / "long-segment.837"
    x12.write_text(src[:cut] + "NTE*ADD*" + "A" * (80 << 20) + "~" + src[cut:], encoding="utf-8")
    ndjson = d / "huge-line.ndjson"
    ndjson.write_text('{"resourceType":"Claim","id":"x","note":"' + "B" * (80 << 20) + '"}\n', encoding="utf-8")
    return {"x12": x12, "ndjson": ndjson, "dir": d}


@pytest.mark.parametrize("kind", ["x12", "ndjson"])
@pytest.mark.parametrize("fast", [False, True], ids=["validating", "fast"])
def test_hostile_claim_files_are_one_line_errors_under_the_memory_bound(hostile, kind, fast):
    out = hostile["dir"] / f"{kind}-{fast}.jsonl"
    r = run_limited("claims", str(hostile[kind]), "-j", "TX", "--out", str(out), *(["--fast"] if fast else []))
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, err[-500:])
    assert "MemoryError" not in err and "Traceback" not in err and "internal error" not in err
    assert len(err.splitlines()) == 1 and hostile[kind].name in err

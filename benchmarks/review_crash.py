"""Crash safety of the review ledger: kill -9 the server during bursts of writes, many times.

    python benchmarks/review_crash.py [--cycles 100] [--clients 4]

Each cycle starts `organwatch review serve` on a free loopback port, lets several scripted reviewers post
decisions as fast as they can, and SIGKILLs the server at a random moment (seeded). Every decision the server
acknowledged (HTTP 200, sent only after COMMIT) is remembered with its nonce. After every kill the project must
pass `PRAGMA integrity_check`, contain every acknowledged decision unchanged, have a strictly append-only ledger
(ids only grow; nothing acknowledged disappears), and its derived state must equal a rebuild from the ledger.
Work files live in a temporary directory. Prints a summary; exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from review_client import ReviewClient  # noqa: E402
from review_synth import write as write_synth  # noqa: E402

LABELS = ["confirmed_violation", "suspicious", "not_violation", "duplicate", "out_of_scope"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(project: Path, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "organwatch", "review", "serve", str(project), "--port", str(port),
                             *extra],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr is not None else b""
            raise RuntimeError(f"server exited early: {err.decode(errors='replace')[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not become ready")


def check_project(project: Path, acked: dict[str, tuple], last_max: int) -> tuple[int, list[str]]:
    problems = []
    con = sqlite3.connect(project, isolation_level=None)
    try:
        ic = con.execute("PRAGMA integrity_check").fetchall()
        if ic != [("ok",)]:
            problems.append(f"integrity_check: {ic[:3]}")
        rows = {r[0]: r[1:] for r in con.execute(
            "SELECT d.nonce, h.hit_id, d.reviewer, d.label, d.decision_id FROM decisions d JOIN hits h USING (hit_pk)")}
        missing = [n for n in acked if n not in rows]
        if missing:
            problems.append(f"{len(missing)} acknowledged decisions lost (e.g. {missing[:3]})")
        changed = [n for n, v in acked.items() if n in rows and rows[n][:3] != v[:3]]
        if changed:
            problems.append(f"{len(changed)} acknowledged decisions changed")
        mx = con.execute("SELECT COALESCE(MAX(decision_id), 0) FROM decisions").fetchone()[0]
        if mx < last_max:
            problems.append(f"ledger shrank: max decision_id {mx} < {last_max}")
        derived = set(con.execute("SELECT hit_pk, reviewer, decision_id, label FROM hit_state"))
        rebuilt = set(con.execute("""SELECT d.hit_pk, d.reviewer, d.decision_id, d.label FROM decisions d JOIN
             (SELECT hit_pk, reviewer, MAX(decision_id) m FROM decisions GROUP BY hit_pk, reviewer) x
             ON x.m = d.decision_id"""))
        if derived != rebuilt:
            problems.append(f"derived state differs from the ledger ({len(derived ^ rebuilt)} rows)")
    finally:
        con.close()
    return mx, problems


def run(cycles: int = 100, clients: int = 4, seed: int = 1, documents: int = 500, workdir: Path | None = None,
        log=print) -> dict:
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory(prefix="ow-review-crash-") if workdir is None else None
    wd = Path(tmp.name) if tmp is not None else Path(workdir or ".")
    try:
        results = write_synth(wd / "results.jsonl", documents, passages=2, seed=seed)
        project = wd / "crash.owproj"
        subprocess.run([sys.executable, "-m", "organwatch", "review", "new", str(results), str(project)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        con = sqlite3.connect(project)
        hit_ids = [r[0] for r in con.execute("SELECT hit_id FROM hits")]
        con.close()
        acked: dict[str, tuple] = {}
        lock = threading.Lock()
        last_max, attempted, kills = 0, 0, 0
        problems: list[str] = []
        t0 = time.monotonic()
        for cycle in range(cycles):
            port = free_port()
            proc = start_server(project, port)
            wait_ready(proc, port)
            stop = threading.Event()
            counts = [0]

            def worker(k: int, port: int = port, stop: threading.Event = stop, counts: list[int] = counts,
                       cycle: int = cycle) -> None:
                c = ReviewClient(port, f"reviewer{k}", timeout=10)
                try:
                    c.login()
                    r = random.Random(rng.random())
                    while not stop.is_set():
                        h, lab = r.choice(hit_ids), r.choice(LABELS)
                        nonce = f"{cycle}-{k}-{r.getrandbits(48):x}"
                        with lock:
                            counts[0] += 1
                        d = c.decide(h, lab, rationale=f"cycle {cycle}", nonce=nonce)
                        with lock:
                            acked[nonce] = (h, f"reviewer{k}", lab, d["decision_id"])
                except Exception:  # the server died under us: expected
                    pass
                finally:
                    c.close()

            threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(clients)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.5))
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            proc.wait()
            stop.set()
            for t in threads:
                t.join(timeout=15)
            attempted += counts[0]
            last_max, p = check_project(project, acked, last_max)
            if p:
                problems.extend(f"cycle {cycle}: {x}" for x in p)
                log(f"cycle {cycle}: PROBLEM {p}")
                break
            if (cycle + 1) % 10 == 0 or cycle == cycles - 1:
                log(f"cycle {cycle + 1}/{cycles}: {len(acked)} acknowledged decisions intact, integrity ok")
        return {"cycles": cycles, "kills": kills, "acknowledged": len(acked), "attempted": attempted,
                "problems": problems, "seconds": round(time.monotonic() - t0, 1)}
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="kill -9 the review server during write bursts")
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    res = run(a.cycles, a.clients, a.seed)
    print(f"review crash safety: {res['kills']} kill -9 during write bursts, {res['acknowledged']} acknowledged "
          f"decisions ({res['attempted']} attempted), lost 0 = {not res['problems']}, integrity ok every cycle; "
          f"{res['seconds']} s")
    for p in res["problems"]:
        print("PROBLEM:", p)
    sys.exit(1 if res["problems"] else 0)

"""Checkpoint benchmark (issue 3): passages registered per second through the HTTP API, each with three
people and its flags computed, on SQLite and PostgreSQL; p50/p99 latency. Target: ≥ 300/s on
PostgreSQL with p99 under 100 ms on this 2-core machine.

The server runs in its own processes (uvicorn, BENCH_WORKERS workers); the load comes from wrk (C, with
bench/checkpoints_passages.lua making a distinct passage per request), so the generator does not eat the
server's CPU the way a Python client did (about 1.7 ms per request). Each backend is measured twice in the
same database: the first write path kept as the baseline (`bench/checkpoints_orm_path.register_passage_orm`, one ORM
transaction per request through the full FastAPI stack, served by bench/checkpoints_orm_app.py) and the
path every device uses now (the fast path in front of the app, `checkpoints.writer`'s group commit,
`passages.register_passages`). Half the passages' third persons already have files (from the demo city),
the rest are new. After each run the passages are counted against wrk's 201s, the audit chain is
verified, and the server's CPU time per passage is printed (it moves less than the rates when other work
shares the machine).

BENCH_SECONDS (15), BENCH_CONNECTIONS (16), BENCH_WORKERS (2), BENCH_PATHS (orm,lean) tune it.

Where the time went (py-spy on the server, PostgreSQL, idle machine, 2026-12-02). First path, ~13 ms CPU
per passage, ~17 statements per passage. One request, one transaction (2026-12-01): ~10 ms on an idle
machine, of which fuzzy blocking for the new persons (an OR-ed query compiled anew each time) ~20%,
FastAPI/Starlette ~25%, the statements themselves ~45%. Now 2.2–3.5 ms: concurrent requests are written
in one transaction (the statements and the audit chain's lock and insert of one passage, shared by the
batch), the fuzzy blocks are one array statement whose text never changes (compiled and prepared once),
and a device whose token was verified a moment ago skips FastAPI's stack (core.web.fastpath).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench.backends import on_each_backend

from fangkong.core.audit import verify_chain
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.settings import load_settings
from fangkong.demo.build import DEMO_PASSWORD, build_demo

HERE = Path(__file__).resolve().parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PATHS = [p for p in os.environ.get("BENCH_PATHS", "orm,lean").split(",") if p]
APPS = {"orm": "bench.checkpoints_orm_app:create_orm_app", "lean": "fangkong.app:create_app"}
LABELS = {"orm": "ORM path (before)", "lean": "lean path"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wrk() -> str | None:
    """Return the wrk binary, installing Debian's package when running as root with apt-get."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if found is None:
        print("wrk not found: install it (Debian: apt-get install wrk) to run this benchmark")
    return found


def _serve(app: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--factory", "--app-dir", str(HERE.parent),
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
                               "--log-level", "warning", "--no-access-log"], env=env)
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not start")


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) of a process and its children, from /proc (Linux)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(_cpu_seconds(int(child)) for child in children)


def _load(wrk: str, port: int, token: str, checkpoint: int, seconds: int, run: str, known: Path) -> dict[str, int]:
    env = {**os.environ, "BENCH_PATH": f"/api/v1/checkpoints/{checkpoint}/passages", "BENCH_TOKEN": token,
           "BENCH_RUN": run, "BENCH_KNOWN": str(known)}
    out = subprocess.run([wrk, "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s",
                          "-s", str(HERE / "checkpoints_passages.lua"), f"http://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def _count(url: str, tag: str) -> tuple[int, bool, int]:
    db = Database(url)  # reads only
    try:
        with db.sessions() as s:
            stored = s.execute(sa.text("SELECT count(*) FROM passages WHERE client_id LIKE :t"),
                               {"t": f"wrk-{tag}-%"}).scalar_one()
            report = verify_chain(s)
    finally:
        db.dispose()
    return stored, report.ok, report.rows


def _settle(url: str) -> None:
    """Start each run from a quiet PostgreSQL, as pgbench does: vacuum and analyse what the demo build and the
    previous run wrote, and checkpoint, so their background work is not measured as this run's tail."""
    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        engine.dispose()


def _measure(url: str, var: Path, path: str, checkpoint: int, wrk: str, known: Path) -> dict[str, float]:
    _settle(url)
    port = _free_port()
    env = {**os.environ, "FANGKONG_DATABASE_URL": url, "FANGKONG_VAR_DIR": str(var), "FANGKONG_SECRET_KEY": "b" * 40,
           "FANGKONG_ARGON2_MEMORY_KIB": "64", "FANGKONG_ARGON2_TIME_COST": "1"}
    server = _serve(APPS[path], env, port)
    tag = f"{path}{uuid.uuid4().hex[:6]}"
    try:
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           json={"username": "checkpoint", "password": DEMO_PASSWORD}).json()["access_token"]
        _load(wrk, port, token, checkpoint, 2, tag + "w", known)  # warm-up: connections, caches, statements
        cpu = _cpu_seconds(server.pid)
        result = _load(wrk, port, token, checkpoint, SECONDS, tag, known)
        cpu = _cpu_seconds(server.pid) - cpu
    finally:
        server.terminate()
        server.wait(10)
    stored, chain_ok, rows = _count(url, tag)
    seconds = result["duration_us"] / 1e6
    return {"rate": result["created"] / seconds, "p50": result["p50_us"] / 1000, "p99": result["p99_us"] / 1000,
            "created": result["created"], "errors": result["errors"] + result["socket_errors"], "stored": stored,
            "chain_ok": chain_ok, "audit_rows": rows, "cpu_ms": cpu * 1000 / max(stored, 1)}


def bench(url: str, label: str, var: Path) -> None:
    wrk = _wrk()
    if wrk is None:
        return
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=5000, seed=3)
    with db.engine.connect() as conn:
        checkpoint = conn.execute(sa.text("SELECT min(id) FROM checkpoints")).scalar_one()
        numbers = conn.execute(sa.text("SELECT id_number FROM persons WHERE id_number IS NOT NULL")).scalars().all()
    db.dispose()
    known = var / "known_ids.txt"  # people with files (some with open leads or a risk status) come through too
    known.write_text("\n".join(numbers) + "\n")
    rates = {}
    for path in PATHS:
        m = _measure(url, var, path, checkpoint, wrk, known)
        rates[path] = m["rate"]
        print(f"{label:10s} {LABELS[path]:17s} {m['rate']:6.0f} passages/s  p50 {m['p50']:6.1f} ms  "
              f"p99 {m['p99']:7.1f} ms  server CPU {m['cpu_ms']:4.1f} ms/passage", flush=True)
        print(f"{'':28s} {m['created']} created in {SECONDS} s (3 persons each), errors {m['errors']}, "
              f"stored {m['stored']}, audit chain {'ok' if m['chain_ok'] else 'BROKEN'} ({m['audit_rows']} rows); "
              f"{WORKERS} workers, {CONNECTIONS} connections, wrk", flush=True)
    if "orm" in rates and "lean" in rates and rates["orm"]:
        print(f"{label:10s} lean / ORM path: {rates['lean'] / rates['orm']:.1f}×", flush=True)


def main() -> None:
    on_each_backend(bench)


if __name__ == "__main__":
    main()

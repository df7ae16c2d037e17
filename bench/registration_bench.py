"""Arrival self-registration benchmark (issue 6): public forms posted per second through HTTP, as phones
send them (form encoding, CSRF double submit), each linked to a person file; one in five comes from the
risk area and so also becomes a dispatched lead with a risk status. On SQLite and PostgreSQL; p50/p99.

The server runs in its own processes (uvicorn, BENCH_WORKERS workers) and the load comes from an async
client in this process; both share the machine's two cores, so the figures are conservative. The per-IP
rate limit is lifted for the run (every request comes from 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench.backends import on_each_backend

from fangkong.core.codes import check_character
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.settings import load_settings
from fangkong.demo.build import build_demo

REQUESTS = int(os.environ.get("BENCH_ARRIVALS", "1500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
STREETS = ["城关区酒泉路街道", "城关区雁南街道", "七里河区西园街道", "安宁区培黎街道", "西固区陈坪街道"]
CSRF = "bench-csrf-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _form(rng: random.Random, n: int) -> dict[str, str]:
    risky = n % 5 == 0
    area = "420106" if risky else rng.choice(["610113", "110105", "510107"])
    body = f"{area}19{rng.randint(50, 99)}0101{n % 1000:03d}"
    today = date.today()
    return {"csrf_token": CSRF, "name": f"来人{n}", "doc_type": "resident_id",
            "doc_number": body + check_character(body),
            "phone": f"13{rng.randint(0, 9)}{n:08d}", "origin_code": "420100" if risky else "610100",
            "departed_on": (today - timedelta(days=1)).isoformat(), "arrived_on": today.isoformat(),
            "transport": "train", "transport_number": f"G{n % 9000 + 1}",
            "destination_address": f"兰州市{rng.choice(STREETS)}庆阳路{n % 300 + 1}号",
            "temperature_c": "36.5", "test_result": "negative", "test_on": (today - timedelta(days=1)).isoformat(),
            "consent": "yes"}


async def _drive(base: str) -> tuple[float, list[float], int]:
    rng = random.Random(11)
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for n in range(REQUESTS):
        queue.put_nowait(_form(rng, n))
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, cookies={"fk_csrf": CSRF}, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                form = queue.get_nowait()
                started = time.perf_counter()
                r = await client.post("/register/arrival", data=form, follow_redirects=False)
                latencies.append(time.perf_counter() - started)
                errors += r.status_code != 303
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def bench(url: str, label: str, var: Path) -> None:
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=5000, seed=3)
    db.dispose()
    port = _free_port()
    env = {**os.environ, "FANGKONG_DATABASE_URL": url, "FANGKONG_VAR_DIR": str(var), "FANGKONG_SECRET_KEY": "b" * 40,
           "FANGKONG_REGISTRATION_RATE_LIMIT": str(REQUESTS * 10)}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "fangkong.app:create_app", "--factory", "--host",
                               "127.0.0.1", "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
                               "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        elapsed, latencies, errors = asyncio.run(_drive(base))
    finally:
        server.terminate()
        server.wait(10)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        mine = "FROM arrivals WHERE name LIKE '来人%'"  # not the demo city's own
        arrivals = conn.execute(sa.text(f"SELECT count(*) {mine}")).scalar_one()
        leads = conn.execute(sa.text(f"SELECT count(*) {mine} AND lead_id IS NOT NULL")).scalar_one()
    engine.dispose()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{label:10s} {len(latencies)} arrival forms in {elapsed:.1f} s: {len(latencies) / elapsed:6.0f}/s  "
          f"p50 {p50:5.1f} ms  p99 {p99:6.1f} ms  errors {errors}  saved {arrivals} (of which {leads} leads)  "
          f"({WORKERS} workers, {CONCURRENCY} in flight)")


def main() -> None:
    on_each_backend(bench)


if __name__ == "__main__":
    main()

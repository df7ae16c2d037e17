"""Checkpoint benchmark (issue 3): passages registered per second through the HTTP API, each with three
people and its flags computed, on SQLite and PostgreSQL; p50/p99 latency. Target: ≥ 300/s on
PostgreSQL with p99 under 100 ms on this 2-core machine.

The server runs in its own processes (uvicorn, BENCH_WORKERS workers) and the load comes from an async
client in this process; both share the machine's two cores, so the figures are conservative.
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
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench.backends import on_each_backend

from fangkong.core.codes import check_character
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.settings import load_settings
from fangkong.demo.build import DEMO_PASSWORD, build_demo

REQUESTS = int(os.environ.get("BENCH_PASSAGES", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
AREAS = ["620102", "620103", "420106", "110105", "440106", "510107"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _id(rng: random.Random) -> str:
    born = f"19{rng.randint(50, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}"
    body = f"{rng.choice(AREAS)}{born}{rng.randint(100, 999)}"
    return body + check_character(body)


def _body(rng: random.Random, n: int) -> dict:
    return {"client_id": f"bench-{uuid.uuid4().hex}", "plate": f"{rng.choice('甘鄂京川')}A{n % 100000:05d}",
            "origin": rng.choice(["兰州", "武汉", "西安", "天水"]), "destination": "兰州市城关区", "reason": "返兰",
            "people": [{"name": f"人员{n}-{k}", "id_number": _id(rng),
                        "temperature_c": round(rng.uniform(36.0, 37.6), 1), "disposition": "passed",
                        "role": "driver" if k == 0 else "passenger"} for k in range(3)]}


async def _drive(base: str, token: str, checkpoint: int) -> tuple[float, list[float], int]:
    rng = random.Random(7)
    bodies = [_body(rng, n) for n in range(REQUESTS)]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=30) as client:
        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                r = await client.post(f"/api/v1/checkpoints/{checkpoint}/passages", json=body)
                latencies.append(time.perf_counter() - started)
                errors += r.status_code != 201
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def bench(url: str, label: str, var: Path) -> None:
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url)
    build_demo(db, settings, size=5000, seed=3)
    with db.engine.connect() as conn:
        checkpoint = conn.execute(sa.text("SELECT min(id) FROM checkpoints")).scalar_one()
    db.dispose()
    port = _free_port()
    env = {**os.environ, "FANGKONG_DATABASE_URL": url, "FANGKONG_VAR_DIR": str(var), "FANGKONG_SECRET_KEY": "b" * 40,
           "FANGKONG_ARGON2_MEMORY_KIB": "64", "FANGKONG_ARGON2_TIME_COST": "1"}
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
        token = httpx.post(base + "/api/v1/auth/token",
                           json={"username": "checkpoint", "password": DEMO_PASSWORD}).json()["access_token"]
        elapsed, latencies, errors = asyncio.run(_drive(base, token, checkpoint))
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{label:10s} {len(latencies)} passages × 3 persons in {elapsed:.1f} s: {len(latencies) / elapsed:6.0f}/s  "
          f"p50 {p50:5.1f} ms  p99 {p99:6.1f} ms  errors {errors}  ({WORKERS} workers, {CONCURRENCY} in flight)")


def main() -> None:
    on_each_backend(bench)

if __name__ == "__main__":
    main()

"""Venue check-in benchmark (issue 6): the public POST /v/<code> at rising rates, against PostgreSQL.

The server is uvicorn in a subprocess (BENCH_WORKERS workers, default 2); the load comes from `wrk`
(Debian package `wrk`: `apt-get install -y wrk`; this script tries that when wrk is missing and it
runs as root) with a Lua script that sends a fresh nonce,
phone and device cookie per request, and counts the 200 answers (acknowledged check-ins). After each
step the stored rows of that step are counted: every acknowledged check-in must be in the database.

Target on this 2-core machine: ≥ 1,000 check-ins/s sustained with p99 < 100 ms. The generator, the
server and PostgreSQL share the two cores, so the figures are conservative.
Env: BENCH_STEPS (check-ins in flight per step, default 4,8,16,32,48,64,128), BENCH_SECONDS (per step,
10), BENCH_WORKERS (2), BENCH_CHECKIN_SQLITE=1 to run on SQLite as well.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench.backends import on_each_backend

from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.core.settings import load_settings
from fangkong.demo.build import build_demo
from fangkong.registration.venues.checkin_limits import new_token

# Rising load: each step keeps this many check-ins in flight (closed loop, no think time), so the
# offered rate rises step by step until the server saturates.
STEPS = [int(c) for c in os.environ.get("BENCH_STEPS", "4,8,16,32,48,64,128").split(",")]
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
VENUES = 200

LUA = r"""
local tokens = {%(tokens)s}
local step = os.getenv("BENCH_STEP") or "00"
local threads = {}
counter, acked, refused = 0, 0, 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 100 + tid)
end

function request()
  counter = counter + 1
  local nonce = string.format("b%%s%%02d%%017d", step, tid, counter)
  local phone = string.format("13%%09d", math.random(0, 999999999))
  local body = "nonce=" .. nonce .. "&name=%%E5%%BC%%A0%%E4%%B8%%89&phone=" .. phone
  local device = string.format("d%%s%%02d%%016dx", step, tid, counter)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded",
                   ["Cookie"] = "fk_csrf=benchcsrf; fk_dev=" .. device}
  return wrk.format("POST", "/v/" .. tokens[math.random(#tokens)], headers, body)
end

function response(status, headers, body)
  if status == 200 then acked = acked + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local a, r = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("acked"); r = r + t:get("refused") end
  io.write(string.format('RESULT {"acked": %%d, "refused": %%d, "errors": %%d, "timeouts": %%d, ' ..
    '"p50": %%d, "p99": %%d, "duration_us": %%d}\n', a, r,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status,
    summary.errors.timeout, latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def _wrk() -> str | None:
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _venues(db: Database) -> list[str]:
    tokens = [new_token() for _ in range(VENUES)]
    with db.engine.begin() as conn:
        unit = conn.execute(sa.text("SELECT min(id) FROM units WHERE kind = 'station'")).scalar_one()
        conn.execute(sa.text("INSERT INTO venues (name, kind, address, unit_id, token, active, token_issued_at, "
                             "created_at) VALUES (:n, 'market', '', :u, :t, true, now(), now())"
                             if db.engine.dialect.name == "postgresql" else
                             "INSERT INTO venues (name, kind, address, unit_id, token, active, token_issued_at, "
                             "created_at) VALUES (:n, 'market', '', :u, :t, 1, datetime('now'), datetime('now'))"),
                     [{"n": f"压测场所{i}", "u": unit, "t": t} for i, t in enumerate(tokens)])
    return tokens


def _serve(url: str, var: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "FANGKONG_DATABASE_URL": url, "FANGKONG_VAR_DIR": str(var), "FANGKONG_SECRET_KEY": "b" * 40,
           # one address drives the whole city here: lift the per-IP limit, keep the per-device one
           "FANGKONG_CHECKIN_IP_PER_MINUTE": "10000000", "FANGKONG_CHECKIN_IP_BURST": "1000000"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "fangkong.app:create_app", "--factory", "--host",
                               "127.0.0.1", "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
                               "--no-access-log", "--http", "httptools", "--loop", "uvloop"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    return server, base


def _cpu(pids: list[int]) -> float:
    """Return the CPU seconds (user + system) the given processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _server_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _pg_pids(conn: sa.Connection) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database (the server's pool), not this connection."""
    return list(conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalars())


def _step(wrk: str, script: Path, base: str, index: int, connections: int, seconds: int) -> dict[str, float]:
    env = {**os.environ, "BENCH_STEP": f"{index:02d}"}
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script),
                          base + "/"], env=env, capture_output=True, text=True, check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    return json.loads(line[7:])  # type: ignore[no-any-return]


def bench(url: str, label: str, var: Path) -> None:
    if label == "SQLite" and os.environ.get("BENCH_CHECKIN_SQLITE") != "1":
        return
    wrk = _wrk()
    if wrk is None:
        print("wrk not found: install it with `apt-get install -y wrk` (Debian) and run again")
        return
    upgrade(url)
    settings = load_settings(var_dir=var, database_url=url, secret_key="b" * 40, argon2_memory_kib=64,
                             argon2_time_cost=1, demo=True)
    db = Database(url, audit_key=settings.audit_key)
    build_demo(db, settings, size=2000, seed=3)
    tokens = _venues(db)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA % {"tokens": ", ".join(f'"{t}"' for t in tokens)})
        script = Path(handle.name)
    server, base = _serve(url, var)
    print(f"{label}: {WORKERS} uvicorn workers, wrk -t2, {SECONDS} s per step, {VENUES} venues")
    print(f"{'in flight':>9} {'sustained/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'acked':>7} {'stored':>7} "
          f"{'lost':>5} {'refused':>7} {'errors':>6}   CPU ms per check-in: server + PostgreSQL + wrk")
    try:
        _step(wrk, script, base, 99, 8, 3)  # warm-up: venue caches, pool connections, the writer thread
        costs = []
        for index, connections in enumerate(STEPS, start=1):
            with db.engine.connect() as conn:
                pg_before = {pid: _cpu([pid]) for pid in _pg_pids(conn)}
            servers = _server_pids(server.pid)
            before = (_cpu(servers), resource.getrusage(resource.RUSAGE_CHILDREN))
            r = _step(wrk, script, base, index, connections, SECONDS)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            with db.engine.connect() as conn:  # backends opened during the step count in full
                pg_cpu = sum(max(0.0, _cpu([pid]) - pg_before.get(pid, 0.0))
                             for pid in set(_pg_pids(conn)) | set(pg_before))
            n = max(1, r["acked"])
            cost = ((_cpu(servers) - before[0]) * 1000 / n, pg_cpu * 1000 / n,
                    (after.ru_utime + after.ru_stime - before[1].ru_utime - before[1].ru_stime) * 1000 / n)
            costs.append(cost)
            with db.engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM visits WHERE client_id LIKE :p"),
                                      {"p": f"b{index:02d}%"}).scalar_one()
            seconds = r["duration_us"] / 1e6
            print(f"{connections:>9} {r['acked'] / seconds:11.0f} {r['p50'] / 1000:7.1f} {r['p99'] / 1000:7.1f} "
                  f"{r['acked']:7d} {stored:7d} {max(0, r['acked'] - stored):5d} {r['refused']:7d} "
                  f"{r['errors'] + r['timeouts']:6d}   {cost[0]:.2f} + {cost[1]:.2f} + {cost[2]:.2f}", flush=True)
        busiest = max(costs[len(costs) // 2:], key=sum)
        print(f"on 2 otherwise idle cores that CPU cost allows about {2000 / sum(busiest):.0f} check-ins/s "
              f"({2000 / (busiest[0] + busiest[1]):.0f}/s with the load generator on another machine)")
        time.sleep(2)  # let the requests still in flight when wrk stopped commit
        with db.engine.connect() as conn:  # one snapshot for both counts
            audit_rows, visits = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM audit_log WHERE action = 'checkin'), "
                "(SELECT count(*) FROM visits WHERE client_id LIKE 'b__________%' AND name = '张三')")).one()
        print(f"audit rows for check-ins: {audit_rows} (visits stored: {visits})")
    finally:
        server.terminate()
        server.wait(15)
        script.unlink(missing_ok=True)
        db.dispose()


def main() -> None:
    on_each_backend(bench)


if __name__ == "__main__":
    main()

"""Issue 21: several workers behave as one when FANGKONG_REDIS_URL is set (a shared rate limit, invalidation
that reaches every worker, one scheduler leader). Needs the Redis server this kind of machine runs
(.ci/run starts it); each xdist worker uses a database number of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from fangkong.core.shared import BUS, Bus
from tests.conftest import TEST_AUDIT_KEY

REQUIRE = os.environ.get("FANGKONG_REQUIRE_REDIS") == "1"


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    url = f"redis://127.0.0.1:6379/{10 + int(worker or 0) % 6}"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError:
        if REQUIRE:
            pytest.fail("Redis not reachable at 127.0.0.1:6379 and FANGKONG_REQUIRE_REDIS=1")
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    yield url
    client.flushdb()
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_worker_processes_share_one_rate_limit(settings, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """`fangkong serve --workers 2` with Redis: a client gets the limit once, not once per worker."""
    port, limit = _free_port(), 6
    env = {**os.environ, "FANGKONG_DATABASE_URL": settings.database_url, "FANGKONG_VAR_DIR": str(settings.var_dir),
           "FANGKONG_SECRET_KEY": "t" * 40, "FANGKONG_AUDIT_KEY": TEST_AUDIT_KEY, "FANGKONG_SCHEDULER": "false",
           "FANGKONG_REDIS_URL": redis_url, "FANGKONG_REGISTRATION_RATE_LIMIT": str(limit),
           "FANGKONG_ARGON2_MEMORY_KIB": "64", "FANGKONG_ARGON2_TIME_COST": "1"}
    server = subprocess.Popen([sys.executable, "-m", "fangkong.cli", "serve", "--port", str(port), "--workers", "2",
                               "--no-upgrade"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        answers: list[int] = []

        def send() -> None:  # a new connection each: the kernel spreads them over both workers
            r = httpx.post(base + "/register/gathering/lookup", data={"x": "1"}, timeout=10)
            answers.append(r.status_code)

        threads = [threading.Thread(target=send) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 40
        # the first `limit` are counted and then refused for their missing CSRF token; the rest are limited
        assert sum(1 for s in answers if s != 429) == limit, answers
        assert answers.count(429) == 40 - limit
    finally:
        server.terminate()
        server.wait(15)


def test_invalidation_reaches_the_other_worker(redis_url: str) -> None:
    one, other = Bus(), Bus()
    one.configure(redis_url)
    other.configure(redis_url)
    heard: list[str] = []
    seen = threading.Event()

    class Cache:
        def drop(self, value: str) -> None:
            heard.append(value)
            seen.set()

    cache = Cache()
    other.on("venues", cache.drop)
    other.start()
    try:
        time.sleep(0.3)  # subscribed
        one.invalidate("venues", "code-1")
        assert seen.wait(5), "the other worker never heard of it"
        assert heard == ["code-1"]
    finally:
        other.stop()


def test_one_scheduler_leader_across_workers(redis_url: str) -> None:
    one, other = Bus(), Bus()
    one.configure(redis_url)
    other.configure(redis_url)
    assert one.lead("scheduler", 0.5) is True
    assert other.lead("scheduler", 0.5) is False
    assert one.lead("scheduler", 0.5) is True  # renewed by its holder
    time.sleep(0.7)  # the leader died without resigning: its key expires
    assert other.lead("scheduler", 0.5) is True
    other.resign("scheduler")
    assert one.lead("scheduler", 0.5) is True


def test_without_redis_each_process_counts_for_itself() -> None:
    assert BUS.bucket_take("x", 1, 1.0) is None or BUS.url  # the suite's apps run without Redis
    from fangkong.core.ratelimit import TokenBucket

    limiter = TokenBucket.per_window(2, 60)
    assert [limiter.take("ip") == 0 for _ in range(3)] == [True, True, False]


def test_login_failures_count_across_workers(redis_url: str) -> None:
    """The login throttle's failures (peeked before a password is checked) are shared like the rest."""
    from fangkong.core.ratelimit import TokenBucket

    BUS.configure(redis_url)
    try:
        one, other = (TokenBucket(3, 1 / 900, name="login-fail"), TokenBucket(3, 1 / 900, name="login-fail"))
        assert other.peek("fail|zhang|10.0.0.9") == 0
        for _ in range(3):
            assert one.take("fail|zhang|10.0.0.9") == 0  # two workers
        assert other.peek("fail|zhang|10.0.0.9") > 800  # the other worker sees them: locked ~15 minutes
        assert other.peek("fail|zhang|10.0.0.9") > 800  # looking took nothing
        assert other.peek("fail|li|10.0.0.9") == 0
    finally:
        BUS.configure("")

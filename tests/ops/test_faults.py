"""Issue 21: faults survived. The server runs as a subprocess (`fangkong serve`), is killed with SIGKILL in
the middle of a burst of passages, of check-ins and of a pushed batch, and started again: what it
acknowledged is stored, and clients resending everything (as they do for what was not acknowledged)
double nothing. On PostgreSQL the database then goes away under load (a TCP proxy between the server
and PostgreSQL is cut, so the other tests sharing the server are not disturbed): requests get 503 with
Retry-After (safe to resend), acknowledged writes survive, and the server recovers by itself."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fangkong.checkpoints.models import Checkpoint, Passage
from fangkong.demo.build import DEMO_PASSWORD
from fangkong.leads.models import Lead
from fangkong.registration.venues.models import Venue, Visit
from tests.conftest import TEST_AUDIT_KEY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`fangkong serve` in a subprocess, on a database of the test's."""

    def __init__(self, url: str, var: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "FANGKONG_DATABASE_URL": url, "FANGKONG_VAR_DIR": str(var),
                    "FANGKONG_SECRET_KEY": "t" * 40, "FANGKONG_AUDIT_KEY": TEST_AUDIT_KEY,
                    "FANGKONG_SCHEDULER": "false", "FANGKONG_ARGON2_MEMORY_KIB": "64",
                    "FANGKONG_ARGON2_TIME_COST": "1", "FANGKONG_CHECKIN_IP_PER_MINUTE": "100000",
                    "FANGKONG_CHECKIN_IP_BURST": "100000"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "fangkong.cli", "serve", "--port", str(self.port),
                                         "--no-upgrade"], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


@pytest.fixture
def server(settings) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    found = Server(settings.database_url, settings.var_dir)
    found.start()
    yield found
    found.stop()


def _token(base: str, username: str) -> dict[str, str]:
    r = httpx.post(base + "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _passage(client_id: str) -> dict:  # type: ignore[type-arg]
    return {"client_id": client_id, "plate": "甘A12345", "people": [
        {"name": "压测", "id_number": "11010519491231002X", "temperature_c": 36.5, "role": "driver"}]}


def _burst(send, items: list[str], kill_after: int, kill) -> set[str]:  # type: ignore[no-untyped-def]
    """Send every item on 6 threads; kill the server after `kill_after` acknowledgements; return those
    acknowledged."""
    acknowledged: set[str] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def one(item: str) -> None:
        try:
            if send(item):
                with lock:
                    acknowledged.add(item)
                    if len(acknowledged) >= kill_after and not killed.is_set():
                        killed.set()
                        kill()
        except httpx.HTTPError:
            pass  # the server went away: not acknowledged, the client will send it again

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one, items))
    assert killed.is_set(), "the burst ended before the kill"
    return acknowledged


def test_kill_9_during_a_passage_burst_loses_and_doubles_nothing(server: Server, db) -> None:  # type: ignore[no-untyped-def]
    headers = _token(server.base, "checkpoint")
    with db.sessions() as s:
        checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
    url = f"{server.base}/api/v1/checkpoints/{checkpoint}/passages"

    def send(client_id: str) -> bool:
        return httpx.post(url, json=_passage(client_id), headers=headers, timeout=10).status_code in (200, 201)

    ids = [f"k9-{i:03d}" for i in range(120)]
    acknowledged = _burst(send, ids, 25, server.kill9)
    server.start()
    assert all(send(i) for i in ids)  # every client sends again what it has not seen acknowledged (all here)
    with db.sessions() as s:
        stored = dict(s.execute(select(Passage.client_id, func.count()).where(Passage.client_id.like("k9-%"))
                                .group_by(Passage.client_id)).all())
    assert acknowledged <= set(stored)
    assert set(stored) == set(ids) and set(stored.values()) == {1}


def test_kill_9_during_a_check_in_burst_loses_and_doubles_nothing(server: Server, db) -> None:  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        token = s.execute(select(Venue.token).where(Venue.active.is_(True)).order_by(Venue.id).limit(1)).scalar_one()
    nonces = []
    with httpx.Client(base_url=server.base, timeout=10) as c:
        for _ in range(80):  # each phone opened the page (its nonce) before the burst
            page = c.get(f"/v/{token}")
            nonces.append(re.search(r'name="nonce" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]

    def send(nonce: str) -> bool:
        r = httpx.post(f"{server.base}/v/{token}", data={"nonce": nonce, "name": "扫码人",
                                                          "phone": f"139{nonces.index(nonce):08d}"}, timeout=10)
        return r.status_code == 200

    acknowledged = _burst(send, nonces, 20, server.kill9)
    server.start()
    assert all(send(n) for n in nonces)
    with db.sessions() as s:
        stored = dict(s.execute(select(Visit.client_id, func.count()).where(Visit.client_id.in_(nonces))
                                .group_by(Visit.client_id)).all())
    assert acknowledged <= set(stored)
    assert set(stored) == set(nonces) and set(stored.values()) == {1}


def test_kill_9_during_a_pushed_batch_then_the_batch_again(server: Server, db) -> None:  # type: ignore[no-untyped-def]
    headers = _token(server.base, "command")
    leads = [{"name": f"断电{i}", "phone": f"137{i:08d}", "current_address": "兰州市城关区酒泉路街道庆阳路1号"}
             for i in range(3000)]
    body = {"source": "断电测试", "leads": leads}
    with db.sessions() as s:
        before = s.execute(select(func.count(Lead.id))).scalar_one()
    sent = threading.Thread(target=lambda: _quietly(lambda: httpx.post(server.base + "/api/v1/leads/batches",
                                                                       json=body, headers=headers, timeout=60)))
    sent.start()
    time.sleep(1.0)  # the batch is being taken in
    server.kill9()
    sent.join()
    with db.sessions() as s:
        after_kill = s.execute(select(func.count(Lead.id))).scalar_one() - before
    assert after_kill in (0, 3000), "a batch is taken in whole or not at all"
    server.start()
    r = httpx.post(server.base + "/api/v1/leads/batches", json=body, headers=headers, timeout=120)
    assert r.status_code == 201, r.text
    with db.sessions() as s:
        assert s.execute(select(func.count(Lead.id))).scalar_one() - before == 3000
        assert s.execute(select(func.count(func.distinct(Lead.dedupe_key)))
                         .where(Lead.name.like("断电%"))).scalar_one() == 3000


def _quietly(call) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(httpx.HTTPError):
        call()


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut (every connection dropped, new ones refused)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.open = target, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.open.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.open.clear()
        for pair in self.pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        self.pairs.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_database_outage_under_load_answers_503_and_recovers(settings, db) -> None:  # type: ignore[no-untyped-def]
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a database server to lose: PostgreSQL")
    url = settings.database_url
    host_port = re.search(r"@([^/:]+):(\d+)/", url)
    assert host_port is not None
    proxy = Proxy((host_port.group(1), int(host_port.group(2))))
    proxied = url.replace(f"@{host_port.group(1)}:{host_port.group(2)}/", f"@127.0.0.1:{proxy.port}/")
    server = Server(proxied, settings.var_dir)
    server.start()
    try:
        headers = _token(server.base, "checkpoint")
        with db.sessions() as s:
            checkpoint = s.execute(select(Checkpoint.id).order_by(Checkpoint.id).limit(1)).scalar_one()
        target = f"{server.base}/api/v1/checkpoints/{checkpoint}/passages"
        answers: dict[str, int] = {}

        def send(client_id: str) -> int:
            status = httpx.post(target, json=_passage(client_id), headers=headers, timeout=30).status_code
            answers[client_id] = status
            return status

        for i in range(10):
            assert send(f"pg-a{i}") in (200, 201)
        proxy.cut()
        during = [send(f"pg-b{i}") for i in range(5)]
        assert set(during) == {503}, during  # never a 500: safe to resend
        r = httpx.post(target, json=_passage("pg-c"), headers=headers, timeout=30)
        assert r.status_code == 503 and r.headers.get("retry-after")
        proxy.restore()
        deadline = time.monotonic() + 30
        while send("pg-d") not in (200, 201):  # it recovers by itself
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.5)
        for i in range(5):  # clients resend what was refused
            assert send(f"pg-b{i}") in (200, 201)
        with db.sessions() as s:
            stored = dict(s.execute(select(Passage.client_id, func.count()).where(Passage.client_id.like("pg-%"))
                                    .group_by(Passage.client_id)).all())
        acknowledged = {k for k, v in answers.items() if v in (200, 201)}
        assert acknowledged <= set(stored) and set(stored.values()) == {1}
    finally:
        server.stop()
        proxy.close()

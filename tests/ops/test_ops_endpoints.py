"""Issue 21: /readyz, Prometheus metrics, JSON logs, a client that hangs up is not an error."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient
from sqlalchemy import text

from fangkong.app import create_app
from fangkong.core.logs import JsonFormatter
from tests.support import Personas


def test_readyz_says_ready_then_names_what_is_wrong(client, db) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["schema"].startswith("at 0001")


def test_metrics_need_loopback_or_the_token(settings, db) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"metrics_token": "m" * 32}), db)
    personas = Personas(app)
    personas.browser("command").get("/command/data")  # a request to count
    c = TestClient(app)
    assert c.get("/metrics").status_code == 404  # the test client is no loopback address
    assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    r = c.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
    assert r.status_code == 200
    assert 'fangkong_http_request_duration_seconds_count{method="GET",route="/command/data",status="2xx"}' in r.text
    assert "fangkong_writer_queue_depth" in r.text
    loopback = TestClient(app, client=("127.0.0.1", 5000))
    assert loopback.get("/metrics").status_code == 200


def test_json_log_lines_carry_no_request_values() -> None:
    record = logging.LogRecord("fangkong.web", logging.ERROR, __file__, 1, "unhandled error request_id=%s",
                               ("abc",), None)
    record.request_id = "abc"
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and line["request_id"] == "abc" and line["message"].endswith("abc")


def test_a_client_that_hangs_up_is_not_an_error(app, caplog) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    scope = {"type": "http", "method": "POST", "path": "/login", "raw_path": b"/login", "query_string": b"",
             "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"100")],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "scheme": "http", "root_path": "",
             "http_version": "1.1"}
    sent: list[dict] = []  # type: ignore[type-arg]

    async def receive() -> dict:  # type: ignore[type-arg]
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert any("client went away" in r.getMessage() for r in caplog.records)

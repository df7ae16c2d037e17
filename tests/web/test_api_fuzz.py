"""Every API operation, fuzzed from the app's own OpenAPI schema (schemathesis): no input, however odd,
may cause a server error, and every answer's status is documented for its operation, alone and in sequences
along the links schemathesis infers (stateful). Runs on SQLite as
the command centre (the widest permissions). A second run feeds times at the edges (year 1, year 9999,
naive, a leap day that does not exist, just outside the outbreak) into every date and date-time field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from fangkong.app import create_app
from fangkong.core.db import Database
from fangkong.core.migrate import upgrade
from fangkong.demo.build import DEMO_PASSWORD, build_demo
from tests.conftest import TEST_AUDIT_KEY, make_settings


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{root / 'fuzz.db'}"
    upgrade(url)
    app_settings = make_settings(root, url)
    db = Database(url, audit_key=TEST_AUDIT_KEY)
    build_demo(db, app_settings, size=100, seed=5)
    app = create_app(app_settings, db)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", json={"username": "command", "password": DEMO_PASSWORD})
        app.state.fuzz_headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    yield app
    db.dispose()


def test_no_input_causes_a_server_error(fuzz_app) -> None:  # type: ignore[no-untyped-def]
    # schemathesis's own pytest plugin does not run under pytest 9 yet: drive its strategies directly.
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=fuzz_app.state.fuzz_headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            documented = set(case.operation.definition.raw.get("responses", {}))
            assert str(response.status_code) in documented, f"{where}: undocumented {response.status_code}"
            if response.status_code >= 400:
                kind = response.headers.get("content-type") or [""]
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind.startswith("application/problem+json"), f"{where}: {kind}"

        call()


EDGE_TIMES = ("0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59",
              "2022-02-29T08:00:00+08:00", "2019-11-30T23:59:59+08:00", "2022-03-01T08:00:00", "1970-01-01T00:00:00Z",
              "2022-03-01T08:00:00.999999+08:00")
EDGE_DAYS = ("0001-01-01", "9999-12-31", "2019-11-30", "2022-02-29", "2022-03-01", "1970-01-01")


def _time_fields(schema: dict, resolve) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def, type-arg]
    """Return (name, format) of the date and date-time properties of an object schema (one level)."""
    schema = resolve(schema)
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        for option in [resolve(prop), *[resolve(o) for o in resolve(prop).get("anyOf", [])]]:
            if option.get("format") in ("date", "date-time"):
                found.append((name, option["format"]))
                break
    return found


def _format(schema: dict, resolve) -> str | None:  # type: ignore[no-untyped-def, type-arg]
    return schema.get("format") or next((resolve(o).get("format") for o in schema.get("anyOf", [])
                                         if resolve(o).get("format")), None)


def test_times_at_the_edges_cause_no_server_error(fuzz_app) -> None:  # type: ignore[no-untyped-def]
    doc = fuzz_app.openapi()

    def resolve(node: dict) -> dict:  # type: ignore[type-arg]
        while "$ref" in node:
            node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    tried = 0
    with TestClient(fuzz_app) as client:
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                query = [(p["name"], _format(resolve(p["schema"]), resolve))
                         for p in operation.get("parameters", []) if p["in"] == "query"]
                query = [(n, f) for n, f in query if f in ("date", "date-time")]
                body_schema = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                               .get("schema"))
                body = _time_fields(body_schema, resolve) if body_schema else []
                if not query and not body:
                    continue
                concrete = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
                for name, fmt in query + body:
                    for value in EDGE_TIMES if fmt == "date-time" else EDGE_DAYS:
                        tried += 1
                        if (name, fmt) in query:
                            r = client.request(method.upper(), concrete, params={name: value},
                                               headers=fuzz_app.state.fuzz_headers)
                        else:
                            r = client.request(method.upper(), concrete, json={name: value},
                                               headers=fuzz_app.state.fuzz_headers)
                        where = f"{method.upper()} {concrete} {name}={value}"
                        assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
                        assert str(r.status_code) in operation["responses"], f"{where}: undocumented {r.status_code}"
    assert tried > 50


def test_stateful_sequences_cause_no_server_error(fuzz_app) -> None:  # type: ignore[no-untyped-def]
    """Sequences of calls along the links schemathesis infers (an id from one answer into the next call):
    no server error and no undocumented status in any step."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)
    responses = {f"{op.method.upper()} {op.path}": set(op.definition.raw.get("responses", {}))
                 for op in (r.ok() for r in schema.get_all_operations())}

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"headers": fuzz_app.state.fuzz_headers}

        def validate_response(self, response, case, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(response.status_code)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            documented = responses[f"{case.method.upper()} {case.operation.path}"]
            assert str(response.status_code) in documented, f"{where}: undocumented {response.status_code}"

    calls: list[int] = []
    Workflow.run(settings=settings(max_examples=60, stateful_step_count=6, deadline=None, database=None,
                                   suppress_health_check=list(HealthCheck)))
    assert len(calls) >= 25 and any(c < 400 for c in calls), calls[:20]

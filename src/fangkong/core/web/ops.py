"""Operations endpoints: /readyz for load balancers and orchestrators, /metrics for Prometheus.

/healthz (in shell) says the process answers and reaches its database; /readyz says it should be sent
traffic: the database answers, its schema is at this code's migration head, and the writers run.
/metrics is served to loopback addresses, or to anyone presenting FANGKONG_METRICS_TOKEN as a bearer
token; everyone else gets 404 (the figures carry no personal data, but they are nobody else's business).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fangkong.core.errors import NotFound
from fangkong.core.metrics import REGISTRY

router = APIRouter(include_in_schema=False)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    from fangkong.core.migrate import current_revision, head_revision

    checks: dict[str, str] = {}
    try:
        with request.app.state.db.engine.connect() as conn:
            current = current_revision(conn)
        head = head_revision()
        checks["database"] = "ok"
        checks["schema"] = "ok" if current == head else f"at {current}, code expects {head}"
    except Exception as exc:  # unreachable or refusing: not ready, say why (no secrets in the class name)
        checks["database"] = f"unreachable ({type(exc).__name__})"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    sent = request.headers.get("authorization", "")[7:].strip()
    host = request.client.host if request.client else ""
    if not (_loopback(host) or (token and hmac.compare_digest(sent, token))):
        raise NotFound()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"

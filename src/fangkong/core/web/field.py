"""The installable field app (issue 20): the web app manifest and the service worker of the field pages.

The service worker is one script for the whole origin (scope `/`); what it keeps comes from the
capabilities' `offline` pages and `lookups`, written into the script when it is served, so no list of
capabilities lives here. The passes capability keeps its own worker for `/passes/` (a narrower scope
wins there), and each worker deletes only its own caches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from fangkong.core.i18n import gettext

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent / "static"
THEME = "#0b4f8a"


def worker_script(pages: list[str], lookups: list[str]) -> str:
    """Return the service worker: its settings (with a version that changes when they or the script do) first."""
    body = (STATIC / "field-sw.js").read_text(encoding="utf-8")
    version = hashlib.sha256((body + json.dumps([pages, lookups])).encode()).hexdigest()[:12]
    config = json.dumps({"version": version, "pages": pages, "lookups": lookups}, ensure_ascii=False)
    return f"const FIELD = {config};\n{body}"


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    platform = request.app.state.platform
    pages = sorted({page.prefix for page in platform.offline_pages})
    return Response(worker_script(pages, [path for path, _label in platform.lookups]), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> Response:
    """Return the web app manifest: installable on a phone's home screen, opening on the home page."""
    body = {
        "name": gettext("fangkong · Epidemic prevention and control"), "short_name": gettext("fangkong"),
        "start_url": "/", "scope": "/", "display": "standalone", "background_color": "#ffffff",
        "theme_color": THEME, "lang": "zh-CN",
        "icons": [{"src": f"/static/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png",
                   "purpose": "any maskable"} for n in (192, 512)],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})

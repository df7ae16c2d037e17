"""Logging: plain text for a terminal, or one JSON object per line for a log collector.

Log lines carry no personal data: the code logs ids, counts and exception class names, never names, ID
numbers, phones or request bodies; the JSON line adds the request id so a line can be traced to its
audit rows. A client that hangs up during a request is not an error (uvicorn's own line is kept at
INFO).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["trace"] = self.formatException(record.exc_info)
        for key in ("request_id", "job", "writer"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(fmt: str = "text") -> None:
    """Set the root logger's format once per process (`create_app` and the CLI call it)."""
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT))
    root.handlers = [handler]
    root.setLevel(logging.INFO)

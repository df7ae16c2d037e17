"""Uploads that cannot stop the server (issue 17, finding 4).

A 1,048,576-row workbook and a small workbook declaring a 200 MB shared string are refused from the
archive's directory and a streamed row count, quickly and without the memory openpyxl would take; a
50 MB body to an authenticated endpoint without a login is refused before it is read.
"""

from __future__ import annotations

import asyncio
import io
import time
import tracemalloc
import zipfile

import pytest

from fangkong.core import sheets
from fangkong.core.sheets import SheetError, SheetLimits, check_limits, read_grids
from tests.support import csrf

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 'spreadsheetml.sheet.main+xml"/></Types>')
WORKBOOK = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>')
SHEET_HEAD = '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _xlsx(sheet_xml: bytes, shared: bytes | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def million_rows(dimension: bool) -> bytes:
    """A 1,048,576-row workbook, one number a row (a few MB packed), with or without its <dimension>."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(1, 1_048_577))
    dim = b'<dimension ref="A1:A1048576"/>' if dimension else b""
    return _xlsx(SHEET_HEAD.encode() + dim + b"<sheetData>" + rows + b"</sheetData></worksheet>")


def shared_string_bomb() -> bytes:
    """A small workbook whose one shared string unpacks to 200 MB."""
    body = b"A" * (200 * 1024 * 1024)
    shared = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
              b'uniqueCount="1"><si><t>' + body + b"</t></si></sst>")
    sheet = (SHEET_HEAD + '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>').encode()
    return _xlsx(sheet, shared)


def _refused_quickly(data: bytes, name: str = "big.xlsx") -> tuple[SheetError, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SheetError) as caught:
            read_grids(data, name)
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return caught.value, elapsed, peak


@pytest.mark.parametrize("dimension", [True, False])
def test_a_million_row_workbook_is_refused_before_parsing(dimension: bool) -> None:
    data = million_rows(dimension)
    error, elapsed, peak = _refused_quickly(data)
    assert error.message == sheets.TOO_MANY_ROWS and error.params == {"n": 200_000}
    assert elapsed < 5 and peak < 32 * 1024 * 1024, (elapsed, peak)  # openpyxl took 41-51 s and about 1 GB


def test_a_shared_string_bomb_is_refused_from_the_archive_directory() -> None:
    data = shared_string_bomb()
    assert len(data) < 400 * 1024  # about 200 KB on the wire
    error, elapsed, peak = _refused_quickly(data)
    assert error.message == sheets.TOO_MUCH_UNPACKED
    assert elapsed < 1 and peak < 8 * 1024 * 1024, (elapsed, peak)


def test_too_many_columns_and_csv_rows_are_refused() -> None:
    limits = SheetLimits(max_rows=100, max_columns=10)
    wide = (SHEET_HEAD + '<dimension ref="A1:Z2"/><sheetData/></worksheet>').encode()
    with pytest.raises(SheetError) as caught:
        check_limits(_xlsx(wide), "wide.xlsx", limits)
    assert caught.value.message == sheets.TOO_MANY_COLUMNS
    with pytest.raises(SheetError) as caught:
        check_limits(b"a,b\n" * 200, "long.csv", limits)
    assert caught.value.message == sheets.TOO_MANY_ROWS


def test_the_lead_import_page_answers_the_limit_in_chinese(personas) -> None:
    browser = personas.browser("command")
    r = browser.post("/leads/import", data={"csrf_token": csrf(browser), "source": "上级推送"},
                     files={"file": ("bomb.xlsx", shared_string_bomb(),
                                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert r.status_code == 422
    assert "解压" in r.text or "MB" in r.text


class _Body:
    """An ASGI body sent in 1 MB chunks that records how much of it the server read."""

    def __init__(self, size: int) -> None:
        self.left, self.read = size, 0

    async def receive(self) -> dict[str, object]:
        chunk = min(self.left, 1 << 20)
        self.left -= chunk
        self.read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.left > 0}


def _call(app, path: str, size: int, declared: bool, headers: list[tuple[bytes, bytes]] | None = None):  # type: ignore[no-untyped-def]
    body = _Body(size)
    sent: list[dict[str, object]] = []
    extra = [(b"content-length", str(size).encode())] if declared else []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *extra, *(headers or [])],
             "client": ("127.0.0.1", 1234), "server": ("testserver", 80)}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app(scope, body.receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], dict(start["headers"]), body.read


@pytest.mark.parametrize("declared", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/leads/batches", "/leads/import", "/api/v1/persons"])
def test_a_50_mb_body_without_a_login_is_refused_before_it_is_read(app, path: str, declared: bool) -> None:
    status, headers, read = _call(app, path, 50 * 1024 * 1024, declared)
    if declared:  # refused from the header alone
        assert (status, read) == (413, 0)
        kind = headers[b"content-type"]
        assert kind.startswith(b"application/problem+json" if path.startswith("/api/") else b"text/html")
    else:  # streamed: cut off at the anonymous limit (256 KB, one 1 MB chunk here), or refused unread
        assert status in (401, 403, 413) and read <= 1024 * 1024, (status, read)


def test_a_logged_in_upload_may_be_as_large_as_a_sheet(app) -> None:
    """The same path with a token gets the upload limit (20 MB), not the anonymous one; over it, 413."""
    status, _, read = _call(app, "/api/v1/leads/batches", 50 * 1024 * 1024, True,
                            [(b"authorization", b"Bearer not-checked-yet")])
    assert status == 413 and read == 0
    status, _, _ = _call(app, "/api/v1/leads/batches", 2 * 1024 * 1024, True,
                         [(b"authorization", b"Bearer not-a-token")])
    assert status in (401, 422)  # past the body limit: the app itself answers (bad token, or not JSON)

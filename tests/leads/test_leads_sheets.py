"""The lead sheet reader: messy workbooks and CSV files as upstreams push them, built in memory."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.codes import check_character
from fangkong.core.codes.idnumber import BAD_CHECK, WRONG_LENGTH
from fangkong.core.codes.phones import NOT_MOBILE
from fangkong.core.sheets import BAD_DATE, NO_HEADER, NOT_A_SHEET
from fangkong.leads import sheets
from fangkong.leads.sheets import (
    EXCEL_NUMBER,
    FIELDS,
    NO_IDENTITY,
    OLD_EXCEL,
    PROTECTED,
    UNKNOWN_PERSON,
    SheetError,
    guess_mapping,
    read_sheet,
)

AREAS = ("620102", "620103", "110105", "420106", "440305")


def id_number(area: str = "620102", born: str = "19800101", seq: str = "123") -> str:
    body = area + born + seq
    return body + check_character(body)


ID_A = id_number(seq="123")
ID_B = id_number("110105", "19491231", "002")  # 11010519491231002X, the standard's example
ID_C = id_number("420106", "19900215", "031")
ADDRESS = "甘肃省兰州市城关区酒泉路街道庆阳路18号"
TITLE = "兰州市疫情防控指挥部推送线索（第12批）"


def wide(text: str) -> str:
    """Full-width form of the ASCII characters in text."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def xlsx(rows: list[list[Any]], merges: tuple[str, ...] = (), sheets_before: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    first = book.active
    for name in sheets_before:  # sheets without a header before the data sheet
        first.title = name
        first.append(["填表说明：请按模板填写"])
        first = book.create_sheet("线索")
    if not sheets_before:
        first.title = "线索"
    for row in rows:
        first.append(row)
    for rng in merges:
        first.merge_cells(rng)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["序号", "姓 名", "身份证号 码", "联系电话\n", " 现居住地址 ", "来源地", "推送时间", "线索类型", "紧急程度",
          "备注", "核查民警"]


def messy() -> bytes:
    rows: list[list[Any]] = [
        [TITLE],
        ["数据来源：省指挥部 2020年2月3日"],
        HEADER,
        [1, "张 三", wide(ID_A.lower()), "+86 138-0000-1111", f"  {ADDRESS}\n（出租屋） ", "湖北省武汉市",
         datetime(2020, 2, 3, 14, 30), "密接", "紧急", None, "李警官"],
        [2, "李四", 620102198001011234, "13800002222", ADDRESS, "武汉",
         "2020年2月3日 14:30", "密接", "一般", "身份证存成了数字", None],
        [3, "王五", "6.20102E+17", "13800003333", ADDRESS, "武汉", 43864.5, "次密接", "立即", None, None],
        [4, "赵六", ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1"), "13800004444", ADDRESS, "武汉", "2020/2/3",
         "密接", None, "校验位错", None],
        [],
        [5, "孙七", ID_B, "0931-8888888", ADDRESS, None, "某天", None, "特急", None, None],
        [6, "周八", None, None, ADDRESS, "武汉", None, None, None, "无证件无电话", None],
        [7, None, None, "13800009999", "  ", "/", "2020.2.3", None, "加急", "无", None],
        [1, "张 三", wide(ID_A.lower()), "+86 138-0000-1111", f"  {ADDRESS}\n（出租屋） ", "湖北省武汉市",
         datetime(2020, 2, 3, 14, 30), "密接", "紧急", None, "李警官"],  # the same row again
        [8, None, None, None, None, None, None, None, None, None, None],  # numbered but empty
        ["合计", "8人", None, None, None, None, None, None, None, None, None],
        [None, "制表人：张三", None, None, None, None, None, None, None, None, None],
        [],
        [],
    ]
    return xlsx(rows, merges=("A1:K1", "A2:K2"))


@pytest.fixture(scope="module")
def parsed() -> sheets.ParsedSheet:
    return read_sheet(messy(), "第12批.xlsx")


def rows_by_number(parsed: sheets.ParsedSheet) -> dict[int, sheets.SheetRow]:
    return {r.row: r for r in parsed.rows}


def test_header_is_found_below_merged_title_rows(parsed: sheets.ParsedSheet) -> None:
    assert parsed.sheet_name == "线索"
    assert parsed.header_row == 3
    assert parsed.headers[:5] == ["序号", "姓 名", "身份证号 码", "联系电话", "现居住地址"]
    assert parsed.mapping == {1: "name", 2: "id_number", 3: "phone", 4: "current_address", 5: "origin",
                              6: "pushed_at", 7: "kind", 8: "priority", 9: "note"}
    assert parsed.unmapped == ["序号", "核查民警"]


def test_rows_keep_their_excel_numbers_and_blank_footer_and_empty_rows_are_skipped(parsed: sheets.ParsedSheet) -> None:
    assert [r.row for r in parsed.rows] == [4, 5, 6, 7, 9, 10, 11, 12]
    assert parsed.rows[0].raw[1] == "张 三"  # raw keeps the cells as they were


def test_a_clean_row_is_normalised(parsed: sheets.ParsedSheet) -> None:
    row = rows_by_number(parsed)[4]
    assert row.ok, row.problems
    assert row.values == {
        "name": "张三", "id_number": ID_A, "phone": "13800001111", "current_address": f"{ADDRESS} (出租屋)",
        "origin": "湖北省武汉市", "pushed_at": datetime(2020, 2, 3, 14, 30, tzinfo=LOCAL_TZ), "kind": "密接",
        "priority": "urgent", "note": None,
    }
    assert set(row.values) == set(FIELDS)


def test_repeated_rows_are_both_kept_and_read_alike(parsed: sheets.ParsedSheet) -> None:
    rows = rows_by_number(parsed)
    assert rows[12].values == rows[4].values and rows[12].ok


def test_an_id_number_excel_stored_as_a_number_is_never_accepted(parsed: sheets.ParsedSheet) -> None:
    rows = rows_by_number(parsed)
    for number in (5, 6):  # an 18-digit numeric cell; text in scientific notation
        assert [(p.field, p.message) for p in rows[number].problems] == [("id_number", EXCEL_NUMBER)]
        assert rows[number].values["id_number"] is None
    assert rows[5].values["pushed_at"] == datetime(2020, 2, 3, 14, 30, tzinfo=LOCAL_TZ)
    assert rows[5].values["priority"] == "normal"
    assert rows[6].values["pushed_at"] == datetime(2020, 2, 3, 12, 0, tzinfo=LOCAL_TZ)  # serial 43864.5
    assert rows[6].values["priority"] == "express"


def test_invalid_values_are_row_problems_naming_the_field(parsed: sheets.ParsedSheet) -> None:
    rows = rows_by_number(parsed)
    bad_check = rows[7].problems
    assert [(p.field, p.message, p.params) for p in bad_check] == [("id_number", BAD_CHECK, {"expected": ID_A[-1]})]
    assert rows[7].values["pushed_at"] == datetime(2020, 2, 3, tzinfo=LOCAL_TZ)
    assert {(p.field, p.message) for p in rows[9].problems} == {("phone", NOT_MOBILE), ("pushed_at", BAD_DATE)}
    assert rows[9].values["id_number"] == ID_B and rows[9].values["priority"] == "urgent"
    assert rows[9].ok and {p.field for p in rows[9].flags} == {"phone", "pushed_at"}  # set aside, not refused


def test_a_row_that_names_nobody_is_a_row_problem(parsed: sheets.ParsedSheet) -> None:
    rows = rows_by_number(parsed)
    assert [(p.field, p.message) for p in rows[10].problems] == [("row", UNKNOWN_PERSON)]
    assert [(p.field, p.message) for p in rows[11].problems] == [("row", UNKNOWN_PERSON)]  # a phone, no name
    assert rows[11].values["current_address"] is None and rows[11].values["origin"] is None  # "  " and "/"
    assert rows[11].values["note"] is None and rows[11].values["pushed_at"] == datetime(2020, 2, 3, tzinfo=LOCAL_TZ)


def test_vertically_merged_cells_hold_for_every_row_they_span() -> None:
    rows = [["姓名", "身份证号码", "推送时间", "来源地"],
            ["甲", ID_A, datetime(2020, 2, 3, 21, 0), "武汉"],
            ["乙", ID_B, None, None],
            ["丙", ID_C, None, "孝感"]]
    parsed = read_sheet(xlsx(rows, merges=("C2:C4", "D2:D3")), "x.xlsx")
    assert [r.values["pushed_at"] for r in parsed.rows] == [datetime(2020, 2, 3, 21, 0, tzinfo=LOCAL_TZ)] * 3
    assert [r.values["origin"] for r in parsed.rows] == ["武汉", "武汉", "孝感"]


def test_fifteen_digit_numbers_are_exact_and_become_eighteen() -> None:
    old = ID_B[:6] + ID_B[8:17]  # 110105491231002
    parsed = read_sheet(xlsx([["姓名", "身份证号"], ["甲", int(old)], ["乙", float(old)], ["丙", 1234567]]), "x.xlsx")
    assert [r.values["id_number"] for r in parsed.rows[:2]] == [ID_B, ID_B]
    assert parsed.rows[2].problems[0].message == WRONG_LENGTH  # short numbers are wrong, not "lost digits"


@pytest.mark.parametrize("cell", [620102198001011234, 6.20102198001011e17, 6201021980010112345, "6.20102E+17",
                                  "6.20102e17", "６．２０１０２Ｅ＋１７", "620102198001011000.0", 1234567890123456])
def test_any_number_excel_may_have_rounded_is_flagged(cell: Any) -> None:
    parsed = read_sheet(xlsx([["姓名", "身份证号码", "手机"], ["甲", cell, "13800001111"]]), "x.xlsx")
    assert [(p.field, p.message) for p in parsed.rows[0].problems] == [("id_number", EXCEL_NUMBER)]


@pytest.mark.parametrize(("cell", "expected"), [
    (datetime(2020, 2, 3, 14, 30), datetime(2020, 2, 3, 14, 30)),
    (date(2020, 2, 3), datetime(2020, 2, 3)),
    (43864, datetime(2020, 2, 3)),
    (43864.604166666664, datetime(2020, 2, 3, 14, 30)),
    ("2020年2月3日 14:30", datetime(2020, 2, 3, 14, 30)),
    ("2020年2月3日", datetime(2020, 2, 3)),
    ("2020年2月3日14时30分", datetime(2020, 2, 3, 14, 30)),
    ("2020/2/3", datetime(2020, 2, 3)),
    ("2020-02-03 14:30:00", datetime(2020, 2, 3, 14, 30)),
    ("2020.2.3", datetime(2020, 2, 3)),
    ("２０２０－０２－０３　１４：３０", datetime(2020, 2, 3, 14, 30)),
    ("2020-02-03T06:30:00+00:00", datetime(2020, 2, 3, 14, 30)),
])
def test_dates_as_excel_dates_serials_or_text_are_shanghai_times(cell: Any, expected: datetime) -> None:
    parsed = read_sheet(xlsx([["姓名", "身份证号码", "推送时间"], ["甲", ID_A, cell]]), "x.xlsx")
    value = parsed.rows[0].values["pushed_at"]
    assert value == expected.replace(tzinfo=LOCAL_TZ) and value.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("cell", ["2/3/2020", "昨天", "2020年2月30日", 5, "14:30"])
def test_what_is_not_a_date_is_a_problem_on_pushed_at(cell: Any) -> None:
    parsed = read_sheet(xlsx([["姓名", "身份证号码", "推送时间"], ["甲", ID_A, cell]]), "x.xlsx")
    assert [(p.field, p.message) for p in parsed.rows[0].problems] == [("pushed_at", BAD_DATE)]


@pytest.mark.parametrize(("cell", "expected"), [
    ("紧急", "urgent"), ("加急", "urgent"), ("特急", "urgent"), ("2小时内", "urgent"), ("一般", "normal"),
    ("普通", "normal"), ("非紧急", "normal"), ("当日", "normal"), ("立即", "express"), ("5分钟", "express"),
    ("５分钟内核查", "express"), ("URGENT", "urgent"), ("？", None),
])
def test_priority_words(cell: str, expected: str | None) -> None:
    parsed = read_sheet(xlsx([["姓名", "身份证号码", "紧急程度"], ["甲", ID_A, cell]]), "x.xlsx")
    assert parsed.rows[0].values["priority"] == expected and parsed.rows[0].ok


@pytest.mark.parametrize(("cell", "expected"), [
    ("+86 138 0000 1111", "13800001111"), ("138-0000-1111", "13800001111"), (13800001111, "13800001111"),
    (13800001111.0, "13800001111"), ("１３８００００１１１１", "13800001111"), ("0086 13800001111", "13800001111"),
    ("13800001111/13900002222", "13800001111"), ("13800001111\n", "13800001111"),
])
def test_phones_are_normalised(cell: Any, expected: str) -> None:
    parsed = read_sheet(xlsx([["姓名", "手机号码"], ["甲", cell]]), "x.xlsx")
    assert parsed.rows[0].values["phone"] == expected and parsed.rows[0].ok


@pytest.mark.parametrize(("cell", "expected"), [
    ("张 三", "张三"), ("张　三", "张三"), (" 欧阳 娜娜 ", "欧阳娜娜"), ("买买提.艾力", "买买提·艾力"),
    ("John  Smith", "John Smith"), ("ＬＩ Ｌｅｉ", "LI Lei"), ("张\n三", "张三"),
])
def test_names_lose_typing_noise_only(cell: str, expected: str) -> None:
    parsed = read_sheet(xlsx([["姓名", "身份证号码"], [cell, ID_A]]), "x.xlsx")
    assert parsed.rows[0].values["name"] == expected


def test_name_and_phone_without_an_id_column_is_enough() -> None:
    parsed = read_sheet(xlsx([["姓名", "联系方式", "现住址"], ["甲", "13800001111", ADDRESS]]), "x.xlsx")
    assert parsed.rows[0].ok and parsed.rows[0].values["id_number"] is None


def test_a_repeated_header_inside_the_data_is_skipped() -> None:
    header = ["姓名", "身份证号码", "手机"]
    rows = [header, ["甲", ID_A, "13800001111"], header, ["乙", ID_B, None]]
    parsed = read_sheet(xlsx(rows), "x.xlsx")
    assert [r.row for r in parsed.rows] == [2, 4]


def test_the_first_sheet_with_a_header_is_read() -> None:
    parsed = read_sheet(xlsx([[TITLE], HEADER, [1, "甲", ID_A]], sheets_before=("说明",)), "x.xlsx")
    assert parsed.sheet_name == "线索" and parsed.header_row == 2 and parsed.rows[0].values["id_number"] == ID_A


def test_leading_empty_rows_do_not_shift_row_numbers() -> None:
    parsed = read_sheet(xlsx([[], [], [None, "姓名", "身份证号"], [None, "甲", ID_A]]), "x.xlsx")
    assert parsed.header_row == 3 and parsed.rows[0].row == 4 and parsed.mapping == {1: "name", 2: "id_number"}


# ---------------------------------------------------------------------------------------------- mapping


def test_aliases_with_stray_spaces_full_width_and_notes_in_brackets() -> None:
    headers = ["1.姓名", "公民身份号码（18位）", "手机号码*", "现住地址：", "来兰前所在地", "下发时间", "类型",
               "优先级", "说明", "ＩＤ（旧）"]
    assert guess_mapping(headers) == {0: "name", 1: "id_number", 2: "phone", 3: "current_address", 4: "origin",
                                      5: "pushed_at", 6: "kind", 7: "priority", 8: "note"}  # one column per field
    assert guess_mapping(["身份证号（旧）", "身份证号", "Name"]) == {1: "id_number", 2: "name"}  # exact names first


def test_a_remembered_mapping_takes_precedence() -> None:
    headers = ["证件号码", "人员编号", "联系人电话", "电话"]
    assert guess_mapping(headers) == {0: "id_number", 3: "phone"}
    remembered = {"人员编号": "id_number", "联系人 电话": "phone", "证件号码": ""}
    assert guess_mapping(headers, remembered) == {1: "id_number", 2: "phone"}


def test_read_sheet_uses_the_remembered_mapping() -> None:
    data = xlsx([["人员", "编号", "号码"], ["甲", ID_A, "13800001111"]])
    with pytest.raises(SheetError):
        read_sheet(data, "x.xlsx")
    parsed = read_sheet(data, "x.xlsx", {"人员": "name", "编号": "id_number", "号码": "phone"})
    assert parsed.rows[0].ok and parsed.rows[0].values["id_number"] == ID_A


# ---------------------------------------------------------------------------------------------- CSV


def csv_bytes(encoding: str, delimiter: str = ",") -> bytes:
    lines = [TITLE, "", delimiter.join(["姓名", "身份证号码", "联系电话", "推送时间", "现住址"]),
             delimiter.join(["张 三", wide(ID_A.lower()), "+86 138-0000-1111", "2020年2月3日 14:30", f'"{ADDRESS}"']),
             delimiter.join(["李四", "6.20102E+17", "13800002222", "2020/2/3", "兰州市, 城关区"]), "", ""]
    return "\r\n".join(lines).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_utf8_with_bom_or_gb18030(encoding: str) -> None:
    parsed = read_sheet(csv_bytes(encoding), "第12批.csv")
    assert parsed.sheet_name is None and parsed.header_row == 3
    first, second = parsed.rows
    assert first.ok and first.row == 4 and first.values["id_number"] == ID_A and first.values["name"] == "张三"
    assert first.values["pushed_at"] == datetime(2020, 2, 3, 14, 30, tzinfo=LOCAL_TZ)
    assert [p.message for p in second.problems] == [EXCEL_NUMBER]


def test_tab_separated_unicode_text_as_excel_saves_it() -> None:
    parsed = read_sheet(csv_bytes("utf-16", "\t"), "x.txt")
    assert parsed.rows[0].ok and parsed.rows[0].values["phone"] == "13800001111"


# ---------------------------------------------------------------------------------------------- bad files


def test_not_a_spreadsheet() -> None:
    for data, name in [(b"garbage", "x.xlsx"), (b"PK\x03\x04garbage", "x.xlsx"), (b"%PDF-1.4", "x.pdf"),
                       (zipfile_with("hello.txt"), "x.xlsx")]:
        with pytest.raises(SheetError) as err:
            read_sheet(data, name)
        assert err.value.message == NOT_A_SHEET and isinstance(err.value, ValueError)


def zipfile_with(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "x")
    return out.getvalue()


def test_old_excel_and_password_protected_workbooks_say_so() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600
    with pytest.raises(SheetError) as err:
        read_sheet(ole, "x.xls")
    assert err.value.message == OLD_EXCEL
    with pytest.raises(SheetError) as err:
        read_sheet(ole + "EncryptionInfo".encode("utf-16-le"), "x.xlsx")
    assert err.value.message == PROTECTED


def test_no_header_within_fifteen_rows() -> None:
    with pytest.raises(SheetError) as err:
        read_sheet(xlsx([[TITLE], ["a", "b"], [1, 2]]), "x.xlsx")
    assert err.value.message == NO_HEADER
    late = [[f"说明第{i}行"] for i in range(15)] + [["姓名", "身份证号码"], ["甲", ID_A]]
    with pytest.raises(SheetError):
        read_sheet(xlsx(late), "x.xlsx")
    with pytest.raises(SheetError):
        read_sheet(b"", "x.csv")


def test_a_sheet_that_cannot_identify_anyone() -> None:
    with pytest.raises(SheetError) as err:
        read_sheet(xlsx([["姓名", "现住址", "备注"], ["甲", ADDRESS, ""]]), "x.xlsx")
    assert err.value.message == NO_IDENTITY


# ---------------------------------------------------------------------------------------------- the two xlsx readers


def hand_made_xlsx() -> bytes:
    """A workbook as Excel writes it: shared strings (with a phonetic run), a date style, a Chinese date format."""
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {main} xmlns:r="{rel}"><sheets>'
        '<sheet name="推送" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{rel}/styles" Target="/xl/styles.xml"/></Relationships>',
        "xl/sharedStrings.xml": f'<sst {main} count="5" uniqueCount="5">'
        f"<si><t>{TITLE}</t></si><si><t>姓名</t></si><si><t>身份证号码</t></si>"
        '<si><r><t>推送</t></r><r><t>时间</t></r><rPh sb="0" eb="2"><t>tuisong</t></rPh></si>'
        f"<si><t>张 三</t></si><si><t>{ID_A}</t></si></sst>",
        "xl/styles.xml": f'<styleSheet {main}><numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy/m/d h:mm"/>'
        '</numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/><xf numFmtId="31"/>'
        "</cellXfs></styleSheet>",
        "xl/worksheets/sheet1.xml": f"<worksheet {main}><sheetData>"
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2" t="s"><v>2</v></c><c r="C2" t="s"><v>3</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>4</v></c><c r="B3" t="s"><v>5</v></c><c r="C3" s="2"><v>43864.5</v></c></row>'
        '<row r="5"><c r="A5" t="inlineStr"><is><t>李四</t></is></c><c r="B5"><v>6.20102198001011E+17</v></c>'
        '<c r="C5" s="1"><v>43864</v></c></row>'
        '<row r="6"><c t="str"><v>王五</v></c><c t="e"><v>#N/A</v></c><c s="3"><v>43865</v></c></row>'
        '</sheetData><mergeCells count="1"><mergeCell ref="A1:C1"/></mergeCells></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def test_a_workbook_as_excel_writes_it_shared_strings_and_date_styles() -> None:
    parsed = read_sheet(hand_made_xlsx(), "x.xlsx")
    assert parsed.sheet_name == "推送" and parsed.header_row == 2
    assert parsed.headers == ["姓名", "身份证号码", "推送时间"]
    first, second, third = parsed.rows
    assert first.row == 3 and first.ok and first.values["name"] == "张三" and first.values["id_number"] == ID_A
    assert first.values["pushed_at"] == datetime(2020, 2, 3, 12, tzinfo=LOCAL_TZ)
    assert first.raw[2] == datetime(2020, 2, 3, 12)  # a date-styled cell is a date
    # the number Excel cut still carries the birth date: with the name it identifies someone (issue 21)
    assert second.row == 5 and second.ok and [p.message for p in second.flags] == [EXCEL_NUMBER]
    assert second.values["birth_date"] == date(1980, 1, 1)
    assert second.values["pushed_at"] == datetime(2020, 2, 3, tzinfo=LOCAL_TZ)
    # A cell in Chinese Excel's built-in 年月日 format: openpyxl gives its serial; the date column reads it as a date.
    assert third.row == 6 and third.values["name"] == "王五"
    assert third.values["pushed_at"] == datetime(2020, 2, 4, tzinfo=LOCAL_TZ)
    assert [p.field for p in third.problems] == ["row"]  # #N/A is an empty cell, and 王五 has no phone


# ---------------------------------------------------------------------------------------------- properties

ids = st.builds(id_number, st.sampled_from(AREAS),
                st.dates(date(1930, 1, 1), date(2015, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
                st.integers(0, 999).map(lambda n: f"{n:03d}"))
noise = st.sampled_from(["", " ", "\u3000", "\t", "\n", "\xa0"])


@settings(max_examples=150, deadline=None)
@given(ids, st.data())
def test_any_valid_id_with_width_spacing_and_case_noise_normalises_back(number: str, data: st.DataObject) -> None:
    noisy = ""
    for char in number.lower():
        noisy += data.draw(noise) + (wide(char) if data.draw(st.booleans()) else char)
    noisy += data.draw(noise)
    assert sheets._id_number(noisy) == number


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "+86 ", "0086", "86"]),
       st.sampled_from(["", " ", "-"]), st.booleans())
def test_any_mobile_with_prefix_separators_and_width_normalises_back(number: str, prefix: str, sep: str,
                                                                     full_width: bool) -> None:
    text = prefix + sep.join([number[:3], number[3:7], number[7:]])
    assert sheets._phone(wide(text) if full_width else text) == number


@settings(max_examples=100, deadline=None)
@given(st.lists(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=4),
       st.lists(noise, min_size=4, max_size=4))
def test_chinese_names_lose_any_spacing(chars: list[str], gaps: list[str]) -> None:
    noisy = gaps[0] + "".join(c + g for c, g in zip(chars, gaps[1:] + [""] * 4, strict=False))
    assert sheets._name(noisy) == "".join(chars)

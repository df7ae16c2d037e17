"""Set up a real city on an empty database: its unit tree from the GB/T 2260 codes (the city bureau, a
sub-bureau per district or county, the health commission), its stations and the streets and towns
they own from a CSV, and the first administrator. Idempotent by unit code: running it again adds what
is missing and changes nothing else."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.codes import children, lookup_area
from fangkong.core.errors import FieldError, ValidationFailed
from fangkong.core.i18n import N_
from fangkong.core.models import Role, Unit, UnitArea, UnitKind
from fangkong.core.settings import Settings
from fangkong.core.units import UserInput, create_user_unchecked

MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_STATIONS = 5000
STATION_HEADERS = {"station": ("派出所", "单位", "station", "name"),
                   "county": ("区县代码", "区县", "分局", "county", "district", "county_code"),
                   "areas": ("辖区街道", "街道乡镇", "辖区", "areas", "streets")}
NOT_A_CITY = N_("{code} is not a prefecture-level city (or a municipality) in GB/T 2260.")
BAD_CSV = N_("Row {row}: {problem}")


@dataclass
class SetupResult:
    city: Unit | None = None
    districts: int = 0
    stations: int = 0
    areas: int = 0
    admin: str | None = None
    added: list[str] = field(default_factory=list)


def _unit(session: Session, result: SetupResult, code: str, name: str, kind: str, parent: Unit | None,
          area_code: str | None) -> Unit:
    found = session.execute(select(Unit).where(Unit.code == code)).unique().scalar_one_or_none()
    if found is not None:
        return found
    unit = Unit(name=name, code=code, kind=kind, parent_id=parent.id if parent else None, area_code=area_code,
                path="")
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    result.added.append(name)
    return unit


def _district_name(county: str) -> str:
    return f"{county[:-1]}分局" if county.endswith("区") else f"{county}公安局"


def setup_city(session: Session, settings: Settings, city_code: str, stations_csv: bytes | None = None,
               admin_username: str = "", admin_password: str = "") -> SetupResult:
    """Build (or complete) the unit tree of the city and create the first administrator."""
    city = lookup_area(city_code.strip())
    if city is None or not city.current or city.level == "county" or \
            (city.level == "province" and not city.name.endswith("市")):
        raise ValidationFailed.one("city", NOT_A_CITY, code=city_code)
    result = SetupResult()
    top = result.city = _unit(session, result, city.code, f"{city.name}公安局", UnitKind.CITY, None, city.code)
    _unit(session, result, f"{city.code}-WJW", f"{city.name}卫生健康委员会", UnitKind.AGENCY, top, None)
    districts = {}
    for county in children(city.code):
        if county.level != "county":
            continue
        districts[county.code] = _unit(session, result, county.code, _district_name(county.name),
                                       UnitKind.DISTRICT, top, county.code)
        districts[county.name] = districts[county.code]
        districts[_district_name(county.name)] = districts[county.code]
    result.districts = len({u.id for u in districts.values()})
    if stations_csv:
        _stations(session, result, districts, stations_csv)
    if admin_username:
        user = create_user_unchecked(session, settings, UserInput(
            username=admin_username, display_name="系统管理员", role=Role.ADMIN, unit_id=top.id,
            password=admin_password))
        result.admin = user.username
    return result


def _stations(session: Session, result: SetupResult, districts: dict[str, Unit], data: bytes) -> None:
    if len(data) > MAX_CSV_BYTES:
        raise ValidationFailed.one("stations", N_("The file is larger than {mb} MB."), mb=MAX_CSV_BYTES // 2**20)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or len(rows) > MAX_STATIONS + 1:
        raise ValidationFailed.one("stations", N_("Give a header row and at most {n} stations."), n=MAX_STATIONS)
    header = [h.strip().lower() for h in rows[0]]
    index = {key: next((i for i, h in enumerate(header) if h in aliases), None)
             for key, aliases in STATION_HEADERS.items()}
    if index["station"] is None or index["county"] is None:
        raise ValidationFailed.one("stations", N_("The header needs a station column (派出所) and a district "
                                                  "column (区县代码 or 分局)."))
    errors: list[FieldError] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        name, county = cells[index["station"]].strip(), cells[index["county"]].strip()
        if not name and not county:
            continue
        district = districts.get(county)
        if not name or district is None:
            problem = f"{name or '?'} / {county or '?'}"
            errors.append(FieldError("stations", BAD_CSV, {"row": number, "problem": problem}))
            continue
        station = _unit(session, result, f"{district.code}-{name}"[:32], name, UnitKind.STATION, district, None)
        result.stations += 1
        streets = cells[index["areas"]] if index["areas"] is not None else ""
        have = {a.name for a in station.areas}
        for street in (s.strip() for s in streets.replace("、", ";").replace("，", ";").replace(",", ";")
                       .split(";")):
            if street and street not in have:
                session.add(UnitArea(unit_id=station.id, area_code=district.area_code or "", name=street))
                have.add(street)
                result.areas += 1
    if errors:
        raise ValidationFailed(errors)
    session.flush()

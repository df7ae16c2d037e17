"""The platform's stays into the store: a day's part is rewritten on change, left alone when unchanged,
and old days are written once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from fangkong.core.clock import LOCAL_TZ
from fangkong.core.presence import PresenceRecord
from fangkong.tracing import engine
from fangkong.tracing.store import PresenceStore
from fangkong.tracing.sync import days_to_sync, person_file_id, platform_key, sync_platform

TODAY = date(2022, 3, 10)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


class FakeSource:
    def __init__(self) -> None:
        self.records: list[PresenceRecord] = []
        self.asked: list[datetime] = []

    def __call__(self, session: object, start: datetime, end: datetime) -> list[PresenceRecord]:
        self.asked.append(start)
        return [r for r in self.records if start <= r.t_in < end]  # type: ignore[operator]


def test_sync_rewrites_open_days_and_writes_old_days_once(tmp_path: Path) -> None:
    store, source = PresenceStore(tmp_path / "s"), FakeSource()
    source.records = [PresenceRecord(1, "venue:1", "venue", at(TODAY, 9), at(TODAY, 10), "checkin"),
                      PresenceRecord(2, "venue:1", "venue", at(TODAY, 9), at(TODAY, 11), "checkin"),
                      PresenceRecord(3, "venue:2", "venue", at(TODAY - timedelta(days=5), 9),
                                     at(TODAY - timedelta(days=5), 10), "checkin")]
    first = sync_platform(None, store, [source], today=TODAY, horizon_days=7)  # type: ignore[arg-type]
    assert len(first.days) == 8 and first.records == 3
    assert days_to_sync(store, TODAY, 7) == [TODAY - timedelta(days=1), TODAY]
    parts = store._manifest()["parts"]
    again = sync_platform(None, store, [source], today=TODAY, horizon_days=7)  # type: ignore[arg-type]
    assert again.records == 0 and store._manifest()["parts"] == parts  # unchanged: no new part, no rebuild
    source.records[1] = PresenceRecord(2, "venue:1", "venue", at(TODAY, 9), at(TODAY, 9), "checkin")  # checked out
    sync_platform(None, store, [source], today=TODAY, horizon_days=7)  # type: ignore[arg-type]
    ix = store.snapshot()
    assert ix.records == 3  # the day's part replaced, not added to
    stays = engine.trajectory(ix, platform_key(2))
    assert [(s.t_in, s.t_out) for s in stays] == [(int(at(TODAY, 9).timestamp()),) * 2]


def test_platform_keys_never_collide_with_imported_keys() -> None:
    assert person_file_id(platform_key(42)) == 42
    assert person_file_id(42) is None and person_file_id("42") is None and person_file_id("p:x") is None

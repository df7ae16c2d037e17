"""The API's group commit for passages (issue 3): concurrent requests share a transaction, yet each keeps
its own answer, its own errors and its own actor in the audit log; nothing acknowledged is lost."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from fangkong.checkpoints import passages, service
from fangkong.checkpoints.models import Checkpoint, CheckpointPost, Passage, PassagePerson
from fangkong.checkpoints.writer import passage_writer
from fangkong.core.audit import AuditEntry, verify_chain
from fangkong.core.codes import check_character
from fangkong.core.context import Actor
from fangkong.core.errors import Conflict, NotFound, ValidationFailed
from fangkong.core.models import User
from fangkong.people.models import Person


def _id(prefix17: str) -> str:
    return prefix17 + check_character(prefix17)


def _ids(db):  # type: ignore[no-untyped-def]
    with db.sessions() as s:
        checkpoints = s.execute(select(Checkpoint.id).order_by(Checkpoint.id)).scalars().all()
        officer = s.execute(select(User).where(User.username == "checkpoint")).unique().scalar_one()
        s.expunge(officer)
    return checkpoints, officer


def _passage(client_id: str, id_number: str, temperature: float = 36.6) -> service.PassageInput:
    return service.PassageInput(client_id=client_id, plate="甘A12345", people=[
        service.PersonInput(name="王五", id_number=id_number, temperature_c=temperature, role="driver",
                            override_reason="核实后放行")])


def test_a_batch_answers_each_request_on_its_own(db) -> None:  # type: ignore[no-untyped-def]
    checkpoints, officer = _ids(db)
    cp = checkpoints[0]
    one, two = _id("62010219800101001"), _id("62010219800101002")
    with db.sessions() as s, s.begin():
        s.add(officer)
        first = passages.register_passages(s, [passages.PassageRequest(officer, cp, _passage("gc-0", one),
                                                                       Actor(username="tablet-0"))])
    assert first[0][1] is True
    actors = [Actor(username=f"tablet-{i}", request_id=f"req-{i}") for i in range(7)]
    batch = [
        _passage("gc-1", one),                       # fine: an existing file
        _passage("gc-2", one[:-1] + ("0" if one[-1] != "0" else "1")),  # a wrong check digit
        _passage("gc-3", two),                       # fine: a new file
        _passage("gc-3", two),                       # a double tap of the one before
        _passage("gc-0", one),                       # a retry of a passage already stored
        _passage("gc-4", two, temperature=38.2),     # the same new person again, with fever
    ]
    requests = [passages.PassageRequest(officer, cp, data, actor) for data, actor in zip(batch, actors, strict=False)]
    requests.append(passages.PassageRequest(officer, 10**9, _passage("gc-5", one), actors[6]))  # not posted there
    with db.sessions() as s, s.begin():
        s.add(officer)
        out = passages.register_passages(s, requests)
    assert [type(o).__name__ if isinstance(o, Exception) else o[1] for o in out] == \
        [True, "ValidationFailed", True, False, False, True, "NotFound"]
    assert isinstance(out[1], ValidationFailed) and isinstance(out[6], NotFound)
    assert out[3][0].id == out[2][0].id and out[4][0].id == first[0][0].id
    assert out[5][0].people[0].flags == "fever"
    with db.sessions() as s:
        stored = {c: pid for c, pid in s.execute(select(Passage.client_id, Passage.id).where(
            Passage.client_id.like("gc-%")))}
        assert sorted(stored) == ["gc-0", "gc-1", "gc-3", "gc-4"]
        assert s.execute(select(func.count()).select_from(Person).where(Person.id_number == two)).scalar_one() == 1
        people = s.execute(select(PassagePerson.person_id).where(PassagePerson.passage_id.in_(
            [stored["gc-3"], stored["gc-4"]]))).scalars().all()
        assert len(people) == 2 and len(set(people)) == 1
        who = dict(s.execute(select(AuditEntry.object_id, AuditEntry.username).where(
            AuditEntry.object_type == "passages", AuditEntry.object_id.in_([str(v) for v in stored.values()]))).all())
        assert who == {str(stored["gc-1"]): "tablet-0", str(stored["gc-3"]): "tablet-2",
                       str(stored["gc-4"]): "tablet-5", str(stored["gc-0"]): "tablet-0"}
        assert verify_chain(s).ok


def test_a_client_id_used_at_another_checkpoint_conflicts_in_a_batch(db) -> None:  # type: ignore[no-untyped-def]
    checkpoints, officer = _ids(db)
    with db.sessions() as s, s.begin():
        posted = set(s.execute(select(CheckpointPost.checkpoint_id).where(CheckpointPost.user_id == officer.id))
                     .scalars())
        other = next(c for c in checkpoints if c != checkpoints[0])
        if other not in posted:
            s.add(CheckpointPost(checkpoint_id=other, user_id=officer.id))
        if checkpoints[0] not in posted:
            s.add(CheckpointPost(checkpoint_id=checkpoints[0], user_id=officer.id))
    with db.sessions() as s, s.begin():
        s.add(officer)
        same = _passage("gc-x", _id("62010219800101003"))
        out = passages.register_passages(s, [passages.PassageRequest(officer, cp, same, Actor(username="tablet"))
                                             for cp in (checkpoints[0], other)])
    assert out[0][1] is True and isinstance(out[1], Conflict)


def test_concurrent_api_passages_are_grouped_and_none_is_lost(app, db, personas) -> None:  # type: ignore[no-untyped-def]
    checkpoints, _officer = _ids(db)
    headers = personas.headers("checkpoint")
    n = 60

    async def drive() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            async def one(i: int) -> int:
                body = {"client_id": f"gca-{i % n}", "plate": "甘A00001", "people": [
                    {"name": f"乘客{i % n}", "id_number": _id(f"62010219900101{i % n:03d}"), "temperature_c": 36.5}]}
                r = await c.post(f"/api/v1/checkpoints/{checkpoints[0]}/passages", json=body, headers=headers)
                return r.status_code
            return await asyncio.gather(*(one(i) for i in range(2 * n)))  # every passage twice, all at once

    codes = asyncio.run(drive())
    writer = passage_writer(app)
    writer.close()
    assert sorted(set(codes)) in ([200, 201], [201]) and codes.count(201) == n
    with db.sessions() as s:
        stored = s.execute(select(func.count()).select_from(Passage).where(Passage.client_id.like("gca-%"))
                           ).scalar_one()
        assert stored == n and verify_chain(s).ok
    assert writer.batches < n


def test_a_passage_the_writer_could_not_commit_is_a_503_problem(app, db, personas, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    checkpoints, _officer = _ids(db)
    writer = passage_writer(app)

    def broken(session, requests):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "write", broken)
    r = personas.browser("checkpoint").post(f"/api/v1/checkpoints/{checkpoints[0]}/passages",
                                            headers=personas.headers("checkpoint"),
                                            json={"client_id": "gc-503", "people": [
                                                {"name": "赵六", "id_number": _id("62010219800101004"),
                                                 "temperature_c": 36.4}]})
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("not-saved")
    with db.sessions() as s:
        assert s.execute(select(func.count()).select_from(Passage).where(Passage.client_id == "gc-503")
                         ).scalar_one() == 0


def test_the_fast_path_answers_as_the_route_does(app, db, personas, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first request of a token goes through the app (which verifies and caches the token); the next
    ones through the fast path: same status, body shape, errors and headers."""
    from fangkong.checkpoints import api
    from fangkong.core.auth import forget_tokens

    checkpoints, _officer = _ids(db)
    served: list[bool] = []
    real = api.verified_token_user

    def spy(url: str, token: str):  # type: ignore[no-untyped-def]
        user = real(url, token)
        served.append(user is not None)
        return user

    monkeypatch.setattr(api, "verified_token_user", spy)
    client, url = personas.browser("checkpoint"), f"/api/v1/checkpoints/{checkpoints[0]}/passages"
    headers = personas.headers("checkpoint")
    forget_tokens()

    def post(body: object, who: dict[str, str] = headers):  # type: ignore[no-untyped-def]
        return client.post(url, json=body, headers=who)

    body = {"client_id": "fast-1", "plate": "甘A12345", "people": [
        {"name": "王五", "id_number": _id("62010219800101005"), "temperature_c": 37.9, "disposition": "referred"}]}
    slow, fast, again = post(body), post({**body, "client_id": "fast-2"}), post(body)
    assert served == [False, True, True]
    assert (slow.status_code, fast.status_code, again.status_code) == (201, 201, 200)
    assert slow.json().keys() == fast.json().keys() and again.json()["id"] == slow.json()["id"]
    assert fast.json()["people"][0]["flags"] == ["fever"] and fast.json()["people"][0]["id_number"].count("*") > 0
    for r in (slow, fast):
        assert r.headers["cache-control"] == "no-store" and r.headers["x-request-id"]
        assert "content-security-policy" in r.headers and r.headers["x-content-type-options"] == "nosniff"
    good = _id("62010219800101006")
    digit = "1" if good[-1] == "0" else "0"
    wrong = {"client_id": "fast-3", "people": [{"name": "王五", "id_number": good[:-1] + digit, "temperature_c": 50}]}
    bad = post(wrong)
    forget_tokens()
    bad_slow = post(wrong)
    assert bad.status_code == bad_slow.status_code == 422
    assert bad.json()["errors"] == bad_slow.json()["errors"] and len(bad.json()["errors"]) == 2
    shape = post({"client_id": "fast-4", "people": [{"name": "王五", "temperature_c": "hot"}]})
    assert shape.status_code == 422 and shape.json()["errors"][0]["field"] == "people.0.temperature_c"
    huge = post({"client_id": "fast-5", "people": [{"name": "王" * 50}] * 60, "reason": "x" * 100,
                 "padding": "y" * 200_000})
    assert huge.status_code == 413 and huge.headers["content-type"].startswith("application/problem+json")
    command = personas.headers("command")
    post(body, command)  # verifies and caches the command user's token
    refused = post(body, command)
    assert served[-1] is True and refused.status_code == 403
    with db.sessions() as s:
        stored = s.execute(select(Passage.client_id).where(Passage.client_id.like("fast-%"))).scalars().all()
    assert sorted(stored) == ["fast-1", "fast-2"]

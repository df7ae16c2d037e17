"""Person file API (JSON): search, open, reveal, create."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fangkong.core.access import PERSON_MERGE, PERSON_REVEAL, PERSON_WRITE
from fangkong.core.web.params import BodyId, Id, PageNo
from fangkong.core.web.work import guard, work
from fangkong.people import merging, review, service
from fangkong.people.service import PersonInput, PersonView

router = APIRouter(prefix="/api/v1/persons", tags=["person files"], dependencies=[guard()])


class PersonOut(BaseModel):
    id: int
    name: str
    id_number: str | None = Field(description="Masked unless revealed")
    doc_type: str | None
    doc_number: str | None
    phone: str | None = Field(description="Masked unless revealed")
    sex: str | None
    birth_date: date | None = Field(description="Only when revealed")
    age_band: str = Field(description="Ten-year age band, e.g. 30–39 (shown instead of the birth date)")
    current_address: str | None
    household_address: str | None
    unit_id: int
    unit_name: str
    revealed: bool

    @classmethod
    def of(cls, view: PersonView) -> PersonOut:
        return cls(**view.__dict__)


class PersonPage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    pages: int


class PersonIn(BaseModel):
    name: str = Field(max_length=100)
    id_number: str = Field("", max_length=40, description="Resident ID (GB 11643); 15 or 18 characters")
    doc_type: str = Field("", max_length=40, description="For non-residents: passport, hk_macau_permit, …")
    doc_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=40)
    current_address: str = Field("", max_length=400)
    household_address: str = Field("", max_length=400)
    unit_id: BodyId | None = Field(None, description="Jurisdiction unit; default: your own unit")


class RevealIn(BaseModel):
    purpose: str = Field(max_length=255, description="Why the full numbers are needed; recorded in the audit log")


@router.get("", response_model=PersonPage)
def search(request: Request, q: str = "", page: PageNo = 1) -> PersonPage:
    """Search person files in your jurisdiction by name, ID number or phone (numbers masked)."""
    with work(request) as w:
        result = service.search_persons(w.session, w.user, q, page, request.app.state.settings.page_size)
    found = result.found
    return PersonPage(items=[PersonOut.of(p) for p in found.rows], total=found.total, page=found.page,
                      pages=found.pages)


@router.post("", response_model=PersonOut, status_code=201, dependencies=[guard(PERSON_WRITE)])
def create(request: Request, body: PersonIn) -> PersonOut:
    """Create a person file; every field is validated and nothing is written on error."""
    with work(request) as w:
        person = service.create_person(w.session, w.user, PersonInput(**body.model_dump()))
        view = service.PersonView.of(person)
    return PersonOut.of(view)


class PairOut(BaseModel):
    id: int
    score: float
    reasons: list[str] = Field(description="Rules that matched: name_exact, birth_exact, address_same, …")
    status: str
    created_at: datetime
    left: PersonOut = Field(description="The older file; it survives when the pair is accepted")
    right: PersonOut


class PairPage(BaseModel):
    items: list[PairOut]
    total: int
    page: int
    pages: int


class MergeOut(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    merged_name: str
    reason: str
    merged_at: datetime
    merged_by: str
    moved: dict[str, int] = Field(description="Records re-pointed to the surviving file, per table.column")
    unmerged_at: datetime | None
    unmerged_by: str | None
    unmerge_reason: str | None

    @classmethod
    def of(cls, record: object) -> MergeOut:
        view = record if isinstance(record, merging.MergeView) else merging.MergeView.of(record)  # type: ignore[arg-type]
        return cls(**view.__dict__)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=500, description="Why; recorded with the merge")


class MergeIn(BaseModel):
    merged_id: BodyId = Field(description="The file to merge into this one (it is removed; un-merge restores it)")
    reason: str = Field(max_length=500)


@router.get("/review", response_model=PairPage, dependencies=[guard(PERSON_MERGE)])
def review_queue(request: Request, page: PageNo = 1) -> PairPage:
    """Pairs of files that may be one person, within your jurisdiction (numbers masked)."""
    with work(request) as w:
        found = review.review_queue(w.session, w.user, page, request.app.state.settings.page_size)
    items = [PairOut(id=p.id, score=p.score, reasons=p.reasons, status=p.status, created_at=p.created_at,
                     left=PersonOut.of(p.left), right=PersonOut.of(p.right)) for p in found.rows]
    return PairPage(items=items, total=found.total, page=found.page, pages=found.pages)


@router.post("/review/{pair_id}/accept", response_model=MergeOut, dependencies=[guard(PERSON_MERGE)])
def accept_pair(request: Request, pair_id: Id, body: ReasonIn) -> MergeOut:
    """Accept a pair: the newer file is merged into the older one."""
    with work(request) as w:
        return MergeOut.of(review.accept_pair(w.session, w.user, pair_id, body.reason))


@router.post("/review/{pair_id}/reject", status_code=204, dependencies=[guard(PERSON_MERGE)])
def reject_pair(request: Request, pair_id: Id) -> None:
    """Reject a pair: two different people; the pair is never proposed again."""
    with work(request) as w:
        review.reject_pair(w.session, w.user, pair_id)


@router.post("/merges/{merge_id}/unmerge", response_model=MergeOut, dependencies=[guard(PERSON_MERGE)])
def unmerge(request: Request, merge_id: Id, body: ReasonIn) -> MergeOut:
    """Undo a merge: the merged file comes back with exactly the records that moved."""
    with work(request) as w:
        return MergeOut.of(merging.unmerge(w.session, w.user, merge_id, body.reason))


@router.get("/{person_id}", response_model=PersonOut)
def read(request: Request, person_id: Id) -> PersonOut:
    """Open a person file (masked). The read is recorded in the audit log."""
    with work(request) as w:
        return PersonOut.of(service.open_person(w.session, w.user, person_id))


@router.post("/{person_id}/reveal", response_model=PersonOut, dependencies=[guard(PERSON_REVEAL)])
def reveal(request: Request, person_id: Id, body: RevealIn) -> PersonOut:
    """Return the full ID number and phone; the reveal and its purpose are recorded."""
    with work(request) as w:
        return PersonOut.of(service.reveal_person(w.session, w.user, person_id, body.purpose))


@router.post("/{person_id}/merge", response_model=MergeOut, status_code=201, dependencies=[guard(PERSON_MERGE)])
def merge(request: Request, person_id: Id, body: MergeIn) -> MergeOut:
    """Merge another file into this one; refused for two different valid ID numbers."""
    with work(request) as w:
        return MergeOut.of(merging.merge_persons(w.session, w.user, person_id, body.merged_id, body.reason))


@router.get("/{person_id}/merges", response_model=list[MergeOut])
def merges(request: Request, person_id: Id) -> list[MergeOut]:
    """Files merged into this one, newest first, including undone merges."""
    with work(request) as w:
        service.open_person(w.session, w.user, person_id)
        return [MergeOut.of(m) for m in merging.merges_into(w.session, person_id)]

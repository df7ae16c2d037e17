"""Import every capability's tables so that Base.metadata knows them (migrations, tests)."""

from __future__ import annotations


def load_all() -> None:
    import fangkong.checkpoints.models
    import fangkong.core.audit
    import fangkong.core.models
    import fangkong.leads.models
    import fangkong.people.models
    import fangkong.registration.models  # noqa: F401

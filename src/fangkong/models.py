"""Import every capability's tables so that Base.metadata knows them (migrations, tests)."""

from __future__ import annotations


def load_all() -> None:
    from fangkong.capabilities import platform

    platform().import_models()

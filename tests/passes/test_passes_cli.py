"""`fangkong passes rotate-key` and `fangkong passes purge`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli import app as cli
from fangkong.core.migrate import upgrade
from fangkong.passes.tokens import KeyRing


def test_rotate_key_makes_a_new_current_key_and_keeps_the_old(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(tmp_path))
    ring = KeyRing(tmp_path / "passes" / "keys")
    old = ring.current_id
    result = CliRunner().invoke(cli, ["passes", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert old in result.output
    fresh = KeyRing(tmp_path / "passes" / "keys")
    assert fresh.current_id != old and set(fresh.public_keys()) == {old, fresh.current_id}


def test_purge_reports_what_it_removed(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    monkeypatch.setenv("FANGKONG_DATABASE_URL", url)
    monkeypatch.setenv("FANGKONG_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["passes", "purge"])
    assert result.exit_code == 0 and "Purged 0 pass applications" in result.output

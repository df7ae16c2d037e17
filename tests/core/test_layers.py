"""The layers contract (issue 14) names every package of fangkong: a package left out of it is checked by
nothing, so a cycle through it would pass `make lint`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import fangkong

ROOT = Path(fangkong.__file__).parent
PYPROJECT = ROOT.parent.parent / "pyproject.toml"


def test_every_package_and_entry_module_is_in_the_layers_contract() -> None:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    named = {part.strip() for layer in contract["layers"] for part in layer.split("|")}
    packages = {f"fangkong.{p.name}" for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    entry = {f"fangkong.{m}" for m in ("cli", "app", "models", "capabilities")}
    assert packages | entry <= named, f"not in the layers contract: {sorted((packages | entry) - named)}"

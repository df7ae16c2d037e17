"""The packaged code tables: self-contained, and what tools/build_code_data.py makes of the shared data."""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "build_code_data.py"


def _tool() -> ModuleType:
    """Return tools/build_code_data.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_code_data", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["areas.csv.gz", "plates.csv"])
def test_the_data_ships_inside_the_package_and_is_small(name: str) -> None:
    data = resources.files("fangkong.core.codes").joinpath("data", name).read_bytes()
    assert 0 < len(data) < 300_000


def test_the_packaged_data_is_up_to_date_with_the_shared_reference_data() -> None:
    tool = _tool()
    if not (tool.SHARED / "area-codes-1981-2024.csv").exists():
        pytest.skip(f"no shared reference data at {tool.SHARED}")
    package = resources.files("fangkong.core.codes").joinpath("data")
    for name, built in tool.outputs().items():
        assert package.joinpath(name).read_bytes() == built, f"run `uv run python {TOOL.relative_to(ROOT)}`"

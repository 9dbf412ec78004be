"""The dependency direction of the design card: scripts -> api -> maps -> layers -> geo, and geo has no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder -> the foncier folders it must not import
FORBIDDEN = {
    "geo": {"layers", "maps", "api", "scripts"},
    "layers": {"maps", "api", "scripts"},
    "maps": {"api", "scripts"},
    "api": {"scripts"},
}
#: modules geo/ must not use: it stays pure (no file, network or web)
IO_MODULES = {"pyogrio", "rasterio", "httpx", "requests", "urllib", "socket", "sqlite3", "fiona", "fastapi", "click",
              "folium"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_point_one_way(folder: str) -> None:
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "foncier" and len(parts) > 1 and parts[1] in FORBIDDEN[folder]:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            if folder == "geo" and parts[0] in IO_MODULES:
                offenders.append(f"{path.relative_to(ROOT)} imports {name} (geo/ does no I/O)")
    assert not offenders, "\n".join(offenders)


def test_package_links_point_at_the_top_level_folders() -> None:
    for folder in ("geo", "layers", "api", "maps", "scripts"):
        link = ROOT / "foncier" / folder
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve()

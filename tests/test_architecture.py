"""The dependency direction of the design card: scripts -> api -> maps -> layers -> geo, and geo has no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: folder -> the foncier folders it must not import
FORBIDDEN = {
    "geo": {"layers", "maps", "api", "scripts", "pipeline"},
    "layers": {"maps", "api", "scripts", "pipeline"},
    "maps": {"api", "scripts"},
    "api": {"scripts"},
    "pipeline": {"maps", "api", "scripts"},
}
#: modules geo/ must not use: it stays pure (no file, network or web)
IO_MODULES = {
    "pyogrio",
    "rasterio",
    "httpx",
    "requests",
    "urllib",
    "socket",
    "sqlite3",
    "fiona",
    "fastapi",
    "click",
    "folium",
}


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
    base = ROOT / "foncier" / folder
    paths = [base.with_suffix(".py")] if base.with_suffix(".py").is_file() else sorted(base.rglob("*.py"))
    for path in paths:
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "foncier" and len(parts) > 1 and parts[1] in FORBIDDEN[folder]:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            if folder == "geo" and parts[0] in IO_MODULES:
                offenders.append(f"{path.relative_to(ROOT)} imports {name} (geo/ does no I/O)")
    assert not offenders, "\n".join(offenders)


def test_code_lives_in_real_package_folders() -> None:
    """The code is in real directories of the package; the design card's names at the root only point into it.

    A checkout without symlinks (``core.symlinks=false``) turns the root links into small text files: the package
    must not depend on them.
    """
    for folder in ("geo", "layers", "api", "maps", "scripts"):
        package_dir = ROOT / "foncier" / folder
        assert package_dir.is_dir() and not package_dir.is_symlink(), package_dir
        assert (package_dir / "__init__.py").is_file()
        root_entry = ROOT / folder
        if root_entry.is_symlink():
            assert root_entry.resolve() == package_dir.resolve()
        else:  # a checkout without symlinks: git writes the link target as the file's text
            assert root_entry.read_text(encoding="utf-8").strip() == f"foncier/{folder}"

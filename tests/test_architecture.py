"""The dependency direction of the design card: scripts -> api -> maps -> layers -> geo, and geo has no I/O."""

from __future__ import annotations

import ast
import re
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


#: a string that names a foncier module (``"foncier.maps.site_map"``, ``"foncier.scripts.demo:demo"``)
_MODULE_NAME = re.compile(r"^foncier(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?$")
#: the start of an f-string building a module name (``f"foncier.maps.{name}"``)
_MODULE_PREFIX = re.compile(r"^foncier\.[A-Za-z_]\w*\.?")


def _string_imports(tree: ast.AST) -> set[str]:
    """foncier modules named by strings: ``importlib.import_module(...)``/``__import__(...)`` arguments, f-strings
    starting with ``foncier.<part>.``, and string literals that are a module name (lazy imports, entry points)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.match(node.value):
            names.add(node.value.split(":", 1)[0])
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                match = _MODULE_PREFIX.match(head.value)
                if match:
                    names.add(match.group(0).rstrip("."))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            arg = node.args[0]
            if (
                called in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
            ):
                names.add(arg.value)
    return names


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports: import statements and modules named by strings (see _string_imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names | _string_imports(tree)


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


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('importlib.import_module("foncier.maps.site_map")', "foncier.maps.site_map"),
        ('importlib.import_module(f"foncier.maps.{name}")', "foncier.maps"),
        ('__import__("foncier.api.app")', "foncier.api.app"),
        ('COMMANDS = {"demo": "foncier.scripts.demo:demo"}', "foncier.scripts.demo"),
        ("from importlib import import_module\nimport_module('foncier.scripts.cli')", "foncier.scripts.cli"),
    ],
)
def test_imports_by_module_name_strings_are_seen(tmp_path: Path, source: str, found: str) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert found in _imports(path)


def test_prose_naming_a_module_is_not_an_import(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text('"""Uses :mod:`foncier.maps` for the pages."""\nX = "see foncier.api.app for details"\n')
    assert not {n for n in _imports(path) if n.startswith("foncier")}


def test_no_module_is_imported_through_importlib_with_a_computed_name() -> None:
    """Static imports only, so tools can follow them; the one exception is the CLI's lazy loader, whose table
    names each command's module in full (string literals the direction test reads)."""
    lazy_loader = ROOT / "foncier" / "scripts" / "cli.py"
    offenders = []
    for path in sorted((ROOT / "foncier").rglob("*.py")):
        if path == lazy_loader:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and not isinstance(node.args[0], ast.Constant):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("import_module", "__import__"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], offenders

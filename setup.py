"""Build step of the wheel and sdist: the map and API documentation assets become package data.

Everything else is declared in ``pyproject.toml``. Leaflet, its plugins, Swagger UI and ReDoc (npm packages pinned
in ``package.json``) are copied from ``node_modules`` into ``foncier/maps/_assets/`` (``.gitignore``d, never
committed) before setuptools collects the package data, so the wheel and the sdist always carry them. A wheel
built from the sdist finds them already there. Without them (no ``npm ci`` and no ``make assets``) the build
fails with one line saying so, instead of producing a wheel whose maps and ``/docs`` cannot work offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def ensure_assets() -> None:
    """Build ``foncier/maps/_assets`` from ``node_modules`` unless it is already complete (as in an sdist)."""
    sys.path.insert(0, str(HERE))
    try:
        from foncier.maps import assets
    finally:
        sys.path.pop(0)
    node_modules = HERE / "node_modules"
    built = assets.PACKAGE_ASSETS
    missing = [a.package + "/" + a.path for a in assets.ASSETS.values() if not (built / a.package / a.path).is_file()]
    if node_modules.is_dir() and (HERE / "package.json").is_file():
        manifest = built / assets.MANIFEST
        wanted = {a.package: assets.pinned_versions(HERE).get(a.package) for a in assets.ASSETS.values()}
        if not missing and manifest.is_file() and json.loads(manifest.read_text())["packages"] == wanted:
            return  # already built at the pinned versions (make assets): leave the folder in place
        assets.build_assets(node_modules, built, project_root=HERE)
        return
    if not (built / assets.MANIFEST).is_file() or missing:
        raise SystemExit(
            f"error: the map and documentation assets are missing from {built} ({', '.join(missing[:3]) or 'manifest'}"
            "...): run 'npm ci' (or 'make assets') in the repository before building"
        )


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        ensure_assets()
        super().run()


class SdistWithAssets(sdist):
    def run(self) -> None:
        ensure_assets()
        super().run()


setup(cmdclass={"build_py": BuildPyWithAssets, "sdist": SdistWithAssets})

"""The install a user makes: the wheel and sdist built by ``python -m build``, installed into a fresh virtual
environment OUTSIDE the repository, then the README's commands run from there (no ``node_modules``, no
repository on the path, no network for the maps and the documentation).

Also: a clone without symbolic links (``git clone -c core.symlinks=false``, the default of Git for Windows)
builds a complete wheel and passes the architecture tests.

Slow (one build and one ``pip install`` per session, a few minutes); part of ``make test``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foncier.maps.assets import ASSETS, MANIFEST, pinned_versions
from foncier.scripts.cli import COMMANDS
from tests._servers import stop_process, wait_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: the ceiling of one step (build, pip install, demo): a hung step fails instead of blocking the suite
STEP_TIMEOUT_S = 900


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def _user_env() -> dict[str, str]:
    """The environment of a user's shell: nothing pointing into the repository or its virtual environment."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "FONCIER_NODE_MODULES", "PYTHONHOME"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("FONCIER_", "COVERAGE_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path
    committed: frozenset[str]  # the package's committed modules when the build started


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """Wheel and sdist of the working tree, as ``python -m build`` makes them (the wheel is built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    committed = _ok(_run(["git", "ls-files", "foncier"], ROOT)).split()
    _ok(_run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out))
    (wheel,) = out.glob("foncier-*.whl")
    (sdist,) = out.glob("foncier-*.tar.gz")
    return Dists(wheel, sdist, frozenset(f for f in committed if f.endswith(".py")))


@pytest.fixture(scope="session")
def user_bin(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a fresh virtual environment (outside the repository) holding only the wheel and its dependencies."""
    venv = tmp_path_factory.mktemp("user-venv") / "venv"
    _ok(_run([sys.executable, "-m", "venv", venv], cwd=venv.parent, env=_user_env()))
    pip: list[str | Path] = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
    ]
    # the lock pins the versions the suite is run with; the wheel's own metadata decides WHAT is installed
    _ok(_run([*pip, "-c", ROOT / "requirements.lock", dists.wheel], cwd=venv.parent, env=_user_env()))
    return venv / "bin"


@pytest.fixture(scope="session")
def user_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's working folder, outside the repository."""
    path = tmp_path_factory.mktemp("user")
    assert not path.resolve().is_relative_to(ROOT)
    return path


@pytest.fixture(scope="session")
def demo_workspace(user_bin: Path, user_dir: Path) -> Path:
    """``foncier demo --size small`` run by the installed command."""
    out = _ok(_run([user_bin / "foncier", "demo", "--workspace", "ws", "--size", "small"], user_dir, _user_env()))
    assert "Best sites" in out and "offline: Leaflet from maps/assets" in out, out
    return user_dir / "ws"


@pytest.fixture(scope="session")
def chromium(browser: Any) -> Any:
    """The session's one headless Chromium (tests/conftest.py)."""
    return browser


class _Watched:
    """A browser page recording its errors, failed requests and every URL it requested."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.kinds: dict[str, str] = {}  # url -> resource type (script, stylesheet, font, image...)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("requestfailed", lambda req: self.errors.append(f"failed: {req.url} {req.failure}"))
        self.page.on("request", self._record)

    def _record(self, request: Any) -> None:
        self.requests.append(request.url)
        self.kinds[request.url] = request.resource_type

    def outside(self, *prefixes: str) -> list[str]:
        return [u for u in self.requests if not u.startswith(("data:", "blob:", *prefixes))]


# --- what the build makes -------------------------------------------------------------------------------------


def _check_assets(names: set[str], prefix: str = "") -> None:
    base = f"{prefix}foncier/maps/_assets/"
    for asset in ASSETS.values():
        assert f"{base}{asset.package}/{asset.path}" in names, (asset.package, asset.path)
    assert f"{base}{MANIFEST}" in names
    assert not [n for n in names if "node_modules" in n]


def test_wheel_and_sdist_hold_every_module_and_the_assets(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = set(wheel.namelist())
        manifest = json.loads(wheel.read(f"foncier/maps/_assets/{MANIFEST}"))
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    modules = {n for n in names if n.endswith(".py")}
    assert dists.committed <= modules, sorted(dists.committed - modules)
    _check_assets(names)
    pinned = pinned_versions(ROOT)
    assert manifest["packages"] == {a.package: pinned[a.package] for a in ASSETS.values()}
    core = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    requires = {spec.split(" ")[0].split(">")[0].split(";")[0].lower() for spec in core if "extra ==" not in spec}
    assert {"folium", "branca", "fastapi", "uvicorn[standard]", "affine"} <= requires
    assert "mapbox-vector-tile" not in requires
    with tarfile.open(dists.sdist) as sdist:
        top = sdist.getnames()[0].split("/")[0] + "/"
        snames = {n.removeprefix(top) for n in sdist.getnames()}
    assert {n for n in snames if n.startswith("foncier/") and n.endswith(".py")} == modules  # the wheel is the sdist's
    assert "setup.py" in snames
    _check_assets(snames)


# --- the installed command --------------------------------------------------------------------------------------


def test_installed_command_help_version_and_missing_extra(user_bin: Path, user_dir: Path) -> None:
    env = _user_env()
    where = _ok(_run([user_bin / "python", "-c", "import foncier; print(foncier.__file__)"], user_dir, env))
    assert Path(where.strip()).is_relative_to(user_bin.parent) and not Path(where.strip()).is_relative_to(ROOT)
    out = _ok(_run([user_bin / "foncier", "--help"], user_dir, env))
    listed = {line.split()[0] for line in out.split("Commands:")[1].strip().splitlines()}
    assert listed == set(COMMANDS), listed
    assert "(unavailable)" not in out
    assert "foncier, version" in _ok(_run([user_bin / "foncier", "--version"], user_dir, env))
    # psycopg (the postgis extra) is not installed: one line with the install command, exit code 1
    result = _run([user_bin / "foncier", "publish", "-w", "ws", "--dsn", "host=127.0.0.1"], user_dir, env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error [missing_dependency]: foncier publish needs the Python package 'psycopg', which is not installed: "
        'pip install "foncier[postgis]"'
    ], result.stderr


def test_installed_demo_writes_offline_maps_that_open_without_network(
    demo_workspace: Path, user_bin: Path, user_dir: Path, chromium: Any
) -> None:
    site_map = demo_workspace / "maps" / "sites-default.html"
    assert site_map.is_file() and (demo_workspace / "maps" / "assets" / "leaflet" / "dist" / "leaflet.js").is_file()
    single = user_dir / "mail" / "logistics.html"
    single.parent.mkdir()
    _ok(_run([user_bin / "foncier", "map", "-w", "ws", "--profile", "logistics", "--offline", "--single-file",
              "-o", single], user_dir, _user_env()))  # fmt: skip
    assert [p.name for p in single.parent.iterdir()] == ["logistics.html"]
    for page in (site_map, single):
        w = _Watched(chromium)
        try:
            w.page.goto(page.as_uri())
            w.page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)
            assert w.page.locator("path.fx-site").count() > 0
            assert w.errors == [], (page, w.errors)
            assert w.outside("file:") == [], (page, w.outside("file:"))
        finally:
            w.context.close()


@pytest.fixture(scope="session")
def served(demo_workspace: Path, user_bin: Path, user_dir: Path) -> Iterator[str]:
    """``foncier serve`` from the fresh environment on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(user_bin / "foncier"), "serve", "-w", "ws", "--port", str(port)],
        cwd=user_dir,
        env=_user_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, timeout_s=90)
        yield base
    finally:
        stop_process(proc, timeout_s=15)


def test_installed_serve_docs_and_maps_load_only_local_assets(served: str, chromium: Any) -> None:
    """Every script, style sheet and font comes from the server; nothing leaves the machine (the browser is cut off).

    Two kinds of images may be asked for outside, by design, and are refused here without harm: the served site
    map's basemap tiles (OpenStreetMap, shown when the browser reaches the web; offline maps have none) and the
    Redocly logo of the ReDoc bundle (hidden by ReDoc when it does not load).
    """
    pages = (
        ("/docs", ".swagger-ui .opblock", ()),  # Swagger UI drew the operations from /openapi.json
        ("/redoc", "[role=menuitem]", ("https://cdn.redoc.ly/",)),
        ("/maps/sites?profile=logistics", "path.fx-site", ("https://tile.openstreetmap.org/",)),
    )
    for path, drawn, optional_images in pages:
        w = _Watched(chromium)
        try:
            w.page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                (served, "data:", "blob:")) else route.abort())  # fmt: skip
            w.page.goto(served + path)
            w.page.locator(drawn).first.wait_for(timeout=20_000)
            outside = w.outside(served)
            not_images = [u for u in outside if w.kinds[u] != "image" or not u.startswith(optional_images)]
            assert not_images == [], (path, not_images)
            errors = [e for e in w.errors if not any(o in e for o in optional_images)]
            if optional_images:  # Chromium's console line for a refused image carries no URL
                errors = [e for e in errors if e != "Failed to load resource: net::ERR_FAILED"]
            assert errors == [], (path, errors)
            local = [u for u in w.requests if u.startswith(served) and w.kinds[u] in ("script", "stylesheet")]
            assert any("/docs/assets/" in u or "/maps/assets/" in u for u in local), (path, w.requests)
        finally:
            w.context.close()


# --- a checkout without symbolic links ----------------------------------------------------------------------------


def test_clone_without_symlinks_builds_a_complete_wheel_and_passes(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _ok(_run(["git", "clone", "--quiet", "-c", "core.symlinks=false", ROOT, clone], tmp_path))
    for folder in ("geo", "layers", "api", "maps", "scripts"):
        entry = clone / folder
        assert entry.is_file() and not entry.is_symlink(), entry  # the link became a small text file
    # the npm packages as `npm ci` installs them (reused from this checkout: no registry needed)
    (clone / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    out = tmp_path / "dist"
    _ok(_run([sys.executable, "-m", "build", "--outdir", out, clone], tmp_path))
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    committed = _ok(_run(["git", "ls-files", "foncier"], clone)).split()
    assert {n for n in names if n.endswith(".py")} == {f for f in committed if f.endswith(".py")}
    assert {f"foncier/{d}/__init__.py" for d in ("geo", "layers", "api", "maps", "scripts")} <= names
    _check_assets(names)
    # the clone's own code is importable and its architecture tests (both shapes of the root entries) pass
    # (not measured by this run's coverage: the clone's files are another copy of the package)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}, "PYTHONPATH": str(clone)}
    where = _ok(_run([sys.executable, "-c", "import foncier.geo.scoring as m; print(m.__file__)"], clone, env))
    assert Path(where.strip()).is_relative_to(clone)
    _ok(_run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_architecture.py",
              "tests/scripts/test_cli.py"], clone, env))  # fmt: skip
    shutil.rmtree(clone, ignore_errors=True)

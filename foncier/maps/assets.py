"""Where a map's JavaScript and CSS come from: the CDN (online), a local asset folder (``--offline``), or inline.

Folium declares the files a map needs as ``(name, url)`` lists on the map and on each plugin
(``folium.Map.default_js`` / ``default_css``: Leaflet, jQuery, Bootstrap, Leaflet.awesome-markers, Font
Awesome, Bootstrap glyphicons; ``MiniMap.default_js``, ``Fullscreen.default_js``...). foncier replaces those
lists *on each element instance* (never on the classes) with files of npm packages pinned in ``package.json``:

- online, each file comes from the jsDelivr mirror of the npm registry, at the very version pinned:
  ``https://cdn.jsdelivr.net/npm/PACKAGE@VERSION/PATH``;
- offline, from ``assets/PACKAGE/PATH`` beside the HTML file, copied by :func:`foncier.maps.export.save_html`
  (with the images and fonts their CSS refers to) from the package's own copies (:func:`assets_root`);
- in a single file (``foncier map --offline --single-file``), inlined by :func:`inline_assets`.

The package's own copies live in ``foncier/maps/_assets/PACKAGE/PATH`` with a ``manifest.json`` of the
versions: package data of the wheel, built from ``node_modules`` (``npm ci``) by :func:`build_assets` (``make
assets``, and the setuptools build in ``setup.py``), never committed. So an installed wheel writes offline maps
and serves its maps and the API documentation (Swagger UI, ReDoc) with no ``node_modules`` and no network; a
development checkout without ``make assets`` falls back to ``node_modules``. npm packages used (all MIT/BSD/
Apache-2.0, see ``package.json``): leaflet, jquery, bootstrap, @fortawesome/fontawesome-free,
leaflet.awesome-markers, leaflet-minimap, leaflet.fullscreen, leaflet.locatecontrol, leaflet.vectorgrid,
swagger-ui-dist, redoc.

Two of folium's defaults have no npm package and are dropped from offline maps: ``glyphicons_css``
(Bootstrap 3 glyph icons, only used by awesome markers with ``prefix="glyphicon"``) and
``awesome_rotate_css`` (rotated awesome markers). foncier's maps use neither. Any other URL that has no local
copy makes :func:`use_assets` raise, so an offline map never silently depends on the network.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import posixpath
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foncier.errors import FoncierError

if TYPE_CHECKING:  # branca is only needed to walk a map; setup.py imports this module without it
    from branca.element import Element

logger = logging.getLogger(__name__)

CDN_ROOT = "https://cdn.jsdelivr.net/npm"
ASSET_DIR = "assets"
"""Name of the asset folder beside an offline HTML file."""

#: The repository root (``node_modules`` and ``package.json`` live there in a development checkout).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The package's own copies of the assets (package data of the wheel, built by :func:`build_assets`).
PACKAGE_ASSETS = Path(__file__).resolve().parent / "_assets"
#: The file of :data:`PACKAGE_ASSETS` listing the npm packages and versions it holds.
MANIFEST = "manifest.json"


class MapAssetsError(FoncierError, RuntimeError):
    """The local copies of the map assets are missing, or a map needs a file with no local copy."""

    code = "map_assets_missing"


@dataclass(frozen=True)
class Asset:
    """One JavaScript or CSS file of an npm package.

    Attributes
    ----------
    key : str
        foncier's name of the file (also the name folium gives it when folium declares it).
    package : str
        npm package name.
    path : str
        Path of the file inside the package.
    extras : tuple of str
        Folders or files (package-relative) the file needs beside it (images, fonts referenced by CSS).
    aliases : tuple of str
        Other names or URL basenames under which folium or plugins declare the same file.
    """

    key: str
    package: str
    path: str
    extras: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``"js"`` or ``"css"``."""
        return "css" if self.path.endswith(".css") else "js"

    def cdn_url(self) -> str:
        """URL of the file on the CDN, at the version pinned in ``package.json``."""
        return f"{CDN_ROOT}/{self.package}@{package_version(self.package)}/{self.path}"

    def local_url(self, asset_dir: str = ASSET_DIR) -> str:
        """Relative URL of the local copy, from the HTML file."""
        return posixpath.join(asset_dir, self.package, self.path)


ASSETS: dict[str, Asset] = {
    a.key: a
    for a in (
        # folium.Map.default_js / default_css
        Asset("leaflet", "leaflet", "dist/leaflet.js", aliases=("leaflet.js",)),
        Asset("leaflet_css", "leaflet", "dist/leaflet.css", extras=("dist/images",), aliases=("leaflet.css",)),
        Asset("jquery", "jquery", "dist/jquery.min.js", aliases=("jquery.js",)),
        Asset("bootstrap", "bootstrap", "dist/js/bootstrap.bundle.min.js", aliases=("bootstrap.bundle.js",)),
        Asset("bootstrap_css", "bootstrap", "dist/css/bootstrap.min.css", aliases=("bootstrap.css",)),
        Asset(
            "awesome_markers", "leaflet.awesome-markers", "dist/leaflet.awesome-markers.min.js",
            aliases=("leaflet.awesome-markers.js",),
        ),
        Asset(
            "awesome_markers_css", "leaflet.awesome-markers", "dist/leaflet.awesome-markers.css",
            extras=("dist/images",), aliases=("leaflet.awesome-markers.css",),
        ),
        Asset(
            "awesome_markers_font_css", "@fortawesome/fontawesome-free", "css/all.min.css",
            extras=("webfonts",), aliases=("all.css",),
        ),
        # plugins
        Asset("minimap_js", "leaflet-minimap", "dist/Control.MiniMap.min.js",
              aliases=("Control_MiniMap_js", "control.minimap.js")),
        Asset("minimap_css", "leaflet-minimap", "dist/Control.MiniMap.min.css", extras=("dist/images",),
              aliases=("Control_MiniMap_css", "control.minimap.css")),
        Asset("fullscreen_js", "leaflet.fullscreen", "Control.FullScreen.js",
              aliases=("Control.Fullscreen.js", "control.fullscreen.js")),
        Asset("fullscreen_css", "leaflet.fullscreen", "Control.FullScreen.css", extras=("icon-fullscreen.svg",),
              aliases=("Control.FullScreen.css", "control.fullscreen.css")),
        Asset("locate_js", "leaflet.locatecontrol", "dist/L.Control.Locate.min.js",
              aliases=("Control_locate_min_js", "l.control.locate.js")),
        Asset("locate_css", "leaflet.locatecontrol", "dist/L.Control.Locate.min.css",
              aliases=("Control_locate_min_css", "l.control.locate.css")),
        Asset("vectorgrid_js", "leaflet.vectorgrid", "dist/Leaflet.VectorGrid.bundled.min.js",
              aliases=("leaflet.vectorgrid.bundled.js",)),
        # the API documentation pages (/docs, /redoc)
        Asset("swagger_ui_js", "swagger-ui-dist", "swagger-ui-bundle.js", extras=("favicon-32x32.png",)),
        Asset("swagger_ui_css", "swagger-ui-dist", "swagger-ui.css"),
        Asset("redoc_js", "redoc", "bundles/redoc.standalone.js"),
    )
}  # fmt: skip
"""Every file foncier can serve locally, by key."""

#: folium defaults that have no npm package; dropped (with a log line) from offline maps.
DROPPED_OFFLINE = ("glyphicons_css", "awesome_rotate_css")

#: The only files foncier's own maps load (folium's other defaults are not used by them).
MAP_JS = ("leaflet",)
MAP_CSS = ("leaflet_css",)


def assets_root() -> Path:
    """The folder holding the npm packages' files, laid out as ``PACKAGE/PATH``.

    ``FONCIER_NODE_MODULES`` when set; else the package's own copies (:data:`PACKAGE_ASSETS`, always there in
    an installed wheel); else the checkout's ``node_modules`` (development without ``make assets``).
    """
    env = os.environ.get("FONCIER_NODE_MODULES")
    if env:
        return Path(env)
    if (PACKAGE_ASSETS / MANIFEST).is_file():
        return PACKAGE_ASSETS
    return PROJECT_ROOT / "node_modules"


def node_modules_dir() -> Path:
    """Former name of :func:`assets_root` (kept for callers)."""
    return assets_root()


_versions: dict[str, str] = {}


def pinned_versions(project_root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The npm packages and versions pinned in ``package.json`` (empty when there is none, as in a wheel)."""
    manifest = project_root / "package.json"
    if not manifest.is_file():
        return {}
    deps = json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", {})
    return {name: str(version).lstrip("^~=") for name, version in deps.items()}


def package_version(package: str) -> str:
    """Version of ``package``: from the package's asset manifest, else ``package.json``, else the installed one.

    Raises
    ------
    MapAssetsError
        When the package is neither pinned nor installed.
    """
    if not _versions:
        built = PACKAGE_ASSETS / MANIFEST
        if built.is_file():
            _versions.update(json.loads(built.read_text(encoding="utf-8"))["packages"])
        for name, version in pinned_versions().items():
            _versions.setdefault(name, version)
    if package in _versions:
        return _versions[package].lstrip("^~=")
    installed = node_modules_dir() / package / "package.json"
    if installed.is_file():
        return str(json.loads(installed.read_text(encoding="utf-8"))["version"])
    raise MapAssetsError(f"npm package '{package}' is not pinned in package.json")


def _normalise(name_or_url: str) -> str:
    base = name_or_url.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    base = re.sub(r"-\d+(\.\d+)+", "", base)  # jquery-3.7.1.min.js
    return base.replace(".min.", ".")


_lookup: dict[str, Asset] = {}


def find_asset(name: str, url: str = "") -> Asset | None:
    """The local asset for a folium ``(name, url)`` declaration, or None when there is none."""
    if not _lookup:
        for asset in ASSETS.values():
            for alias in (asset.key, *asset.aliases, asset.path):
                _lookup[alias] = asset
                _lookup[_normalise(alias)] = asset
    for candidate in (name, _normalise(name), _normalise(url) if url else ""):
        if candidate and candidate in _lookup:
            return _lookup[candidate]
    return None


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _rewrite(pairs: Iterable[tuple[str, str]], *, offline: bool, asset_dir: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in pairs:
        if url.startswith(asset_dir + "/"):
            local = asset_for_local_url(url, asset_dir)
            out.append((name, local.cdn_url() if local is not None and not offline else url))
            continue
        if not re.match(r"^(https?:)?//", url):
            out.append((name, url))  # a relative URL of the caller's own
            continue
        asset = find_asset(name, url)
        if asset is None:
            if offline and name in DROPPED_OFFLINE:
                logger.info("offline map: dropped %s (%s), no local copy and not used by foncier maps", name, url)
                continue
            if offline:
                raise MapAssetsError(
                    f"the map needs {url} ({name}) and foncier has no local copy of it; add its npm package to "
                    "package.json and to foncier.maps.assets.ASSETS"
                )
            out.append((name, url))
            continue
        out.append((name, asset.local_url(asset_dir) if offline else asset.cdn_url()))
    return out


def use_assets(root: Element, *, offline: bool, asset_dir: str = ASSET_DIR) -> None:
    """Point every JS/CSS declaration in the element tree of ``root`` at the CDN or the local asset folder.

    The ``default_js`` / ``default_css`` lists are replaced on each instance (folium's class-level lists
    stay untouched, so other maps built in the same process are not affected).

    Raises
    ------
    MapAssetsError
        Offline, when an element needs a file foncier has no local copy of.
    """
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if pairs:
                setattr(element, attr, _rewrite(pairs, offline=offline, asset_dir=asset_dir))


def trim_map_defaults(m: Any) -> None:
    """Keep only Leaflet among the map's own defaults (foncier's maps need no jQuery, Bootstrap, icons).

    Fewer files make the page faster to open and the offline asset folder smaller.
    """
    m.default_js = [(key, ASSETS[key].cdn_url()) for key in MAP_JS]
    m.default_css = [(key, ASSETS[key].cdn_url()) for key in MAP_CSS]


def links(keys: Iterable[str], *, offline: bool, asset_dir: str = ASSET_DIR) -> str:
    """``<script>``/``<link>`` tags for the assets ``keys`` (for hand-written pages)."""
    tags = []
    for key in keys:
        asset = ASSETS[key]
        url = asset.local_url(asset_dir) if offline else asset.cdn_url()
        if asset.kind == "css":
            tags.append(f'<link rel="stylesheet" href="{url}"/>')
        else:
            tags.append(f'<script src="{url}"></script>')
    return "\n".join(tags)


def asset_for_local_url(url: str, asset_dir: str = ASSET_DIR) -> Asset | None:
    """The asset whose local copy is at ``url`` (relative to the HTML file), or None."""
    prefix = asset_dir.rstrip("/") + "/"
    if not url.startswith(prefix):
        return None
    rest = url[len(prefix) :]
    for asset in ASSETS.values():
        if rest == posixpath.join(asset.package, asset.path):
            return asset
    return None


def copy_asset(asset: Asset, dest: Path) -> list[Path]:
    """Copy ``asset`` and its extras from ``node_modules`` into the asset folder ``dest``.

    Files already there with the same size and modification time are not copied again.

    Raises
    ------
    MapAssetsError
        When the local copies are missing (a development checkout without ``make assets``).
    """
    source_root = assets_root() / asset.package
    if not (source_root / asset.path).is_file():
        raise MapAssetsError(
            f"local copy of {asset.package}/{asset.path} not found in {assets_root()}; install the map "
            "assets with 'make assets' (npm ci) or write the map without --offline"
        )
    copied: list[Path] = []
    for file in asset_files(asset, assets_root()):
        target = dest / asset.package / file.relative_to(source_root)
        stat = file.stat()
        if target.is_file():
            tstat = target.stat()
            if tstat.st_size == stat.st_size and int(tstat.st_mtime) == int(stat.st_mtime):
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
        copied.append(target)
    return copied


def asset_files(asset: Asset, root: Path) -> list[Path]:
    """The files of ``asset`` and its extras under ``root`` (a ``node_modules`` or asset folder)."""
    source_root = root / asset.package
    files: list[Path] = []
    for rel in (asset.path, *asset.extras):
        src = source_root / rel
        files += sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
    return files


def assets_available() -> bool:
    """Whether every asset's local copy is there (in the package, or ``node_modules`` after ``make assets``)."""
    root = assets_root()
    return all((root / a.package / a.path).is_file() for a in ASSETS.values())


def build_assets(
    node_modules: Path | None = None, dest: Path = PACKAGE_ASSETS, *, project_root: Path = PROJECT_ROOT
) -> dict[str, str]:
    """Copy every asset (and its extras) from ``node_modules`` into ``dest`` and write its manifest.

    Used by ``make assets`` and by the setuptools build (``setup.py``): the wheel and the sdist carry the
    result as package data. ``dest`` is replaced as a whole (written beside it, then renamed), so a failed
    build never leaves a partial folder behind.

    Returns
    -------
    dict
        npm package -> version copied.

    Raises
    ------
    MapAssetsError
        When a package is missing from ``node_modules`` or its installed version is not the one pinned in
        ``package.json`` (run ``npm ci``).
    """
    source = node_modules if node_modules is not None else project_root / "node_modules"
    pinned = pinned_versions(project_root)
    versions: dict[str, str] = {}
    for asset in ASSETS.values():
        manifest = source / asset.package / "package.json"
        if not manifest.is_file():
            raise MapAssetsError(f"npm package '{asset.package}' is not installed in {source}; run 'npm ci'")
        installed = str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
        if asset.package in pinned and pinned[asset.package] != installed:
            raise MapAssetsError(
                f"{source / asset.package} is version {installed}, package.json pins {pinned[asset.package]}; "
                "run 'npm ci'"
            )
        versions[asset.package] = installed
        if not (source / asset.package / asset.path).is_file():
            raise MapAssetsError(f"{source / asset.package / asset.path} not found; run 'npm ci'")
    staging = dest.with_name(f".{dest.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    for asset in ASSETS.values():
        for file in asset_files(asset, source):
            target = staging / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
        for legal in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
            if (source / asset.package / legal).is_file():
                shutil.copy2(source / asset.package / legal, staging / asset.package / legal)
    manifest_text = json.dumps({"packages": dict(sorted(versions.items()))}, indent=2) + "\n"
    (staging / MANIFEST).write_text(manifest_text, encoding="utf-8")
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    _versions.clear()
    logger.info("map and documentation assets copied into %s: %s", dest, versions)
    return versions


_MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
    ".css": "text/css",
    ".js": "text/javascript",
}
_SCRIPT_TAG = re.compile(r"""<script\b[^>]*?\bsrc\s*=\s*["']([^"']+)["'][^>]*>\s*</script>""", re.IGNORECASE)
_LINK_TAG = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*["']([^"']+)["'][^>]*?/?>""", re.IGNORECASE)
_CSS_URL_REF = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", re.IGNORECASE)


def _is_relative(url: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", url.strip(), re.IGNORECASE)


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(css: str, css_file: Path) -> str:
    def repl(match: re.Match[str]) -> str:
        url = match.group(2).strip()
        if not _is_relative(url):
            return match.group(0)
        target = (css_file.parent / url.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_file():
            raise MapAssetsError(f"{css_file.name} refers to {url}, which does not exist ({target})")
        return f'url("{_data_uri(target)}")'

    return _CSS_URL_REF.sub(repl, css)


def inline_assets(html: str, base_dir: Path) -> str:
    """The page ``html`` with its local scripts and style sheets inlined: one self-contained file.

    Every ``<script src="...">`` and ``<link rel="stylesheet" href="...">`` with a relative URL (resolved
    against ``base_dir``, the folder the page was written in) becomes an inline ``<script>``/``<style>``; the
    images and fonts the style sheets refer to become ``data:`` URIs. The result needs no asset folder: it can
    be e-mailed as one file.

    Raises
    ------
    MapAssetsError
        When a referenced local file does not exist.
    """

    def local(url: str) -> Path:
        target = (base_dir / url.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_file():
            raise MapAssetsError(f"the page refers to {url}, which does not exist ({target})")
        return target

    def script(match: re.Match[str]) -> str:
        url = match.group(1)
        if not _is_relative(url):
            return match.group(0)
        code = local(url).read_text(encoding="utf-8")
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
        return f"<script>/* {posixpath.basename(url)} */\n{code}\n</script>"

    def link(match: re.Match[str]) -> str:
        tag, url = match.group(0), match.group(1)
        if not _is_relative(url):
            return tag
        if re.search(r"""\brel\s*=\s*["']?stylesheet""", tag, re.IGNORECASE):
            path = local(url)
            css = _inline_css(path.read_text(encoding="utf-8"), path)
            return f"<style>/* {posixpath.basename(url)} */\n{css}\n</style>"
        if re.search(r"""\brel\s*=\s*["']?(shortcut\s+)?icon""", tag, re.IGNORECASE):
            return tag.replace(url, _data_uri(local(url)))
        return tag

    return _LINK_TAG.sub(link, _SCRIPT_TAG.sub(script, html))

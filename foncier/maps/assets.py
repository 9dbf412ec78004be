"""Where a map's JavaScript and CSS come from: the CDN (online) or a local asset folder (``--offline``).

Folium declares the files a map needs as ``(name, url)`` lists on the map and on each plugin
(``folium.Map.default_js`` / ``default_css``: Leaflet, jQuery, Bootstrap, Leaflet.awesome-markers, Font
Awesome, Bootstrap glyphicons; ``MiniMap.default_js``, ``Fullscreen.default_js``...). foncier replaces those
lists *on each element instance* (never on the classes) with files of the npm packages that the project's
set-up installs (``package.json``, ``make assets`` = ``npm ci``):

- online, each file comes from the jsDelivr mirror of the npm registry, at the very version pinned in
  ``package.json``: ``https://cdn.jsdelivr.net/npm/PACKAGE@VERSION/PATH``;
- offline, from ``assets/PACKAGE/PATH`` beside the HTML file, copied from ``node_modules`` by
  :func:`foncier.maps.export.save_html` together with the files the CSS refers to (images, fonts).

So the online and the offline map run the very same code. npm packages used (all MIT/BSD, see
``package.json``): leaflet, jquery, bootstrap, @fortawesome/fontawesome-free, leaflet.awesome-markers,
leaflet-minimap, leaflet.fullscreen, leaflet.locatecontrol, leaflet.vectorgrid.

Two of folium's defaults have no npm package and are dropped from offline maps: ``glyphicons_css``
(Bootstrap 3 glyph icons, only used by awesome markers with ``prefix="glyphicon"``) and
``awesome_rotate_css`` (rotated awesome markers). foncier's maps use neither. Any other URL that has no local
copy makes :func:`localise` raise, so an offline map never silently depends on the network.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from branca.element import Element

from foncier.errors import FoncierError

logger = logging.getLogger(__name__)

CDN_ROOT = "https://cdn.jsdelivr.net/npm"
ASSET_DIR = "assets"
"""Name of the asset folder beside an offline HTML file."""

#: The repository root (``node_modules`` and ``package.json`` live there).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


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
    )
}  # fmt: skip
"""Every file foncier can serve locally, by key."""

#: folium defaults that have no npm package; dropped (with a log line) from offline maps.
DROPPED_OFFLINE = ("glyphicons_css", "awesome_rotate_css")

#: The only files foncier's own maps load (folium's other defaults are not used by them).
MAP_JS = ("leaflet",)
MAP_CSS = ("leaflet_css",)


def node_modules_dir() -> Path:
    """The ``node_modules`` folder holding the npm packages (``FONCIER_NODE_MODULES`` overrides)."""
    env = os.environ.get("FONCIER_NODE_MODULES")
    return Path(env) if env else PROJECT_ROOT / "node_modules"


_versions: dict[str, str] = {}


def package_version(package: str) -> str:
    """Version of ``package`` pinned in the project's ``package.json`` (installed one as a fallback).

    Raises
    ------
    MapAssetsError
        When the package is neither pinned nor installed.
    """
    if not _versions:
        manifest = PROJECT_ROOT / "package.json"
        if manifest.is_file():
            _versions.update(json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", {}))
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
        When ``node_modules`` lacks the package (run ``make assets``).
    """
    source_root = node_modules_dir() / asset.package
    if not (source_root / asset.path).is_file():
        raise MapAssetsError(
            f"local copy of {asset.package}/{asset.path} not found in {node_modules_dir()}; install the map "
            "assets with 'make assets' (npm ci) or write the map without --offline"
        )
    copied: list[Path] = []
    for rel in (asset.path, *asset.extras):
        src = source_root / rel
        files = sorted(p for p in src.rglob("*") if p.is_file()) if src.is_dir() else [src]
        for file in files:
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


def assets_available() -> bool:
    """Whether every asset's local copy is installed (``make assets`` was run)."""
    root = node_modules_dir()
    return all((root / a.package / a.path).is_file() for a in ASSETS.values())

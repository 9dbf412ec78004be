"""Writing maps and sheets to HTML files, and proving that an offline file needs no network.

An offline HTML file references nothing outside itself and its asset folder (``assets/`` beside it, shared by
every map written in the same directory): :func:`save_html` copies the npm files the page links to (and the
images and fonts their CSS needs) from ``node_modules`` and then checks the result with
:func:`offline_problems`, which parses the page for ``http(s)://`` or protocol-relative references in
``<script src>``, ``<link href>``, ``<img src>``, ``<iframe src>``..., CSS ``url()`` and ``@import`` (inline and
in the copied CSS files), and for tile-layer URL templates in inline scripts.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import tempfile
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from foncier.errors import FoncierError
from foncier.maps.assets import ASSET_DIR, asset_for_local_url, copy_asset, use_assets

logger = logging.getLogger(__name__)

#: Tags and attributes that make a browser load something.
_LOADING_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "audio": ("src",),
    "video": ("src", "poster"),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
_EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]([^'"]+)['"]""", re.IGNORECASE)
#: string literals in inline scripts that start with a scheme-ful or protocol-relative URL
_JS_URL = re.compile(r"""(?<![=\w\\])(["'`])((?:https?:)?//[^"'`\s]+)\1""", re.IGNORECASE)
#: namespaces are identifiers, never fetched
_NAMESPACES = ("http://www.w3.org/",)


class OfflineReferenceError(FoncierError, RuntimeError):
    """An offline map references something outside itself and its asset folder."""

    code = "offline_map_not_self_contained"


class _Refs(HTMLParser):
    """Collect loading references, inline CSS and inline scripts of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (where, url)
        self.css: list[str] = []
        self.scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in _LOADING_ATTRS.get(tag, ()):
                if tag == "link" and dict(attrs).get("rel") in ("canonical", "alternate"):
                    continue
                for url in value.split(",") if name == "srcset" else [value]:
                    self.refs.append((f"<{tag} {name}>", url.strip().split(" ")[0]))
            if name == "style":
                self.css.append(value)
        if tag in ("style", "script"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.css.append(data)
        elif self._in == "script":
            self.scripts.append(data)


def _css_urls(css: str) -> list[str]:
    return [m.group(2) for m in _CSS_URL.finditer(css)] + [m.group(1) for m in _CSS_IMPORT.finditer(css)]


def _is_local_target(url: str) -> bool:
    return not (url.startswith(("data:", "#", "about:", "blob:", "javascript:")) or url == "")


def parse_references(html: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Every resource reference of a page: ``(where, url)`` pairs, and the URL literals of its inline scripts."""
    parser = _Refs()
    parser.feed(html)
    refs = list(parser.refs)
    for css in parser.css:
        refs += [("css url()", u) for u in _css_urls(css)]
    js_urls = []
    for script in parser.scripts:
        js_urls += [m.group(2) for m in _JS_URL.finditer(script) if not m.group(2).startswith(_NAMESPACES)]
    return refs, js_urls


def external_references(html: str) -> list[str]:
    """The ``http(s)://`` or ``//`` references a browser would load from ``html`` (sorted, unique)."""
    refs, js_urls = parse_references(html)
    found = {url for _, url in refs if _EXTERNAL.match(url)}
    found.update(js_urls)
    return sorted(found)


def offline_problems(path: str | Path, asset_dir: str = ASSET_DIR, *, allow: Sequence[str] = ()) -> list[str]:
    """What makes the HTML file ``path`` need something outside itself and its asset folder (empty if nothing).

    Checks the page's references (external ones, and local ones that are missing or outside the asset
    folder) and, recursively, the ``url()``/``@import`` references of the local CSS files it loads. URLs
    starting with one of ``allow`` are accepted (the tile server a parcel map gets its data from).
    """
    page = Path(path)
    html = page.read_text(encoding="utf-8")
    problems: list[str] = []
    refs, js_urls = parse_references(html)
    problems += [f"inline script refers to {u}" for u in js_urls if not u.startswith(tuple(allow))]
    base = page.parent.resolve()
    allowed = (base / asset_dir).resolve()
    css_files: list[Path] = []
    for where, url in refs:
        if _EXTERNAL.match(url):
            if not url.startswith(tuple(allow)):
                problems.append(f"{where} refers to {url}")
            continue
        if not _is_local_target(url):
            continue
        target = (base / url.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_relative_to(allowed):
            problems.append(f"{where} refers to {url}, outside the asset folder {asset_dir}/")
        elif not target.is_file():
            problems.append(f"{where} refers to {url}, which does not exist")
        elif target.suffix == ".css":
            css_files.append(target)
    seen: set[Path] = set()
    while css_files:
        css = css_files.pop()
        if css in seen:
            continue
        seen.add(css)
        for url in _css_urls(css.read_text(encoding="utf-8", errors="replace")):
            if _EXTERNAL.match(url):
                problems.append(f"{css.relative_to(base)} refers to {url}")
                continue
            if not _is_local_target(url):
                continue
            target = (css.parent / url.split("?", 1)[0].split("#", 1)[0]).resolve()
            if not target.is_relative_to(allowed):
                problems.append(f"{css.relative_to(base)} refers to {url}, outside the asset folder")
            elif not target.is_file():
                problems.append(f"{css.relative_to(base)} refers to {url}, which does not exist")
            elif target.suffix == ".css":
                css_files.append(target)
    return problems


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; a map is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_html(
    html: str, path: str | Path, *, offline: bool, asset_dir: str = ASSET_DIR, allow: Sequence[str] = ()
) -> Path:
    """Write a page; offline, also copy the assets it loads into ``asset_dir`` beside it and check it.

    Offline, the page is checked before it replaces ``path`` (a refused page leaves nothing behind);
    ``allow`` lists URL prefixes accepted as data sources (see :func:`offline_problems`).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    foncier.maps.assets.MapAssetsError
        Offline, when ``node_modules`` lacks an asset (run ``make assets``).
    OfflineReferenceError
        Offline, when the page still refers to something outside itself and its asset folder.
    """
    out = Path(path)
    if offline:
        refs, _ = parse_references(html)
        dest = out.parent / asset_dir
        copied = 0
        for _, url in refs:
            asset = asset_for_local_url(posixpath.normpath(url), asset_dir)
            if asset is not None:
                copied += len(copy_asset(asset, dest))
        logger.debug("copied %d asset files into %s", copied, dest)
    if offline:
        draft = out.with_name(f".{out.stem}.check{out.suffix}")
        _write_atomic(draft, html)
        try:
            problems = offline_problems(draft, asset_dir, allow=allow)
            if problems:
                raise OfflineReferenceError(
                    f"offline map {out} is not self-contained:\n  - " + "\n  - ".join(problems[:20])
                )
            os.replace(draft, out)
        finally:
            draft.unlink(missing_ok=True)
    else:
        _write_atomic(out, html)
    logger.info("wrote %s (%.0f kB%s)", out, out.stat().st_size / 1024, ", offline" if offline else "")
    return out


def render_map(m: Any, *, offline: bool, asset_dir: str = ASSET_DIR) -> str:
    """The full HTML page of a folium map, its assets pointed at the CDN or the local asset folder."""
    root = m.get_root()
    use_assets(root, offline=offline, asset_dir=asset_dir)
    return str(root.render())


def save_map(
    m: Any, path: str | Path, offline: bool = False, *, asset_dir: str = ASSET_DIR, allow: Sequence[str] = ()
) -> Path:
    """Write a folium map to ``path`` (see :func:`save_html` for ``offline``).

    Examples
    --------
    >>> m = build_site_map(sites, layers, profile="default", offline=True)  # doctest: +SKIP
    >>> save_map(m, "out/sites.html", offline=True)  # doctest: +SKIP
    """
    html = render_map(m, offline=offline, asset_dir=asset_dir)
    return save_html(html, path, offline=offline, asset_dir=asset_dir, allow=allow)

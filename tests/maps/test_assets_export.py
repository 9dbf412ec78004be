"""CDN or local assets, and offline files that reference nothing outside themselves and their asset folder."""

from __future__ import annotations

import json
from pathlib import Path

import folium
import pytest
from folium import plugins

from foncier.maps import assets
from foncier.maps.assets import ASSETS, DROPPED_OFFLINE, MapAssetsError, find_asset, use_assets
from foncier.maps.export import (
    OfflineReferenceError,
    external_references,
    offline_problems,
    render_map,
    save_html,
    save_map,
)

ROOT = Path(__file__).resolve().parents[2]
#: The plugins foncier's maps use, plus the ones a planner may add (their files must have a local copy).
PLUGINS = (plugins.MiniMap, plugins.Fullscreen, plugins.LocateControl)


def test_every_folium_default_has_a_local_copy_or_is_knowingly_dropped() -> None:
    for cls in (folium.Map, *PLUGINS):
        for name, url in (*cls.default_js, *cls.default_css):
            assert find_asset(name, url) is not None or name in DROPPED_OFFLINE, (cls.__name__, name, url)


def test_asset_versions_are_the_ones_pinned_in_package_json() -> None:
    manifest = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for asset in ASSETS.values():
        pinned = manifest["dependencies"][asset.package]
        assert lock["packages"][f"node_modules/{asset.package}"]["version"] == pinned
        assert asset.cdn_url() == f"https://cdn.jsdelivr.net/npm/{asset.package}@{pinned}/{asset.path}"


def test_installed_packages_hold_every_asset(assets_installed: None) -> None:
    root = assets.node_modules_dir()
    for asset in ASSETS.values():
        assert (root / asset.package / asset.path).is_file(), asset
        for extra in asset.extras:
            assert (root / asset.package / extra).exists(), (asset, extra)


def test_use_assets_rewrites_instances_not_folium_classes() -> None:
    before = list(folium.Map.default_js)
    m = folium.Map(tiles=None)
    plugins.Fullscreen().add_to(m)
    use_assets(m.get_root(), offline=True)
    assert folium.Map.default_js == before
    assert all(url.startswith("assets/") for _, url in m.default_js)
    html = m.get_root().render()
    assert 'src="assets/leaflet/dist/leaflet.js"' in html
    assert 'href="assets/leaflet.fullscreen/Control.FullScreen.css"' in html
    assert "glyphicons" not in html  # no npm package: dropped offline
    use_assets(m.get_root(), offline=False)  # and back to the CDN
    assert m.default_js[0][1].startswith("https://cdn.jsdelivr.net/npm/leaflet@")


def test_an_unknown_remote_file_is_refused_offline() -> None:
    m = folium.Map(tiles=None)
    m.default_js = [*m.default_js, ("mystery", "https://example.org/mystery.js")]
    with pytest.raises(MapAssetsError, match=r"mystery\.js"):
        use_assets(m.get_root(), offline=True)


def test_external_references_are_found_wherever_a_browser_would_load_them() -> None:
    html = """<html><head>
    <script src="https://cdn.example.org/a.js"></script><link rel="stylesheet" href="//cdn.example.org/b.css"/>
    <style>@import url("https://fonts.example.org/c.css"); .x { background: url('https://img.example.org/d.png'); }
    .y { background: url(data:image/png;base64,AAAA) } .z { background: url(#m) }</style></head>
    <body><img src="https://img.example.org/e.png"><div style="background:url(https://img.example.org/f.png)"></div>
    <a href="https://www.openstreetmap.org/copyright">OSM</a>
    <svg xmlns="http://www.w3.org/2000/svg"></svg>
    <script>L.tileLayer("https://tile.example.org/{z}/{x}/{y}.png").addTo(map);
    var ns = "http://www.w3.org/2000/svg"; var a = '<a href=\\"https://www.openstreetmap.org\\">x</a>';</script>
    <script src="assets/leaflet/dist/leaflet.js"></script></body></html>"""
    found = external_references(html)
    assert found == sorted(
        [
            "https://cdn.example.org/a.js",
            "//cdn.example.org/b.css",
            "https://fonts.example.org/c.css",
            "https://img.example.org/d.png",
            "https://img.example.org/e.png",
            "https://img.example.org/f.png",
            "https://tile.example.org/{z}/{x}/{y}.png",
        ]
    )


def test_offline_problems_catch_missing_and_escaping_files(tmp_path: Path) -> None:
    (tmp_path / "assets" / "x").mkdir(parents=True)
    css = ".a{background:url(img.png)} .b{background:url(../../../etc.png)}"
    (tmp_path / "assets" / "x" / "ok.css").write_text(css)
    (tmp_path / "outside.js").write_text("")
    page = tmp_path / "map.html"
    page.write_text(
        '<link rel="stylesheet" href="assets/x/ok.css"><script src="outside.js"></script>'
        '<script src="assets/x/missing.js"></script>'
    )
    problems = "\n".join(offline_problems(page))
    assert "outside.js, outside the asset folder" in problems
    assert "missing.js, which does not exist" in problems
    assert "img.png, which does not exist" in problems
    assert "../../../etc.png, outside the asset folder" in problems


def test_save_map_offline_copies_assets_and_is_self_contained(tmp_path: Path, assets_installed: None) -> None:
    m = folium.Map(tiles=None)
    plugins.Fullscreen().add_to(m)
    plugins.MiniMap(tile_layer=folium.TileLayer(tiles="tiles/{z}/{x}/{y}.png", attr="local tiles")).add_to(m)
    plugins.LocateControl().add_to(m)
    path = save_map(m, tmp_path / "out" / "map.html", offline=True)
    html = path.read_text()
    assert external_references(html) == []
    assert offline_problems(path) == []
    assert (tmp_path / "out" / "assets" / "@fortawesome" / "fontawesome-free" / "webfonts").is_dir()
    assert (tmp_path / "out" / "assets" / "leaflet" / "dist" / "images" / "layers.png").is_file()
    # a second map in the same folder shares the asset folder
    save_map(folium.Map(tiles=None), tmp_path / "out" / "other.html", offline=True)
    assert offline_problems(tmp_path / "out" / "other.html") == []


def test_online_maps_load_the_pinned_files_from_the_cdn(tmp_path: Path) -> None:
    m = folium.Map(tiles=None)
    html = render_map(m, offline=False)
    version = json.loads((ROOT / "package.json").read_text())["dependencies"]["leaflet"]
    assert f"https://cdn.jsdelivr.net/npm/leaflet@{version}/dist/leaflet.js" in html
    path = save_map(m, tmp_path / "online.html")
    assert not (tmp_path / "assets").exists()
    assert path.is_file()


def test_save_html_refuses_a_remote_reference_offline_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OfflineReferenceError, match=r"https://example\.org/x\.js"):
        save_html('<script src="https://example.org/x.js"></script>', tmp_path / "x.html", offline=True)
    assert list(tmp_path.iterdir()) == []


def test_a_declared_data_source_is_allowed_offline(tmp_path: Path) -> None:
    page = '<script>L.vectorGrid.protobuf("http://127.0.0.1:8000/tiles/parcels/{z}/{x}/{y}.pbf")</script>'
    with pytest.raises(OfflineReferenceError, match=r"127\.0\.0\.1"):
        save_html(page, tmp_path / "p.html", offline=True)
    path = save_html(page, tmp_path / "p.html", offline=True, allow=["http://127.0.0.1:8000/tiles/"])
    assert path.is_file() and offline_problems(path, allow=["http://127.0.0.1:8000/tiles/"]) == []

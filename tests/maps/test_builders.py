"""The map builders on made-up results: what a site map, a site sheet and a parcel map hold."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from foncier.maps.elements import static_text
from foncier.maps.export import external_references, offline_problems, render_map, save_html, save_map
from foncier.maps.parcel_map import build_parcel_map
from foncier.maps.site_map import build_site_map
from foncier.maps.site_sheet import breakdown_chart_svg, build_site_sheet

from .fake import COMMUNES, OWNER, FakeResults

GENERATED = "made for the tests"


def visible(page: str) -> str:
    """The page with HTML entities and the JSON escapes of embedded HTML undone (what a reader sees)."""
    page = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), page).replace('\\"', '"')
    return html_lib.unescape(page)


def _site_data(html: str) -> dict:
    """The sites GeoJSON embedded in a site map."""
    match = re.search(r"= foncierSitesLayer\(\w+, ", html)
    assert match, "no sites data in the page"
    data, _ = json.JSONDecoder().raw_decode(html, match.end())
    return dict(data)


def _site_map(fake: FakeResults, **kwargs: object) -> str:
    options = {
        "profile": "default",
        "breakdown": fake.breakdown,
        "provenance": fake.provenance,
        "generated": GENERATED,
        **kwargs,
    }
    m = build_site_map(fake.sites, fake.layers, **options)  # type: ignore[arg-type]
    return visible(render_map(m, offline=bool(kwargs.get("offline", False))))


def test_site_map_holds_every_site_with_compact_popup_data(fake: FakeResults) -> None:
    html = _site_map(fake, synthetic=True)
    data = _site_data(html)
    assert len(data["features"]) == len(fake.sites)
    props = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    best = fake.sites.iloc[0]
    p = props[best["site_id"]]
    assert p["r"] == 1 and p["x"] == 0 and p["s"] == pytest.approx(best["score"], abs=1e-3)
    assert p["a"] == round(best["area_m2"]) and p["lo"] == round(best["min_lot_m2"])
    assert p["t"] == pytest.approx(best["time_to_roissy_min"], abs=0.1)
    assert p["m"] == dict(COMMUNES)[best["communes"]]  # commune names, not codes
    assert len(p["b"]) == 7  # one [raw, value] pair per criterion
    excluded = fake.sites[fake.sites["excluded"]].iloc[0]
    assert props[excluded["site_id"]]["why"] == excluded["reasons_fr"]
    # coordinates are rounded to 6 decimals at most
    coords = re.findall(r"\d+\.(\d+)", json.dumps(data["features"][0]["geometry"]))
    assert coords and max(len(c) for c in coords) <= 6


def test_site_map_layers_legend_panel_banner_and_provenance(fake: FakeResults) -> None:
    html = _site_map(fake, synthetic=True)
    for title in (
        "Zones d'activité",
        "Voies ferrées",
        "Gares fret",
        "Grands axes routiers",
        "Échangeurs",
        "Isochrones vers Roissy-CDG",
        "Zones inondables (PPRI)",
        "Espaces protégés",
        "Friches",
        "Sites candidats",
        "Communes",
    ):
        assert title in html, title
    assert "ÉCHANTILLON SYNTHÉTIQUE" in html
    assert "Score du site" in html and "Site exclu" in html  # legend
    in_code = static_text("site_map.js").count('data-site="')  # the list the browser rebuilds when filtering
    assert html.count('data-site="') - in_code == 10  # the side panel lists the top 10
    assert "Sources des données" in html and "communes.geojson" in html and "/home/someone" not in html
    assert GENERATED in html
    assert "L.control.scale" in html and "Control.FullScreen" in html
    assert '<html lang="fr">' in html
    # only main roads: the residential street of the made-up layer is left out
    assert "r3" not in html


def test_site_map_in_english_without_banner(fake: FakeResults) -> None:
    html = _site_map(fake, lang="en", synthetic=False, top=5)
    assert "SYNTHETIC SAMPLE" not in html and "ÉCHANTILLON" not in html
    assert "Business parks" in html and "Flood zones (PPRI)" in html and "The 5 best sites" in html
    assert html.count('data-site="') - static_text("site_map.js").count('data-site="') == 5
    assert '<html lang="en">' in html
    props = [f["properties"] for f in _site_data(html)["features"] if f["properties"]["x"]]
    assert props[0]["why"] == "red flood zone share > 0.1; zoning A or N"


def test_site_map_never_shows_parcels(fake: FakeResults) -> None:
    layers = {**fake.layers, "parcels": fake.parcels}
    html = render_map(build_site_map(fake.sites, layers, profile="default"), offline=False)
    # a parcel id appears only in the sites' search index (search by parcel id), never as a drawn parcel
    pid = fake.parcels["parcel_id"].iloc[0]
    search_index = "".join(re.findall(r'"ids":"([^"]*)"', html))
    assert html.count(pid) == search_index.count(pid)
    assert '"parcel_id"' not in html
    assert OWNER not in html


def test_online_site_map_has_a_basemap_and_a_minimap_offline_has_neither(
    fake: FakeResults, tmp_path: Path, assets_installed: None
) -> None:
    online = _site_map(fake)
    assert "tile.openstreetmap.org" in online and "Control.MiniMap" in online
    path = save_map(
        build_site_map(fake.sites, fake.layers, profile="default", offline=True), tmp_path / "sites.html", offline=True
    )
    html = path.read_text()
    assert "openstreetmap.org/{z}" not in html and "MiniMap" not in html
    assert external_references(html) == [] and offline_problems(path) == []


def test_site_map_rejects_results_without_scores(fake: FakeResults) -> None:
    with pytest.raises(ValueError, match="score"):
        build_site_map(fake.sites.drop(columns=["score"]), profile="default")
    with pytest.raises(ValueError, match="unknown language"):
        build_site_map(fake.sites, profile="default", lang="de")


def _sheet(fake: FakeResults, index: int = 0, **kwargs: object) -> str:
    site = fake.sites.iloc[[index]]
    ids = site.iloc[0]["parcel_ids"].split(",")
    parcels = fake.parcels[fake.parcels["parcel_id"].isin(ids)]
    options = {
        "profile": "default",
        "n_sites": len(fake.sites),
        "context": fake.layers,
        "commune_names": dict(COMMUNES),
        "provenance": fake.provenance,
        "generated": GENERATED,
        **kwargs,
    }
    return visible(build_site_sheet(site, parcels, fake.breakdown, **options))  # type: ignore[arg-type]


def test_site_sheet_shows_rank_breakdown_constraints_access_and_parcel_ids(fake: FakeResults) -> None:
    html = _sheet(fake, synthetic=True)
    site = fake.sites.iloc[0]
    assert f"Fiche site {site['site_id']}" in html and "Rang 1 sur 24" in html
    assert "<svg" in html and html.count("<rect") == 2 * 7  # weight and contribution bars of 7 criteria
    assert "Décomposition du score" in html and "Contraintes" in html and "Accès" in html
    assert "Temps d'accès à Roissy-CDG" in html and "Aucun motif d'exclusion" in html
    for pid in site["parcel_ids"].split(","):
        assert pid in html
    assert "ÉCHANTILLON SYNTHÉTIQUE" in html
    # the sheet's map holds only this site's parcels
    other = fake.sites.iloc[1]["parcel_ids"].split(",")[0]
    assert other not in html


def test_site_sheet_never_shows_owner_names(fake: FakeResults) -> None:
    assert "proprietaire" in fake.parcels.columns
    for lang in ("fr", "en"):
        html = _sheet(fake, lang=lang)
        assert OWNER not in html and "proprietaire" not in html


def test_site_sheet_of_an_excluded_site_gives_its_reasons_in_english(fake: FakeResults) -> None:
    index = int(fake.sites["excluded"].to_numpy().nonzero()[0][0])
    html = _sheet(fake, index=index, lang="en")
    assert "Reasons for exclusion" in html and "red flood zone share" in html
    assert "Site sheet" in html and "Cadastral parcels of the site" in html


def test_site_sheet_offline_is_self_contained(fake: FakeResults, tmp_path: Path, assets_installed: None) -> None:
    path = save_html(_sheet(fake, offline=True), tmp_path / "sheet.html", offline=True)
    assert offline_problems(path) == []
    assert "tile.openstreetmap.org" not in path.read_text()


def test_breakdown_chart_bars_are_proportional(fake: FakeResults) -> None:
    rows = fake.breakdown[fake.breakdown["site_id"] == fake.sites.index[0]]
    svg = breakdown_chart_svg(rows, width=470)
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="13"', svg)]
    weights, contribs = widths[0::2], widths[1::2]
    assert max(weights) == pytest.approx(470 - 190 - 78 - 10)
    assert all(c <= w + 1e-6 for c, w in zip(contribs, weights, strict=True))
    assert breakdown_chart_svg(rows.iloc[0:0]) == ""


def test_parcel_map_uses_vector_tiles_and_never_inline_parcels(fake: FakeResults) -> None:
    m = build_parcel_map(extent=fake.layers["communes"], communes=fake.layers["communes"], synthetic=True)
    html = render_map(m, offline=False)
    assert "/tiles/parcels/{z}/{x}/{y}.pbf" in html and "/tiles/sites/{z}/{x}/{y}.pbf" in html
    assert "L.vectorGrid.protobuf" in html and "leaflet.vectorgrid@" in html
    assert fake.parcels["parcel_id"].iloc[0] not in html
    assert "Couleur : disponibilité" in html and "ÉCHANTILLON SYNTHÉTIQUE" in html


def test_parcel_map_by_zoning_draws_the_plu_under_the_parcels(fake: FakeResults) -> None:
    plu = fake.layers["zones"].assign(typezone="U")[["typezone", "geometry"]]
    m = build_parcel_map(
        extent=[[49.3, 3.2], [49.45, 3.45]],
        color_by="zoning",
        zoning=plu,
        lang="en",
        tiles_url="http://127.0.0.1:8000/tiles/parcels/{z}/{x}/{y}.pbf",
        sites_tiles_url=None,
    )
    html = render_map(m, offline=False)
    assert "Colour: planning zone" in html and '"typezone": "U"' in html.replace('"typezone":"U"', '"typezone": "U"')
    assert "/tiles/sites/" not in html
    with pytest.raises(ValueError, match="color_by"):
        build_parcel_map(extent=[[49.3, 3.2], [49.45, 3.45]], color_by="owner")  # type: ignore[arg-type]


def test_an_excluded_site_shows_the_points_it_would_have_earned(fake: FakeResults) -> None:
    site_id = fake.sites[fake.sites["excluded"]].index[0]
    rows = fake.breakdown[fake.breakdown["site_id"] == site_id]
    assert (rows["contribution"] == 0).all()
    svg = breakdown_chart_svg(rows, excluded=True)
    assert svg.count(">(") == len(rows)  # the would-be points, in brackets
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="13"', svg)][1::2]
    assert max(widths) > 0


def test_site_sheet_shows_availability_ties_unverified_and_effective_weights(fake: FakeResults) -> None:
    plain = _sheet(fake)
    assert "Disponibilité" not in plain and "ex æquo" not in plain and "Poids effectifs" not in plain
    site = fake.sites.iloc[[2]].assign(
        availability="under_option", status_date="2026-11-02T10:00:00", group_first=2, group_last=5,
        n_unverified=1, unverified_fr="zone de PPR, règle à lire",
    )  # fmt: skip
    ids = site.iloc[0]["parcel_ids"].split(",")
    weights = pd.DataFrame(
        {"weight": [0.6, 0.4], "effective_share": [0.25, 0.75]}, index=["time_to_roissy_min", "area_m2"]
    )
    html = visible(
        build_site_sheet(
            site,
            fake.parcels[fake.parcels["parcel_id"].isin(ids)],
            fake.breakdown,
            profile="default",
            generated=GENERATED,
            effective_weights=weights,
        )
    )
    assert "sous option (statut modifié le 2026-11-02)" in html
    assert "ex æquo des rangs 2 à 5" in html
    assert "zone de PPR, règle à lire" in html
    eff = html[html.index("Poids effectifs") :]
    # largest effective share first, with the nominal weight beside it
    assert eff.index("Surface") < eff.index("Roissy")
    assert "75 %" in eff and "poids nominal 40 %" in eff

"""labour_communes: the communes of the neighbouring departments, from geo.api.gouv.fr (issue 12)."""

from __future__ import annotations

from pathlib import Path

from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.sources import FetchContext
from foncier.layers.fetch.sources.geoapi import fetch_labour_communes
from foncier.layers.fetch.territory import load_territory

from .conftest import Services


def test_neighbouring_departments_are_fetched_for_the_labour_pool(
    services: Services, fetch_settings: FetchSettings, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("communes: ['02810']\nlabour_departments: ['02', 60, '51']\n", "utf-8")
    territory = load_territory(path)
    assert territory.labour_departments == ["02", "60", "51"]
    result = fetch_labour_communes(FetchContext(client=HttpClient(fetch_settings), territory=territory))
    gdf = result.layers["labour_communes"]
    # the Aisne and the Oise (real IGN outlines: 804 + 686 communes), not the territory alone
    assert gdf["insee"].str[:2].value_counts().to_dict() == {"02": 804, "60": 686}
    assert gdf.crs.to_epsg() == 2154 and set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    assert {"60159", "60176"} <= set(gdf["insee"])  # Compiègne, Crépy-en-Valois
    assert gdf.loc[gdf["insee"] == "02722", "population"].iloc[0] > 25_000  # Soissons
    # the Marne is not served here: the failure is named and the layer is not complete
    assert any("department 51" in f for f in result.failures) and not result.complete
    queries = [r.query for r in services.requests if r.path.startswith("/geo/departements/")]
    assert queries and all(q["geometry"] == "contour" and q["format"] == "geojson" for q in queries)


def test_no_labour_departments_means_nothing_to_fetch(fetch_settings: FetchSettings, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("communes: ['02810']\n", "utf-8")
    result = fetch_labour_communes(FetchContext(client=HttpClient(fetch_settings), territory=load_territory(path)))
    assert len(result.layers["labour_communes"]) == 0 and result.warnings  # an empty layer: nothing asked

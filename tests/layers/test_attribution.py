"""Attribution lines and licence links of the workspace layers."""

from __future__ import annotations

from foncier.layers.attribution import (
    LAYER_SOURCES,
    ODBL_NOTICE,
    attributions,
    licence_link,
    odbl_notice,
    osm_derived,
)
from foncier.layers.schemas import SCHEMAS


def test_every_canonical_layer_has_a_credit_and_licence() -> None:
    missing = [name for name in SCHEMAS if name not in LAYER_SOURCES and name != "hubs"]
    assert missing == []


def test_attributions_once_each_in_order() -> None:
    credits = attributions(["roads", "interchanges", "parcels", "rail_lines", "flood", "protected", "dem"])
    assert credits[0] == "© DGFiP / Etalab (cadastre)"
    assert credits.count("© OpenStreetMap contributors") == 1
    assert {"© SNCF Réseau", "© Copernicus DEM GLO-30 (ESA)", "© INPN / MNHN (IGN API Carto)"} <= set(credits)
    assert attributions(["sites", "criteria"]) == []


def test_licence_links() -> None:
    link = licence_link("roads")
    assert link is not None and link["rel"] == "license" and "odbl" in link["href"]
    parcels = licence_link("parcels")
    assert parcels is not None and "etalab" in parcels["href"]
    assert licence_link("sites") is None


def test_odbl_notice_only_with_osm_layers() -> None:
    assert odbl_notice(["parcels", "plu"]) is None
    assert odbl_notice(["parcels", "roads", "scores"]) == ODBL_NOTICE
    assert osm_derived(["roads", "scores", "parcels"]) == ["roads", "scores"]

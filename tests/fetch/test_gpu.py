"""GPU cartes communales, RNU communes, PLU prescriptions and nature reserves against the local server,
including empty and failed answers."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from foncier.geo.criteria import compute_criteria
from foncier.geo.crs import LAMBERT93
from foncier.geo.zoning import classify_zones
from foncier.layers.fetch.sources import FetchContext, fetch_plu, fetch_protected
from foncier.layers.fetch.sources.gpu import fetch_prescriptions, is_true

from .conftest import Fault, Services
from .gpu_answers import CC_COMMUNE, RNU_COMMUNE


def test_carte_communale_sectors_and_rnu_commune_join_the_plu(ctx: FetchContext, services: Services) -> None:
    result = fetch_plu(ctx)
    assert result.complete, result.failures
    plu = result.layers["plu"]
    cc = plu[plu["insee"] == CC_COMMUNE].set_index("libelle")
    cc = cc[cc["typesect"].notna()]
    assert cc.loc["ZCa", "typezone"] == "ZCa" and cc.loc["ZCa", "typesect"] == "02"  # activities, not agriculture
    assert cc.loc["ZC", "typezone"] == "ZC" and cc.loc["ZnC", "typezone"] == "ZnC"
    classes = classify_zones(plu)
    zca = plu.index[(plu["typezone"] == "ZCa").to_numpy()]
    assert classes.loc[zca, "zoning_class"].tolist() == ["cc_activity"]
    rnu = plu[plu["typezone"] == "RNU"]
    assert rnu["insee"].tolist() == [RNU_COMMUNE]
    assert (classes.loc[rnu.index, "zoning_class"] == "rnu").all()
    assert any(RNU_COMMUNE in w and "RNU" in w for w in result.warnings)
    assert services.count("/apicarto/gpu/secteur-cc") >= 1 and services.count("/apicarto/gpu/municipality") >= 1
    assert plu.loc[plu["typezone"] == "ZCa", "datappro"].tolist() == ["20150312"]


def test_rnu_commune_and_failed_zoning_are_told_apart(ctx: FetchContext, services: Services) -> None:
    services.fail("/apicarto/gpu/secteur-cc", Fault("status", status=503, times=-1))
    result = fetch_plu(ctx)
    assert not result.complete and any("secteur-cc" in f for f in result.failures)
    plu = result.layers["plu"]
    assert "ZCa" not in set(plu["typezone"])  # nothing invented for the failed resource
    assert plu.loc[plu["typezone"] == "RNU", "insee"].tolist() == [RNU_COMMUNE]
    # a site in the RNU commune is "rnu"; a site where no zoning came back is "none" (unverified)
    rnu_outline = plu.loc[plu["typezone"] == "RNU"].geometry.iloc[0]
    c = rnu_outline.representative_point()
    far = ctx.footprint.bounds
    sites = gpd.GeoDataFrame(
        {"site_id": ["Srnu", "Snone"]},
        geometry=[box(c.x - 5, c.y - 5, c.x + 5, c.y + 5), box(far[0] - 500, far[1] - 500, far[0] - 400, far[1] - 400)],
        crs=LAMBERT93,
    )
    table = compute_criteria(sites, {"plu": plu}, None)
    assert table["zoning_class"].tolist() == ["rnu", "none"]


def test_empty_answers(ctx: FetchContext, services: Services) -> None:
    services.data.gpu["secteur-cc"] = []
    services.data.gpu["municipality"] = []
    services.data.gpu["prescription-surf"] = []
    plu = fetch_plu(ctx)
    assert plu.complete and not {"ZC", "ZCa", "ZnC", "RNU"} & set(plu.layers["plu"]["typezone"])
    result = fetch_prescriptions(ctx)
    assert result.complete
    assert result.layers["prescriptions"].empty and "prescriptions" in result.provenance
    assert any("no feature" in w for w in result.warnings)


def test_prescriptions(ctx: FetchContext, services: Services) -> None:
    result = fetch_prescriptions(ctx)
    assert result.complete, result.failures
    gdf = result.layers["prescriptions"]
    kind = dict(zip(gdf["typepsc"].astype(str), gdf["kind"].astype(str), strict=True))
    assert kind == {"01": "ebc", "05": "reserved_location", "02": "no_build", "07": "other"}
    assert gdf.crs.to_epsg() == 2154
    assert services.count("/apicarto/gpu/prescription-surf") >= 1


def test_prescriptions_failed_answer(ctx: FetchContext, services: Services) -> None:
    services.fail("/apicarto/gpu/prescription-surf", Fault("status", status=500, times=-1))
    result = fetch_prescriptions(ctx)
    assert not result.complete and result.failures


def test_nature_reserves(ctx: FetchContext, services: Services) -> None:
    result = fetch_protected(ctx)
    assert result.complete, result.failures
    gdf = result.layers["protected"]
    reserve = gdf[gdf["kind"] == "rnn"]
    assert reserve["code"].tolist() == ["FR3600123"] and reserve["nom"].tolist() == ["Réserve naturelle test"]
    assert services.count("/apicarto/nature/rnn") >= 1 and services.count("/apicarto/nature/pn") >= 1


def test_nature_reserves_failed_answer(ctx: FetchContext, services: Services) -> None:
    services.fail("/apicarto/nature/rnn", Fault("status", status=503, times=-1))
    result = fetch_protected(ctx)
    assert not result.complete and any("rnn" in f for f in result.failures)


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), ("t", True), (1, True), (False, False),
                                                 ("false", False), (None, False), ("f", False)])  # fmt: skip
def test_is_true(value: object, expected: bool) -> None:
    assert is_true(value) is expected

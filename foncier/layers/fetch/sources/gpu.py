"""Géoportail de l'urbanisme through API Carto: carte communale sectors, RNU communes and PLU prescriptions.

- ``gpu/secteur-cc`` (CNIG "CC" standard): sectors of the cartes communales, ``typesect`` 01 open to
  building, 02 reserved for activities, 03 not open, 99 not covered; they join the ``plu`` layer with
  ``typezone`` ZC / ZCa / ZnC / RNU (:data:`foncier.geo.zoning.CC_SECTOR_TYPEZONE`).
- ``gpu/municipality``: the commune record, ``is_rnu`` true when the commune is under the Règlement national
  d'urbanisme (no plan of its own); such a commune joins the ``plu`` layer as one ``RNU`` polygon, so that a
  commune *under the RNU* (class ``rnu``) and a commune *whose zoning fetch failed* (no zone at all: class
  ``none``, unverified) are told apart.
- ``gpu/prescription-surf``: surface prescriptions of the PLU (``typepsc``, ``stypepsc``, ``libelle``,
  ``txt``...), classified by :func:`foncier.geo.hazards.prescription_kind` into the ``prescriptions`` layer
  (EBC 01, inconstructible 02, emplacement réservé 05; others kept as ``other``).

Answers are GeoServer FeatureCollections capped at 5000 features without paging (split on the cap, see
:func:`foncier.layers.fetch.sources.apicarto._gpu_features`).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import shape as shapely_shape

from foncier.geo.crs import LAMBERT93, WGS84
from foncier.geo.hazards import prescription_kind
from foncier.geo.zoning import CC_SECTOR_TYPEZONE
from foncier.layers.fetch.sources._common import (
    FetchContext,
    SourceResult,
    _dedupe,
    _finish,
    _in_footprint,
    _progress,
    frame_from_features,
    query_tiles,
)
from foncier.layers.fetch.sources.apicarto import _gpu_features

logger = logging.getLogger(__name__)

__all__ = ["fetch_cc_sectors", "fetch_prescriptions", "fetch_rnu_communes", "is_true"]

PLU_COLUMNS = ("typezone", "destdomi", "libelle", "typesect", "datappro", "urlfic", "idurba", "insee", "partition")


def is_true(value: Any) -> bool:
    """GPU booleans: true, "true", "t", 1, "1", "oui"."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "t", "1", "oui", "yes")


def _collect(ctx: FetchContext, result: SourceResult, resource: str, label: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), label):
        features.extend(_gpu_features(ctx, result, resource, box, {}))
    return _dedupe(features, "gid")


def _text(gdf: gpd.GeoDataFrame, column: str) -> pd.Series:
    if column not in gdf.columns:
        return pd.Series(pd.NA, index=gdf.index, dtype="string")
    return gdf[column].astype("string")


def fetch_cc_sectors(ctx: FetchContext, result: SourceResult) -> gpd.GeoDataFrame:
    """Carte communale sectors as ``plu`` rows (WGS84): ``typezone`` from ``typesect``, ``libelle``,
    ``typesect``, ``datappro``, ``urlfic``, ``idurba``, ``insee``; sectors whose ``typesect`` is not a CNIG
    code keep their label (classified from it, presumed) and are counted in a warning."""
    gdf = _in_footprint(ctx, frame_from_features(_collect(ctx, result, "gpu/secteur-cc", "plu (cartes communales)")))
    if gdf.empty:
        return gpd.GeoDataFrame({c: [] for c in PLU_COLUMNS}, geometry=[], crs=WGS84)
    typesect = _text(gdf, "typesect").str.strip().str.zfill(2)
    typezone = typesect.map(lambda v: CC_SECTOR_TYPEZONE.get(v) if isinstance(v, str) else None)
    unknown = typezone.isna()
    if unknown.any():
        labels = _text(gdf, "libelle").str.strip().str.upper()
        by_label = labels.map({"ZC": "ZC", "ZCA": "ZCa", "ZNC": "ZnC"})
        typezone = typezone.where(~unknown, by_label)
        result.warnings.append(
            f"plu: {int(unknown.sum())} carte communale sector(s) without a CNIG typesect, read from their label"
        )
    out = gpd.GeoDataFrame(
        {
            "typezone": typezone.astype("string"),
            "destdomi": _text(gdf, "destdomi"),
            "libelle": _text(gdf, "libelle"),
            "typesect": typesect.where(~unknown, pd.NA),
            "datappro": _text(gdf, "datappro"),
            "urlfic": _text(gdf, "urlfic"),
            "idurba": _text(gdf, "idurba"),
            "insee": _text(gdf, "insee"),
            "partition": _text(gdf, "partition"),
        },
        geometry=gdf.geometry,
        crs=gdf.crs or WGS84,
    )
    dropped = out["typezone"].isna()
    if dropped.any():
        result.warnings.append(f"plu: {int(dropped.sum())} carte communale sector(s) of unknown type left out")
    return out[~dropped.to_numpy()]


def fetch_rnu_communes(ctx: FetchContext, result: SourceResult) -> gpd.GeoDataFrame:
    """Communes under the RNU (``gpu/municipality``, ``is_rnu``) as ``plu`` rows of ``typezone`` RNU (WGS84).

    The commune's own outline comes from the answer; when the answer has no geometry, from the territory's
    communes (``ctx.communes``). The INSEE codes are recorded in a warning, so that the fetch report names
    them."""
    feats = _collect(ctx, result, "gpu/municipality", "plu (RNU)")
    records = []
    for feat in feats:
        props = feat.get("properties") or {}
        if not is_true(props.get("is_rnu")):
            continue
        records.append((str(props.get("insee") or ""), props.get("name"), feat.get("geometry")))
    if not records:
        return gpd.GeoDataFrame({c: [] for c in PLU_COLUMNS}, geometry=[], crs=WGS84)
    outlines: dict[str, shapely.Geometry] = {}
    if ctx.communes is not None and "insee" in ctx.communes:
        lonlat = ctx.communes if ctx.communes.crs is not None else ctx.communes.set_crs(LAMBERT93)
        lonlat = lonlat.to_crs(WGS84)
        outlines = dict(zip(lonlat["insee"].astype(str), lonlat.geometry, strict=True))
    rows, geoms = [], []
    for insee, _name, geom in records:
        shape = shapely_shape(geom) if geom else outlines.get(insee)
        if shape is None or shape.is_empty:
            result.warnings.append(f"plu: RNU commune {insee} without an outline, left out")
            continue
        rows.append({"typezone": "RNU", "destdomi": None, "libelle": "RNU", "typesect": None, "datappro": None,
                     "urlfic": None, "idurba": None, "insee": insee, "partition": None})  # fmt: skip
        geoms.append(shape)
    if rows:
        names = ", ".join(sorted(str(r["insee"]) for r in rows))
        result.warnings.append(f"plu: {len(rows)} commune(s) under the RNU (no local plan): {names}")
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(PLU_COLUMNS)), geometry=geoms, crs=WGS84)
    return _in_footprint(ctx, out)


def fetch_prescriptions(ctx: FetchContext) -> SourceResult:
    """PLU surface prescriptions (``gpu/prescription-surf``) as the ``prescriptions`` layer: ``kind`` (ebc,
    no_build, reserved_location, other), ``typepsc``, ``libelle``, ``urlfic``."""
    result = SourceResult()
    gdf = _in_footprint(ctx, frame_from_features(_collect(ctx, result, "gpu/prescription-surf", "prescriptions")))
    source = f"{ctx.settings.base_url('apicarto')}/gpu/prescription-surf?geom={{tile}}"
    if not gdf.empty:
        typepsc = _text(gdf, "typepsc")
        label = _text(gdf, "libelle")
        kinds = [prescription_kind(t, lb) for t, lb in zip(typepsc.tolist(), label.tolist(), strict=True)]
        gdf = gpd.GeoDataFrame(
            {"kind": kinds, "typepsc": typepsc, "libelle": label, "urlfic": _text(gdf, "urlfic")},
            geometry=gdf.geometry,
            crs=gdf.crs or WGS84,
        )
        counts = gdf["kind"].value_counts().to_dict()
        logger.info("prescriptions: %s", counts)
    _finish(result, "prescriptions", gdf, source=source, entries=result.entries, vintage="current (GPU)")
    return result

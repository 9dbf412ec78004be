"""The heavy, once-per-refresh part: candidate sites, criteria and isochrones, then the built-in profiles' scores.

``run_pipeline`` reads the canonical layers of a workspace, finds the candidate sites (contiguous available
parcels), computes the criteria table (travel times, overlays, slopes, labour pool), the isochrones to
Roissy, and stores them with the scores of every built-in profile, in one atomic write. Rescoring with other
weights afterwards only reads the ``criteria`` table (:mod:`foncier.layers.results`).

The inputs' provenance checksums are recorded in the metadata (``criteria_inputs``): :func:`criteria_are_current`
tells whether the stored criteria still match the stored layers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from foncier.errors import LayerNotFoundError
from foncier.geo.availability import (
    DEFAULT_BUILT_THRESHOLD,
    inventory_criteria,
    parcel_availability,
    state_counts,
)
from foncier.geo.criteria import compute_criteria, labour_communes, labour_population_column
from foncier.geo.network import build_vehicle_graphs, isochrones, roissy_hub
from foncier.geo.overlay import dominant_value
from foncier.geo.profile import Profile
from foncier.geo.scoring import score_sites
from foncier.geo.sensitivity import ranking_diagnostics
from foncier.geo.sites import apply_site_ids, candidate_sites, site_flags, smallest_site_area, stable_site_ids
from foncier.layers.coverage import constraint_coverage
from foncier.layers.profile_store import dump_profile, list_profiles, load_profile
from foncier.layers.schemas import SCHEMAS
from foncier.layers.statuses import require_valid_statuses
from foncier.layers.workspace import Provenance, Workspace, frame_checksum

logger = logging.getLogger(__name__)

#: Layers the criteria depend on (their provenance fingerprints the criteria table).
CRITERIA_INPUTS = (
    "parcels", "communes", "zones", "roads", "interchanges", "rail_stations", "hubs", "plu", "flood",
    "protected", "friches", "dem", "rail_lines", "labour_communes",
    "buildings", "terrains",
)  # fmt: skip
ISOCHRONE_MINUTES = (15, 30, 45, 60)

StepCallback = Callable[[str], None]


@dataclass
class PipelineReport:
    """What a pipeline run did, with the time of each step (seconds)."""

    n_parcels: int = 0
    n_available: int = 0
    n_sites: int = 0
    n_unverified: dict[str, int] = field(default_factory=dict)
    """Per profile, the number of sites with at least one constraint not checked (unverified, never passed)."""
    profiles: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        """Sum of the step times."""
        return sum(self.timings.values())


def inputs_fingerprint(ws: Workspace) -> str:
    """SHA-256 over the provenance (source, checksum, count) of the layers the criteria depend on, and over
    the parcels' availability statuses (land officers edit them in place, in QGIS or with ``foncier status``)."""
    prov = ws.provenance()
    prov = prov[prov["layer"].isin(CRITERIA_INPUTS)].sort_values("layer")
    digest = hashlib.sha256()
    digest.update("|".join(f"{r.layer}:{r.checksum}:{r.feature_count}" for r in prov.itertuples()).encode())
    if "parcels" in ws.list_layers():
        digest.update(ws.statuses_digest().encode())
    digest.update(f"built_threshold={built_threshold(ws):g}".encode())
    return digest.hexdigest()


def built_threshold(ws: Workspace) -> float:
    """The built share above which a parcel counts as built, as set for the workspace (``foncier score
    --built-threshold``, stored in the metadata as ``built_threshold``), else 0.10."""
    try:
        return float(ws.metadata.get("built_threshold", DEFAULT_BUILT_THRESHOLD))
    except ValueError:
        return DEFAULT_BUILT_THRESHOLD


def criteria_are_current(ws: Workspace) -> bool:
    """Whether the stored criteria were computed from the layers now in the workspace."""
    return "criteria" in ws.list_layers() and ws.metadata.get("criteria_inputs") == inputs_fingerprint(ws)


def _profile_column(name: str) -> str:
    """A column-name-safe form of a profile name ("bio-economy" -> "bio_economy")."""
    return "".join(c if c.isalnum() else "_" for c in name.lower())


def profile_record(profile: Profile) -> dict[str, str]:
    """One row of the ``score_profiles`` table: the profile exactly as it was used (to reproduce a run)."""
    return {
        "profile": profile.name,
        "fingerprint": profile.fingerprint(),
        "definition_yaml": dump_profile(profile),
        "scored_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }


def run_pipeline(
    ws: Workspace,
    *,
    profiles: Sequence[str | Path | Profile] | None = None,
    gap_m: float = 5.0,
    min_area_m2: float | None = None,
    on_step: StepCallback | None = None,
) -> PipelineReport:
    """Compute and store sites, criteria, isochrones and the scores of ``profiles`` (default: all built-ins).

    The whole read-compute-write cycle holds the workspace lock (no other foncier writer interleaves), and
    the stored ``criteria_inputs`` fingerprint is taken BEFORE the layers are read: an edit made meanwhile
    by another program (a status changed in QGIS) makes the criteria stale, so the next run recomputes.

    Parameters
    ----------
    ws : Workspace
        A workspace holding at least ``parcels`` (and, for meaningful criteria, the other canonical layers).
    profiles : sequence of str, Path or Profile, optional
        Profiles whose scores are stored in ``scores``/``score_breakdown``; default every built-in profile.
    gap_m : float, default 5
        Parcels closer than this are contiguous (a lane does not split a site).
    min_area_m2 : float, optional
        Smallest candidate site kept (profiles may exclude more); default the smallest ``min_site_area_m2``
        of ``profiles`` (1 ha when none sets one): eco-construction's 0.5 ha sites are built.
    on_step : callable, optional
        Called with the name of each step as it starts (progress display).

    Raises
    ------
    foncier.errors.LayerNotFoundError
        When the workspace has no parcels.
    """
    with ws.lock():
        return _run_pipeline_locked(ws, profiles=profiles, gap_m=gap_m, min_area_m2=min_area_m2, on_step=on_step)


def _run_pipeline_locked(
    ws: Workspace,
    *,
    profiles: Sequence[str | Path | Profile] | None,
    gap_m: float,
    min_area_m2: float | None,
    on_step: StepCallback | None,
) -> PipelineReport:
    report = PipelineReport()
    stored = set(ws.list_layers())
    fingerprint = inputs_fingerprint(ws)  # of the inputs read below, not of those present at the end
    if "parcels" not in stored:
        raise LayerNotFoundError(f"workspace {ws.path} has no parcels: ingest or fetch them first")

    def step(name: str) -> None:
        if on_step is not None:
            on_step(name)
        logger.info("pipeline: %s", name)

    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.timings[name] = round(now - clock, 3)
        clock = now

    step("reading layers")
    require_valid_statuses(ws)  # a status typed outside the vocabulary is reported, never read as "available"
    layers: dict[str, gpd.GeoDataFrame | None] = {
        name: ws.read_layer(name) if name in stored else None for name in SCHEMAS
    }
    dem = ws.read_dem() if ws.has_layer("dem") else None
    parcels = layers["parcels"]
    assert parcels is not None
    report.n_parcels = len(parcels)
    lap("read")

    step("finding available parcels and candidate sites")
    availability = parcel_availability(
        parcels, buildings=layers.get("buildings"), plu=layers["plu"], zones=layers["zones"],
        friches=layers["friches"], terrains=layers.get("terrains"), built_threshold=built_threshold(ws),
    )  # fmt: skip
    available = availability["candidate"].astype(bool)
    report.n_available = int(available.sum())
    wanted = profiles if profiles is not None else list_profiles()
    profile_list = [p if isinstance(p, Profile) else load_profile(p) for p in wanted]
    if min_area_m2 is None:
        min_area_m2 = smallest_site_area([p.min_site_area_m2 for p in profile_list])
    sites, site_parcels = candidate_sites(parcels[available.to_numpy()], gap_m=gap_m, min_area_m2=min_area_m2)
    # stable identity: a site keeps its id when most of its land is the same as in the stored sites
    parcel_area = pd.Series(parcels.geometry.area.to_numpy(), index=parcels["parcel_id"].astype(str).to_numpy())
    previous = ws.read_table("site_parcels") if "site_parcels" in stored else None
    previous_area = ws.read_table("sites").set_index("site_id")["area_m2"] if "sites" in stored else None  # fmt: skip
    renames, lineage = stable_site_ids(site_parcels, parcel_area, previous, previous_area=previous_area,
                                       recorded=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))  # fmt: skip
    sites, site_parcels = apply_site_ids(sites, site_parcels, renames)
    if "site_lineage" in stored:
        lineage = pd.concat([ws.read_table("site_lineage"), lineage], ignore_index=True)
    sites["flags"] = sites["site_id"].map(site_flags(site_parcels, availability)).fillna("").astype(str)
    report.n_sites = len(sites)
    lap("sites")

    parcel_zoning = None
    if layers["plu"] is not None and len(layers["plu"]):
        step("zoning of every parcel")
        zoning = dominant_value(parcels, layers["plu"], "typezone")
        parcel_zoning = pd.DataFrame({"parcel_id": parcels["parcel_id"].astype(str).to_numpy(),
                                      "typezone": zoning.to_numpy()})  # fmt: skip
        lap("parcel zoning")

    step("building the road graph")
    graphs = build_vehicle_graphs(layers["roads"], communes=layers["communes"])  # calibrated car and HGV speeds
    graph = graphs.get("car")
    lap("graph")

    step("computing criteria (travel times, overlays, slopes, labour pool)")
    coverage = constraint_coverage(ws.provenance(), layers["communes"])  # partial layers: unverified outside
    criteria = compute_criteria(sites, layers, dem, graph=graph, hgv_graph=graphs.get("hgv"), coverage=coverage)
    inventory = inventory_criteria(site_parcels, parcel_area, layers.get("terrains"))
    for column in inventory.columns:  # from the zones d'activité inventory (CNIG TERRAIN-ECO), NaN elsewhere
        criteria[column] = inventory[column].reindex(criteria.index).to_numpy()
    lap("criteria")

    iso = None
    hubs = layers["hubs"]
    cdg = roissy_hub(hubs) if hubs is not None else None
    if graph is not None and cdg is not None and len(cdg):
        step("isochrones to Roissy")
        iso = isochrones(graph, cdg, ISOCHRONE_MINUTES, reverse=True)
        iso["hub_id"] = "CDG"
        lap("isochrones")

    step("scoring the profiles")
    score_tables, breakdown_tables, profile_rows = [], [], []
    effective_tables: list[pd.DataFrame] = []
    group_tables: list[pd.DataFrame] = []
    constraint_tables: list[pd.DataFrame] = []
    for profile in profile_list:
        result = score_sites(criteria, profile)
        eff, groups = ranking_diagnostics(criteria, profile)  # effective weights, rank groups (issue 12)
        effective_tables.append(eff)
        group_tables.append(groups)
        s, b = result.to_tables()
        score_tables.append(s)
        breakdown_tables.append(b)
        constraint_tables.append(result.constraints_table())
        report.n_unverified[profile.name] = int((result.scores["n_unverified"] > 0).sum())
        report.profiles.append(profile.name)
        profile_rows.append(profile_record(profile))
        report.problems += [f"{profile.name}: {p}" for p in result.problems]
    lap("scoring")

    # QGIS users get each built-in profile's score and rank on the sites layer itself (style by score_logistics...)
    sites = sites.copy()
    for table in score_tables:
        name = str(table["profile"].iloc[0]) if len(table) else None
        if name is None:
            continue
        by_site = table.set_index("site_id")
        column = _profile_column(name)
        sites[f"score_{column}"] = sites["site_id"].map(by_site["score"]).astype("float64")
        sites[f"rank_{column}"] = sites["site_id"].map(by_site["rank"]).astype("Int64")

    step("storing results")
    criteria_table = criteria.reset_index()
    outputs: dict[str, pd.DataFrame] = {
        "sites": sites,
        "site_parcels": site_parcels,
        "criteria": criteria_table,
        "site_lineage": lineage,
        "parcel_availability": pd.DataFrame(availability).assign(candidate=available.astype("int64").to_numpy()),
    }
    if score_tables:
        outputs["scores"] = pd.concat(score_tables, ignore_index=True)
        outputs["score_breakdown"] = pd.concat(breakdown_tables, ignore_index=True)
        outputs["score_profiles"] = pd.DataFrame(profile_rows)
        outputs["effective_weights"] = pd.concat(effective_tables, ignore_index=True)
        outputs["rank_groups"] = pd.concat(group_tables, ignore_index=True)
        outputs["site_constraints"] = pd.concat(constraint_tables, ignore_index=True)
    if iso is not None:
        outputs["isochrones"] = iso
    if parcel_zoning is not None:
        outputs["parcel_zoning"] = parcel_zoning
    meta = ws.metadata
    meta["criteria_inputs"] = fingerprint
    meta["criteria_computed"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    meta["site_gap_m"] = f"{gap_m:g}"
    meta["site_min_area_m2"] = f"{min_area_m2:g}"
    pool = labour_communes(layers)  # which population the labour pool counted (issue 12)
    basis = labour_population_column(pool) if pool is not None else "population"
    meta["labour_pool_basis"] = "working-age population (15-64)" if basis != "population" else "total population"
    meta["built_threshold"] = f"{built_threshold(ws):g}"
    meta["availability_counts"] = json.dumps(state_counts(availability))
    outputs["metadata"] = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
    provenance = [
        Provenance(
            layer=name,
            source="foncier pipeline (derived from the workspace layers)",
            licence="derived data: same licences as the inputs",
            vintage=meta["criteria_computed"],
            feature_count=len(outputs[name]),
            checksum=frame_checksum(outputs[name]),
        )
        for name in ("sites", "criteria")
    ]
    ws.write_layers(outputs, provenance)
    lap("store")
    return report

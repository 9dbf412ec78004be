"""Fetch a territory's layers into a workspace: :func:`fetch_territory`.

The communes come first (their outlines are the footprint every other layer is cut to), then each
requested source in turn. Each layer is validated and stored as soon as its source is done, with its
provenance, so an interrupted run keeps every layer already stored and every file already downloaded
(the cache); running the same command again downloads only what is missing. At the end the stored layers
are read back from the workspace and validated again: what the scoring engine will read is checked.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from foncier.errors import FetchError, FoncierError, ValidationError, WorkspaceError
from foncier.layers.fetch.http import ContentCache, FetchStats, HttpClient
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.sources import (
    FetchContext,
    SourceResult,
    fetch_buildings,
    fetch_communes,
    fetch_dem_layer,
    fetch_flood,
    fetch_friches,
    fetch_parcels,
    fetch_plu,
    fetch_protected,
    fetch_rail,
    fetch_roads,
    territory_hubs,
)
from foncier.layers.fetch.sources.geoapi import fetch_labour_communes
from foncier.layers.fetch.sources.gpu import fetch_prescriptions
from foncier.layers.fetch.territory import Territory, load_territory
from foncier.layers.merge import commune_column, merge_by_commune
from foncier.layers.schemas import SCHEMAS
from foncier.layers.statuses import HISTORY_TABLE, carry_statuses, ensure_status_triggers
from foncier.layers.validate import validate_layer
from foncier.layers.workspace import GPKG_NAME, Provenance, Workspace, frame_checksum

logger = logging.getLogger(__name__)

FETCH_LAYERS: tuple[str, ...] = (
    "communes",
    "labour_communes",
    "parcels",
    "buildings",
    "plu",
    "prescriptions",
    "protected",
    "flood",
    "friches",
    "rail_lines",
    "rail_stations",
    "roads",
    "interchanges",
    "hubs",
    "dem",
)
"""Layers ``foncier fetch`` can fill (``zones`` come from local inventories: ``foncier ingest``)."""

LAYER_GROUPS: dict[str, tuple[str, ...]] = {
    "all": FETCH_LAYERS,
    "rail": ("rail_lines", "rail_stations"),
    "osm": ("roads", "interchanges"),
}
"""Shorthands accepted by ``--layers``."""

NEEDS_OUTLINES = frozenset(
    {"plu", "prescriptions", "protected", "flood", "rail_lines", "rail_stations", "roads", "interchanges", "dem"}
)
"""Layers cut to the communes' outlines (the others need only the INSEE codes, when the territory lists them)."""

Runner = Callable[[FetchContext, tuple[str, ...]], SourceResult]

_SOURCES: tuple[tuple[tuple[str, ...], Runner], ...] = (
    (("parcels",), lambda ctx, _: fetch_parcels(ctx)),
    (("labour_communes",), lambda ctx, _: fetch_labour_communes(ctx)),
    (("buildings",), lambda ctx, _: fetch_buildings(ctx)),
    (("plu",), lambda ctx, _: fetch_plu(ctx)),
    (("prescriptions",), lambda ctx, _: fetch_prescriptions(ctx)),
    (("protected",), lambda ctx, _: fetch_protected(ctx)),
    (("flood",), lambda ctx, _: fetch_flood(ctx)),
    (("friches",), lambda ctx, _: fetch_friches(ctx)),
    (("rail_lines", "rail_stations"), fetch_rail),
    (("roads", "interchanges"), fetch_roads),
    (("hubs",), lambda ctx, _: territory_hubs(ctx)),
    (("dem",), lambda ctx, _: fetch_dem_layer(ctx)),
)


@dataclass
class LayerReport:
    """Outcome of one layer.

    Attributes
    ----------
    layer : str
        Canonical layer name.
    status : str
        ``stored`` (complete), ``partial`` (stored, but some items failed or are missing: run again),
        ``empty`` (the source has nothing in the territory: an empty layer is stored), ``failed`` or
        ``missing`` (offline, not in the cache): nothing stored; ``kept``: the fetch was incomplete and the
        layer already stored is kept unchanged (``kept`` features from ``kept_from``).
    features : int
        Features stored (cells with data for the DEM).
    source : str
        URL (pattern) it came from.
    failures, missing, warnings : list of str
        Items that failed, URLs not in the cache (offline), remarks.
    state : str
        State recorded in the provenance: ``complete`` or ``partial: <missing items>``.
    kept, kept_from : int or None, str
        Features and date of the stored layer kept instead of an incomplete download.
    notes : list of str
        What happened to the stored layer ("kept: N features from <date>", "merged by commune: ...").
    """

    layer: str
    status: str = "failed"
    features: int = 0
    source: str = ""
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    state: str = ""
    kept: int | None = None
    kept_from: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class FetchReport:
    """What :func:`fetch_territory` did."""

    territory: str
    workspace: Path
    cache_dir: Path
    offline: bool
    layers: dict[str, LayerReport] = field(default_factory=dict)
    stats: FetchStats = field(default_factory=FetchStats)
    checks: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every requested layer is stored complete (or empty) and passed the final check."""
        return all(r.status in ("stored", "empty") for r in self.layers.values()) and not self.checks

    @property
    def missing(self) -> list[str]:
        """Every URL missing from the cache (offline runs), once."""
        return list(dict.fromkeys(u for r in self.layers.values() for u in r.missing))

    @property
    def failures(self) -> list[str]:
        """Every item that failed, once."""
        return list(dict.fromkeys(f for r in self.layers.values() for f in r.failures))

    @property
    def warnings(self) -> list[str]:
        """Every remark, once."""
        return list(dict.fromkeys(w for r in self.layers.values() for w in r.warnings))

    def failure_groups(self) -> dict[tuple[str, str], list[str]]:
        """Failures grouped by (layer, cause), in layer order: every layer's cause is shown."""
        groups: dict[tuple[str, str], list[str]] = {}
        for name, r in self.layers.items():
            for f in r.failures:
                groups.setdefault((name, failure_cause(f)), []).append(f)
        return groups

    @property
    def retry_helps(self) -> bool:
        """Whether running the same command again may fix a failure (not for a 404 or refused data)."""
        return any(cause in RETRYABLE_CAUSES for _, cause in self.failure_groups())

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: status, features, notes."""
        rows = []
        for r in self.layers.values():
            notes = []
            if r.failures:
                notes.append(f"{len(r.failures)} failed")
            if r.missing:
                notes.append(f"{len(r.missing)} not in cache")
            if r.warnings:
                notes.append(f"{len(r.warnings)} warning(s)")
            if r.kept is not None:
                notes.insert(0, f"kept: {r.kept} features from {r.kept_from}")
            elif r.status == "partial" and r.state:
                notes.insert(0, r.state)
            features = r.kept if r.kept is not None else r.features
            rows.append({"layer": r.layer, "status": r.status, "features": features, "notes": "; ".join(notes)})
        return pd.DataFrame(rows, columns=["layer", "status", "features", "notes"])

    def interrupted_summary(self) -> str:
        """What an interrupted fetch stored and kept, and how to resume."""
        stored = [n for n, r in self.layers.items() if r.status in ("stored", "empty", "partial")]
        kept = [f"{n} ({r.kept} features from {r.kept_from})" for n, r in self.layers.items() if r.kept is not None]
        todo = [n for n, r in self.layers.items() if r.status not in ("stored", "empty")]
        lines = [
            "Interrupted. "
            + (f"Stored before the interrupt: {', '.join(stored)}." if stored else "Nothing new stored."),
            f"Kept as they were: {', '.join(kept)}." if kept else "No layer of the workspace was changed otherwise.",
            f"To resume, run the same command again (downloads already made are in the cache {self.cache_dir}; "
            f"still to do: {', '.join(todo) or 'nothing'}).",
        ]
        return "\n".join(lines)

    def render(self, *, limit: int = 20) -> str:
        """A plain-text report (table, then failures, missing URLs and warnings, each capped at ``limit``)."""
        s = self.stats
        lines = [
            f"Territory: {self.territory}  ->  {self.workspace / GPKG_NAME}",
            f"Requests: {s.requests} ({s.downloads} downloaded, {s.bytes_downloaded / 1e6:.1f} MB, "
            f"{s.retries} retries, {s.resumed} resumed); from cache: {s.cache_hits}; cache: {self.cache_dir}"
            + ("  [offline]" if self.offline else ""),
            "",
            self.to_frame().to_string(index=False),
        ]

        def section(title: str, items: list[str]) -> None:
            if items:
                lines.extend(["", f"{title} ({len(items)}):"])
                lines.extend(f"  - {i}" for i in items[:limit])
                if len(items) > limit:
                    lines.append(f"  ... and {len(items) - limit} more")

        groups = self.failure_groups()
        if groups:
            total = sum(len(items) for items in groups.values())
            lines.extend(["", f"Failed ({total} item(s), by layer and cause):"])
            for (layer, cause), items in groups.items():
                labels = list(dict.fromkeys(_item_label(i) for i in items))
                shown = ", ".join(labels[:3]) + (f" (+{len(labels) - 3} more)" if len(labels) > 3 else "")
                lines.append(f"  - {layer}: {cause}: {len(items)} item(s): {shown}")
                lines.append(f"      e.g. {items[0]}")
                lines.append(f"      -> {CAUSE_ADVICE[cause]}")
        missing = {name: r.missing for name, r in self.layers.items() if r.missing and r.status != "stored"}
        if missing:
            lines.extend(["", f"Missing from the cache ({len(self.missing)} download(s)):"])
            for name, urls in missing.items():
                more = f" (+{len(urls) - 2} more)" if len(urls) > 2 else ""
                lines.append(f"  - {name}: {len(urls)} download(s), e.g. {', '.join(urls[:2])}{more}")
        notes = [f"{name}: {n}" for name, r in self.layers.items() for n in r.notes]
        section("Stored layers", notes)
        section("Warnings", self.warnings)
        section("Workspace check", self.checks)
        lines.append("")
        lines.append(f"Done in {self.elapsed_s:.1f} s.")
        return "\n".join(lines)


_HTTP_RE = re.compile(r"HTTP (\d{3})")

CAUSE_ADVICE: dict[str, str] = {
    "not found (HTTP 404)": "the service has no such file or resource: running again will not help; check the "
    "territory's commune codes, the cadastre edition (FONCIER_FETCH_CADASTRE_VINTAGE) or the source URL",
    "refused by validation": "the data did not pass validation (see above): running again will not help until "
    "the publisher fixes it; the stored layer is kept",
    "malformed answer": "the service answered something unreadable: run again later (downloads are cached)",
    "answer capped by the service": "the service caps its answers: lower FONCIER_FETCH_QUERY_TILE_DEG",
    "commune outlines missing": "fetch the communes first (layer 'communes')",
    "service error": "the service failed: run the same command again later (downloads are cached)",
    "timeout": "the service is slow: run again later, or raise FONCIER_FETCH_READ_TIMEOUT",
    "network error": "check the network (or a proxy), then run the same command again",
    "refused (HTTP 4xx)": "the service refused the request: running again will not help; report it",
    "other": "see the messages",
}
"""Advice by failure cause (only advice that will help: never "run again" for a 404)."""

RETRYABLE_CAUSES = frozenset({"malformed answer", "service error", "timeout", "network error", "other"})


def failure_cause(message: str) -> str:
    """The cause of a failure message, one of :data:`CAUSE_ADVICE`.

    Examples
    --------
    >>> failure_cause("parcels of commune 02594: not found (HTTP 404) at http://x/y.json.gz")
    'not found (HTTP 404)'
    >>> failure_cause("friches of 02001..02010: http://x: failed after 3 attempt(s): HTTP 503")
    'service error'
    """
    low = message.lower()
    if "needs the commune outlines" in low:
        return "commune outlines missing"
    if "refused by validation" in low:
        return "refused by validation"
    if "even after" in low and "split" in low:
        return "answer capped by the service"
    if "not found (http" in low or "http 404" in low or "http 410" in low:
        return "not found (HTTP 404)"
    m = _HTTP_RE.search(message)
    if m:
        code = int(m.group(1))
        if code >= 500 or code == 429:
            return "service error"
        if 400 <= code < 500:
            return "refused (HTTP 4xx)"
    if "timeout" in low or "timed out" in low:
        return "timeout"
    if "not valid json" in low or "content check failed" in low or "cannot read geojson" in low:
        return "malformed answer"
    if any(k in low for k in ("connecterror", "networkerror", "connection", "remoteprotocolerror", "reset")):
        return "network error"
    return "other"


class FetchInterrupted(KeyboardInterrupt):
    """A fetch stopped by SIGINT/SIGTERM; ``report`` says what was stored and kept so far."""

    def __init__(self, report: FetchReport) -> None:
        super().__init__("fetch interrupted")
        self.report = report


def resolve_layers(names: Iterable[str] | None) -> tuple[str, ...]:
    """Canonical layer names from ``--layers`` values (names, groups ``rail``/``osm``/``all``, comma lists).

    Raises
    ------
    foncier.errors.ValidationError
        When a name is unknown (with the known ones).
    """
    if names is None:
        return FETCH_LAYERS
    wanted: list[str] = []
    bad = []
    for item in names:
        for name in (p.strip() for p in str(item).split(",")):
            if not name:
                continue
            if name in LAYER_GROUPS:
                wanted.extend(LAYER_GROUPS[name])
            elif name in FETCH_LAYERS:
                wanted.append(name)
            else:
                bad.append(name)
    if bad:
        hint = " ('zones' come from local inventories: use foncier ingest)" if "zones" in bad else ""
        raise ValidationError(
            [
                f"unknown layer '{b}'{hint}; fetchable: {', '.join(FETCH_LAYERS)}, or {', '.join(LAYER_GROUPS)}"
                for b in bad
            ],
            title="invalid --layers",
        )
    if not wanted:
        return FETCH_LAYERS
    return tuple(name for name in FETCH_LAYERS if name in set(wanted))


def _open_workspace(path: Path, territory: Territory) -> Workspace:
    if (path / GPKG_NAME).exists():
        ws = Workspace.open(path)
        meta = ws.metadata
        if meta.get("synthetic") == "true":
            raise WorkspaceError(
                f"workspace {path} holds the synthetic sample territory; fetch real data into another directory"
            )
        other = meta.get("territory_id")
        if other and other != territory.name:
            raise WorkspaceError(
                f"workspace {path} holds territory '{other}', not '{territory.name}'; use another directory"
            )
        return ws
    return Workspace.create(
        path,
        territory=territory.title,
        synthetic=False,
        extra_metadata={"territory_id": territory.name, "source": "foncier fetch (official open data)"},
    )


def _belongs(message: str, layer: str, produced: tuple[str, ...]) -> bool:
    """Whether a failure/warning of a source concerns ``layer`` (messages start with ``"<layer>: "`` when
    they concern one layer of a multi-layer source; others concern all)."""
    return not any(message.startswith(f"{other}:") for other in produced if other != layer)


def _stored_state(ws: Workspace, name: str, prov: pd.DataFrame) -> tuple[int, str] | None:
    """(features, date) of the layer stored now, or None when there is none."""
    if not ws.has_layer(name):
        return None
    row = prov[prov["layer"] == name]
    date = str(row["retrieved"].iloc[0])[:10] if len(row) else "an unknown date"
    if name == "dem":
        count = int(pd.to_numeric(row["feature_count"], errors="coerce").fillna(0).iloc[0]) if len(row) else 0
    else:
        count = ws.feature_count(name)
    return count, date


def _item_label(message: str) -> str:
    """The item a failure message is about (the part before the first ': ')."""
    return message.split(": ", 1)[0]


def _partial_state(rep: LayerReport) -> str:
    items = [_item_label(f) for f in rep.failures] + [f"not in cache: {u}" for u in rep.missing]
    shown = "; ".join(items[:5]) + (f"; and {len(items) - 5} more" if len(items) > 5 else "")
    return f"partial: {len(items)} item(s) missing ({shown})"


def _keep(rep: LayerReport, stored: tuple[int, str] | None, why: str) -> None:
    """Keep the stored layer untouched and say so."""
    if stored is None:
        rep.status = "missing" if rep.missing and not rep.failures else "failed"
        return
    rep.status = "kept"
    rep.kept = stored[0]
    rep.kept_from = stored[1]
    rep.notes.append(f"kept: {stored[0]} features from {stored[1]} ({why})")


def _store(
    ws: Workspace,
    result: SourceResult,
    wanted: tuple[str, ...],
    reports: dict[str, LayerReport],
    produced: tuple[str, ...],
) -> None:
    """:func:`_store_locked` in one write session: the stored layer and the officers' statuses are read and
    the new version written under the workspace lock (a status set meanwhile cannot be lost)."""
    with ws.write_session():
        _store_locked(ws, result, wanted, reports, produced)
    if "parcels" in wanted and reports["parcels"].status in ("stored", "empty", "partial"):
        ensure_status_triggers(ws)


def _store_locked(
    ws: Workspace,
    result: SourceResult,
    wanted: tuple[str, ...],
    reports: dict[str, LayerReport],
    produced: tuple[str, ...],
) -> None:
    """Store each layer of ``result`` only when it is a complete, validated version of itself.

    A complete layer replaces the stored one. An incomplete one (an item failed or was missing from the
    cache) never replaces a stored layer: it is merged per commune when the source is fetched commune by
    commune (the communes fetched replace their own features, the others keep theirs), else the stored layer
    is kept as it is. With nothing stored yet, the incomplete layer is stored, marked partial.
    """
    prov = ws.provenance()
    writes: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    records: list[Provenance] = []
    for name in wanted:
        rep = reports[name]
        rep.failures = [f for f in result.failures if _belongs(f, name, produced)]
        rep.missing = list(result.missing)
        rep.warnings = [w for w in result.warnings if _belongs(w, name, produced)]
        complete = not rep.failures and not rep.missing
        stored = _stored_state(ws, name, prov)
        if name == "dem":
            dem = result.dem
            if dem is not None and dem.array is not None and dem.transform is not None and (complete or not stored):
                p = result.provenance["dem"]
                state = "complete" if complete else _partial_state(rep)
                ws.write_dem(dem.array, dem.transform, crs=dem.crs, provenance=replace(p, state=state))
                rep.features = int(p.feature_count)
                rep.source = p.source
                rep.status = "stored" if complete else "partial"
                rep.state = state
            else:
                _keep(rep, stored, "the DEM download is incomplete" if dem is not None else "nothing downloaded")
            continue
        if name not in result.layers:
            _keep(rep, stored, "nothing new could be fetched")
            continue
        fresh = result.layers[name]
        p = result.provenance[name]
        rep.source = p.source
        if complete:
            rep.state = "complete"
            frame: gpd.GeoDataFrame = fresh
            record = replace(p, state="complete")
            rep.status = "empty" if len(fresh) == 0 else "stored"
        elif stored is None:
            rep.state = _partial_state(rep)
            frame, record = fresh, replace(p, state=rep.state)
            rep.status = "partial"
        elif name in result.communes_done and commune_column(name) and result.communes_done[name]:
            column = commune_column(name)
            assert column is not None
            done = result.communes_done[name]
            merged = merge_by_commune(ws.read_layer(name), fresh, column, done, id_column=SCHEMAS[name].id_column)
            not_done = [c for c in result.communes_wanted.get(name, []) if c not in set(done)]
            covered = [c for c in not_done if c in set(merged.kept_communes)]
            absent = [c for c in not_done if c not in set(merged.kept_communes)]
            parts = []
            if covered:
                parts.append(f"communes {', '.join(covered)} not refreshed (features of {stored[1]} kept)")
            if absent:
                parts.append(f"missing communes {', '.join(absent)}")
            rep.state = "partial: " + "; ".join(parts) if parts else _partial_state(rep)
            frame = merged.frame
            record = replace(
                p, state=rep.state, feature_count=len(frame), checksum=frame_checksum(frame),
                vintage=f"{p.vintage} (communes refreshed: {len(done)}; others kept from {stored[1]})",
            )  # fmt: skip
            rep.status = "partial"
            rep.notes.append(
                f"merged by commune: {len(done)} commune(s) refreshed ({merged.removed} -> {merged.added} features), "
                f"{merged.kept} features of {len(merged.kept_communes)} other commune(s) kept from {stored[1]}"
            )
        else:
            _keep(rep, stored, "the new version is incomplete")
            continue
        if name == "parcels":
            carried = carry_statuses(ws, frame, source="foncier fetch")
            frame = carried.parcels
            writes[HISTORY_TABLE] = carried.history
            rep.warnings.extend(f"parcels: {line}" for line in carried.describe())
        writes[name] = frame
        records.append(replace(record, feature_count=len(frame)))
        rep.features = len(frame)
    if writes:
        ws.write_layers(writes, records)
    for name in wanted:
        logger.info("%s: %s (%d features)", name, reports[name].status, reports[name].features)


def _summary_line(rep: LayerReport) -> str:
    if rep.kept is not None:
        return f"{rep.layer}: {rep.status} - kept: {rep.kept} features from {rep.kept_from}"
    return f"{rep.layer}: {rep.status} ({rep.features} features)"


def check_workspace(ws: Workspace, layers: Iterable[str]) -> list[str]:
    """Read ``layers`` back from the workspace and validate them as the scoring engine will read them.

    Returns
    -------
    list of str
        Problems (empty when every layer is accepted).
    """
    problems: list[str] = []
    for name in layers:
        if name == "dem":
            if ws.has_layer("dem"):
                try:
                    array, _ = ws.read_dem()
                except (FoncierError, OSError) as exc:
                    problems.append(f"dem: {exc}")
                    continue
                if array.ndim != 2 or not (array == array).any():
                    problems.append("dem: no valid cell")
            continue
        if not ws.has_layer(name):
            continue
        gdf = ws.read_layer(name)
        if gdf.empty:
            continue
        try:
            validate_layer(gdf, name, source=f"{ws.gpkg}:{name}")
        except ValidationError as exc:
            problems.append(exc.render(limit=5))
    return problems


def fetch_territory(
    ws: Workspace | str | Path,
    territory: Territory | str | Path,
    layers: Iterable[str] | None = None,
    offline: bool = False,
    source_urls: Mapping[str, str] | None = None,
    progress: bool = True,
    *,
    settings: FetchSettings | None = None,
    cache_dir: str | Path | None = None,
    client: HttpClient | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> FetchReport:
    """Fetch the layers of ``territory`` from the official sources into workspace ``ws``.

    Parameters
    ----------
    ws : Workspace, str or Path
        The workspace (created when the directory holds none).
    territory : Territory, str or Path
        A territory, a built-in name (``soissonnais-valois``) or a YAML file.
    layers : iterable of str, optional
        Layers to fetch (names or groups, see :func:`resolve_layers`); default all of :data:`FETCH_LAYERS`.
        The communes are always fetched (or read from the cache) as the footprint of the others, and stored
        when requested.
    offline : bool, default False
        Use the cache only; the report lists what is missing.
    source_urls : mapping of str to str, optional
        Base URL overrides by source name (see :data:`~foncier.layers.fetch.settings.SOURCE_NAMES`).
    progress : bool, default True
        Show progress bars (tqdm, on stderr).
    settings : FetchSettings, optional
        Default: from the environment (``FONCIER_FETCH_*``).
    cache_dir : str or Path, optional
        Overrides ``settings.cache_dir``.
    client : HttpClient, optional
        A ready client (tests); its settings and cache are used.
    on_progress : callable, optional
        Called with plain progress lines (one per layer, and per 10 % of a long layer): the CLI prints them
        on stderr when it is not a terminal.

    Returns
    -------
    FetchReport

    Raises
    ------
    FetchInterrupted
        On Ctrl-C or SIGTERM (a :class:`KeyboardInterrupt`): its ``report`` says what is stored and kept.
    foncier.errors.WorkspaceError
        The workspace holds the synthetic sample or another territory.
    foncier.errors.ValidationError, foncier.errors.NotFoundError
        Bad layer names, source names or territory.
    """
    started = time.perf_counter()
    terr = territory if isinstance(territory, Territory) else load_territory(territory)
    wanted = resolve_layers(layers)
    if client is None:
        s = (settings or FetchSettings()).with_source_urls(source_urls)
        if cache_dir is not None:
            s = s.model_copy(update={"cache_dir": Path(cache_dir)})
        client = HttpClient(s, cache=ContentCache(s.cache_path), offline=offline, progress=progress)
        owns_client = True
    else:
        client.offline = offline
        owns_client = False
    workspace = ws if isinstance(ws, Workspace) else _open_workspace(Path(ws), terr)
    if isinstance(ws, Workspace):
        _open_workspace(ws.path, terr)
    report = FetchReport(
        territory=f"{terr.title} ({terr.name})",
        workspace=workspace.path,
        cache_dir=client.cache.root,
        offline=offline,
        layers={name: LayerReport(name) for name in wanted},
        stats=client.stats,
    )
    ctx = FetchContext(client=client, territory=terr, progress=progress, on_progress=on_progress)

    def say(line: str) -> None:
        if on_progress is not None:
            on_progress(line)

    try:
        logger.info("fetching %s: %s", terr.name, ", ".join(wanted))
        needs_outlines = bool(set(wanted) & NEEDS_OUTLINES) or not terr.communes
        communes = SourceResult()
        if "communes" in wanted or needs_outlines:
            say("communes: fetching")
            communes = fetch_communes(ctx)
            if "communes" in communes.layers and len(communes.layers["communes"]):
                ctx.communes = communes.layers["communes"]
            elif workspace.has_layer("communes"):
                ctx.communes = workspace.read_layer("communes")
                communes.warnings.append("communes: not fetched; the outlines stored in the workspace are used")
        if "communes" in wanted:
            _store(workspace, communes, ("communes",), report.layers, ("communes",))
            say(_summary_line(report.layers["communes"]))
        for produced, runner in _SOURCES:
            todo = tuple(name for name in produced if name in wanted)
            if not todo:
                continue
            blocked = ctx.communes is None and (bool(set(produced) & NEEDS_OUTLINES) or not terr.communes)
            if blocked and produced != ("hubs",):
                prov = workspace.provenance()
                for name in todo:
                    rep = report.layers[name]
                    rep.failures.append(f"{name}: needs the commune outlines, which could not be fetched")
                    rep.missing = list(communes.missing)
                    _keep(rep, _stored_state(workspace, name, prov), "the commune outlines could not be fetched")
                continue
            say(f"{', '.join(todo)}: fetching")
            try:
                result = runner(ctx, todo)
            except FetchError as exc:
                result = SourceResult(failures=[f"{todo[0]}: {exc}"])
            _store(workspace, result, todo, report.layers, produced)
            for name in todo:
                say(_summary_line(report.layers[name]))
        report.checks = check_workspace(workspace, [n for n in wanted if report.layers[n].status != "failed"])
    except KeyboardInterrupt as exc:
        report.elapsed_s = time.perf_counter() - started
        if isinstance(exc, FetchInterrupted):
            raise
        try:
            prov = workspace.provenance()
            for rep in report.layers.values():
                if rep.status == "failed" and not (rep.failures or rep.missing or rep.notes or rep.features):
                    rep.status = "interrupted"
                    stored = _stored_state(workspace, rep.layer, prov)
                    if stored is not None:
                        rep.kept, rep.kept_from = stored
                        rep.notes.append(f"kept: {stored[0]} features from {stored[1]} (interrupted)")
        except (FoncierError, OSError):  # the report is best effort; the interrupt must go on
            logger.debug("could not read the workspace state after the interrupt", exc_info=True)
        raise FetchInterrupted(report) from None
    finally:
        if owns_client:
            client.close()
        report.elapsed_s = time.perf_counter() - started
    logger.info(
        "fetch done in %.1f s: %d requests, %d from cache",
        report.elapsed_s,
        client.stats.requests,
        client.stats.cache_hits,
    )
    return report

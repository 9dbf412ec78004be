"""``foncier parcel``: everything about one parcel (zoning, risks, site, score)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from foncier.layers.results import parcel_detail
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts._output import to_json
from foncier.scripts.options import profile_option, workspace_option


@click.command()
@workspace_option
@click.argument("parcel_id")
@profile_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def parcel(workspace: Path, parcel_id: str, profile: str, output_format: str) -> None:
    """Show one parcel: its zoning, risks, site and that site's score.

    PARCEL_ID is the 14-character cadastral id (INSEE + prefix + section + number), e.g. 027220000AB0012.
    """
    ws = Workspace.open(workspace)
    info = parcel_detail(ws, parcel_id.strip().upper(), profile)
    if output_format == "json":
        click.echo(to_json(info))
        return
    zoning = info["zoning"] or {}
    lines = [
        f"Parcel {info['parcel_id']} - commune {info['commune']}, section {info['section']} n° {info['numero']}",
        f"  area: {info['area_m2']:,.0f} m2 (cadastre: {info['contenance_m2'] or '?'} m2); status: "
        f"{info['status'] or 'unknown'}",
        f"  zoning: {zoning.get('libelle') or '-'} ({zoning.get('typezone') or 'none'}; "
        f"{zoning.get('zoning_class') or 'unknown: not checked'}"
        f"{', presumed from the label' if zoning.get('presumed') else ''})"
        + (f"; plan approved {zoning['datappro']}" if zoning.get("datappro") else "")
        + (f"; rules: {zoning['urlfic']}" if zoning.get("urlfic") else ""),
        _availability_line(info.get("availability")),
        f"  flood: {info['flood'] or 'none'}; protected: {info['protected'] or 'none'}",
        f"  zones d'activité: {', '.join(info['zones_activite']) or 'none'}; friches: "
        f"{', '.join(info['friches']) or 'none'}",
    ]
    site = info["site"]
    if site is None:
        lines.append("  not part of a candidate site")
    else:
        state = "excluded: " + "; ".join(site["reasons"]) if site["excluded"] else f"score {site['score']:.3f}"
        lines.append(
            f"  site {site['site_id']} ({site['area_m2'] / 10_000:.1f} ha, {site['n_parcels']} parcels): "
            f"rank {site['rank']}/{site['n_sites']} for '{site['profile']}', {state}"
        )
        if site.get("unverified"):
            lines.append("  NOT CHECKED (unverified, never passed): " + "; ".join(site["unverified"]))
    if info["synthetic"]:
        lines.append("  (synthetic sample: not real land)")
    click.echo("\n".join(lines))


def _availability_line(av: dict[str, Any] | None) -> str:
    """The availability state, its reason, the built share and the flags (or why unknown)."""
    if av is None:
        return "  availability: not computed yet (run 'foncier score')"
    share = "unknown (no buildings layer)" if av["built_share"] is None else f"{av['built_share']:.0%}"
    flags = f"; flags: {', '.join(av['flags_fr'])}" if av["flags"] else ""
    return f"  availability: {av['state']} ({av['reason_fr']}); built share {share}{flags}"

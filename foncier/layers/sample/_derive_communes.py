"""Derive the commune table of the sample territory from the real open-data extracts (run by hand, once).

The sample territory (:mod:`foncier.layers.sample`) is laid on the real geography of the Soissonnais et Valois:
the 163 real communes, their EPCI, their population and a centre point. This script computes that small table,
``data/communes_soissonnais.csv`` (``insee,nom,epci_siren,epci_nom,population,lon,lat``), from two files of the
shared real-data folder (see its README):

- ``territoire_communes_epci_2026.csv``: the 163 communes of the territory (INSEE COG 2026) with EPCI and
  population;
- ``territoire_communes_epci.geojson``: the same communes with their IGN ADMIN EXPRESS 2018 outlines (EPSG:4326).

The centre of a commune is the centroid of its 2018 outline computed in Lambert-93, or its representative
point when the centroid falls outside the outline; it is given in longitude/latitude rounded to 5 decimals
(about 1 m). Names, EPCI and population come from the 2026 table.

Communes merged since 2018: every commune of the 2026 list has a 2018 outline, but three of them absorbed a
neighbour after 2018 (Bernoy-le-Chateau 02564 = Noyant-et-Aconin + Berzy-le-Sec, Pargny-et-Filain 02589 =
Pargny-Filain + Filain, Bazoches-et-Saint-Thibaut 02054 = Bazoches-sur-Vesles + Saint-Thibaut). The 2018 file
only holds the outline of the main former commune (the absorbed ones leave holes in the union); their centre
is therefore the centroid of that main former commune, which holds the chef-lieu. This is noted in the
``_MERGED`` table below and logged.

The build of the sample territory never reads the shared folder: only the derived CSV (a few kB, committed
with the package) is used at run time, so the sample works offline.

Usage::

    .venv/bin/python -m foncier.layers.sample._derive_communes [--real-dir ../shared/data/real]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

logger = logging.getLogger(__name__)

_DEFAULT_REAL_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"
_OUTPUT = Path(__file__).resolve().parent / "data" / "communes_soissonnais.csv"

_MERGED = {
    "02564": "Noyant-et-Aconin + Berzy-le-Sec (2019): centre of the Noyant-et-Aconin outline",
    "02589": "Pargny-Filain + Filain (2019): centre of the Pargny-Filain outline",
    "02054": "Bazoches-sur-Vesles + Saint-Thibaut (2019): centre of the Bazoches-sur-Vesles outline",
}
"""Communes whose 2018 outline covers only their main former commune."""


def derive_communes(real_dir: Path) -> pd.DataFrame:
    """Return the commune table of the territory: identity, EPCI, population and centre.

    Parameters
    ----------
    real_dir : Path
        Folder holding ``territoire_communes_epci_2026.csv`` and ``territoire_communes_epci.geojson``.

    Returns
    -------
    pandas.DataFrame
        Columns ``insee, nom, epci_siren, epci_nom, population, lon, lat``, one row per commune, sorted by
        INSEE code.
    """
    table = pd.read_csv(real_dir / "territoire_communes_epci_2026.csv", dtype=str)
    outlines = gpd.read_file(real_dir / "territoire_communes_epci.geojson").to_crs("EPSG:2154")
    outlines = outlines.set_index("code")
    centroid = outlines.geometry.centroid
    inside = centroid.within(outlines.geometry)
    centre = centroid.where(inside, outlines.geometry.representative_point())
    centre_ll = gpd.GeoSeries(centre, crs="EPSG:2154").to_crs("EPSG:4326")
    missing = sorted(set(table["insee"]) - set(outlines.index))
    if missing:
        raise ValueError(f"communes without a 2018 outline: {missing}")
    for insee, note in _MERGED.items():
        logger.info("merged commune %s: %s", insee, note)
    out = pd.DataFrame(
        {
            "insee": table["insee"],
            "nom": table["nom"],
            "epci_siren": table["epci_siren"],
            "epci_nom": table["epci_nom"],
            "population": table["population"].astype(int),
            "lon": centre_ll.loc[table["insee"]].x.round(5).to_numpy(),
            "lat": centre_ll.loc[table["insee"]].y.round(5).to_numpy(),
        }
    )
    return out.sort_values("insee").reset_index(drop=True)


def main() -> None:
    """Command-line entry point: write ``data/communes_soissonnais.csv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=_DEFAULT_REAL_DIR)
    parser.add_argument("--output", type=Path, default=_OUTPUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    table = derive_communes(args.real_dir)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output, index=False, float_format="%.5f")
    logger.info("wrote %d communes to %s", len(table), args.output)


if __name__ == "__main__":
    main()

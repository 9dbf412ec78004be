"""Buildings: the Etalab cadastre ``batiments`` files through ``foncier ingest``, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.errors import CRSError, LayerValidationError
from foncier.layers.readers import read_layer
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli
from tests.layers.etalab_buildings import buildings_on, write_etalab_buildings

REAL_PARCELS = "cadastre-91216-parcelles.json"


@pytest.fixture(scope="module")
def real_parcels(real_data: Path):  # type: ignore[no-untyped-def]
    parcels, _ = read_layer(real_data / REAL_PARCELS, "parcels")
    return parcels.iloc[:600].copy()


def test_etalab_buildings_file_is_ingested(tmp_path: Path, real_parcels) -> None:  # type: ignore[no-untyped-def]
    buildings = buildings_on(real_parcels)
    path = write_etalab_buildings(buildings, tmp_path / "cadastre-91216-batiments.json.gz")
    out = CliRunner().invoke(cli, ["ingest", "-w", str(tmp_path / "ws"), "buildings", str(path)])
    assert out.exit_code == 0, out.output
    stored = Workspace.open(tmp_path / "ws").read_layer("buildings")
    assert len(stored) == len(buildings)
    assert stored.crs.to_epsg() == 2154
    assert set(stored["type"]) == {"01", "02"}
    assert (stored["commune"] == "91216").all()
    assert set(stored["created"]) == {"2008-11-04"}
    # the round trip through lon/lat keeps the footprints within a few cm2 of what was written
    assert abs(stored.geometry.area.sum() - buildings.geometry.area.sum()) < 1e-4 * buildings.geometry.area.sum()


def test_buildings_in_lambert93_without_crs_member_are_refused(tmp_path: Path, real_parcels) -> None:  # type: ignore[no-untyped-def]
    path = write_etalab_buildings(buildings_on(real_parcels), tmp_path / "b.json", lonlat=False)
    with pytest.raises(CRSError) as info:
        read_layer(path, "buildings")
    assert "EPSG:2154" in str(info.value)
    out = CliRunner().invoke(cli, ["ingest", "-w", str(tmp_path / "ws"), "buildings", str(path)])
    assert out.exit_code != 0 and "EPSG:2154" in out.output
    assert (
        not (tmp_path / "ws" / "foncier.gpkg").exists()
        or "buildings" not in Workspace.open(tmp_path / "ws").list_layers()
    )


def test_unknown_building_type_is_refused_with_row_and_column(tmp_path: Path, real_parcels) -> None:  # type: ignore[no-untyped-def]
    buildings = buildings_on(real_parcels)
    buildings.loc[4, "type"] = "03"
    path = write_etalab_buildings(buildings, tmp_path / "b.json")
    with pytest.raises(LayerValidationError) as info:
        read_layer(path, "buildings")
    problems = info.value.problems
    assert any(p.column == "type" and p.row is not None and "03" in p.message for p in problems), problems
    assert json.loads(path.read_text())["features"][4]["properties"]["type"] == "03"

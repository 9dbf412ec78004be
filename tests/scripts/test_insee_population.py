"""``foncier ingest -w WS insee-population FILE``: INSEE working-age population for the labour pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from foncier.layers.insee import read_insee_population
from foncier.layers.workspace import Workspace, frame_checksum
from foncier.scripts.cli import cli

#: Share of 15-64 year olds applied to the sample's total populations to build the test table.
SHARE = 0.6137


def _insee_table(ws: Workspace, path: Path, *, sep: str = ";", drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """Write a table in the shape of INSEE's base-cc-evol-struct-pop-2021.CSV for the stored communes.

    CODGEO first, several vintages (P21_*, P20_*), census values with decimals, a Corsican commune that is not in
    the workspace.
    """
    communes = pd.concat([ws.read_table("communes"), ws.read_table("labour_communes")])
    communes = communes.drop_duplicates("insee")
    communes = communes[~communes["insee"].isin(drop)]
    pop = communes["population"].astype(float).to_numpy()
    table = pd.DataFrame(
        {
            "CODGEO": [*communes["insee"], "2A004"],
            "P21_POP": [*pop, 70_000.0],
            "P21_POP0014": [*(pop * 0.18), 11_000.0],
            "P21_POP1564": [*(pop * SHARE + 0.123456), 46_012.3456789],
            "P21_POP65P": [*(pop * 0.2), 13_000.0],
            "P20_POP1564": [*(pop * 0.6), 45_000.0],
            "C21_POP15P": [*(pop * 0.8), 60_000.0],
        }
    )
    table.to_csv(path, sep=sep, index=False, float_format="%.10f")
    return table


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(src, dst)
    return dst


def _checksums(ws: Workspace) -> dict[str, str]:
    return {
        name: frame_checksum(ws.read_table(name)) for name in ("communes", "labour_communes", "provenance", "metadata")
    }


def test_ingest_sets_working_age_and_flips_the_basis(scored_sample_workspace: Path, tmp_path: Path) -> None:
    from foncier.pipeline import criteria_are_current, run_pipeline

    ws_dir = _copy(scored_sample_workspace, tmp_path)
    ws = Workspace.open(ws_dir)
    assert ws.metadata["labour_pool_basis"] == "total population"
    before = ws.read_table("criteria").set_index("site_id")["labour_pool"]
    table = _insee_table(ws, tmp_path / "base-cc-evol-struct-pop-2021.CSV")

    result = CliRunner().invoke(
        cli, ["ingest", "-w", str(ws_dir), "insee-population", str(tmp_path / "base-cc-evol-struct-pop-2021.CSV")]
    )
    assert result.exit_code == 0, result.output
    n_communes, n_labour = ws.feature_count("communes"), ws.feature_count("labour_communes")
    assert f"communes: pop_15_64 set for {n_communes} commune(s) from P21_POP1564 (RP 2021)" in result.output
    assert f"labour_communes: pop_15_64 set for {n_labour} commune(s)" in result.output
    assert "working-age population (15-64)" in result.output

    expected = table.set_index("CODGEO")["P21_POP1564"]
    for name in ("communes", "labour_communes"):
        layer = ws.read_table(name)
        got = layer.set_index("insee")["pop_15_64"].astype(float)
        assert (got - expected.reindex(got.index)).abs().max() <= 0.5
        assert got.notna().all()
    assert got.index.isin(expected.index).all()
    soissons = ws.read_table("communes").set_index("insee").loc["02722", "pop_15_64"]  # leading zero kept
    assert soissons == round(expected["02722"])
    prov = ws.provenance().set_index("layer")
    assert prov.loc["insee-population", "vintage"] == "RP 2021"
    assert len(prov.loc["insee-population", "checksum"]) == 64
    assert "pop_15_64 from base-cc-evol-struct-pop-2021.CSV" in prov.loc["communes", "state"]
    assert prov.loc["communes", "checksum"] == frame_checksum(ws.read_layer("communes"))

    assert not criteria_are_current(ws)  # `foncier score` recomputes by itself: the layers changed
    run_pipeline(ws)
    assert ws.metadata["labour_pool_basis"] == "working-age population (15-64)"
    after = ws.read_table("criteria").set_index("site_id")["labour_pool"]
    common = before.index.intersection(after.index)
    assert len(common) > 0
    positive = before.loc[common] > 0
    ratio = after.loc[common][positive] / before.loc[common][positive]
    assert ratio.between(SHARE - 0.02, SHARE + 0.02).all()  # every commune counts ~61 % of its people


def test_missing_communes_keep_total_population(small_sample_workspace: Path, tmp_path: Path) -> None:
    from foncier.geo.criteria import labour_communes, labour_population_column

    ws_dir = _copy(small_sample_workspace, tmp_path)
    ws = Workspace.open(ws_dir)
    path = tmp_path / "base-cc.csv"
    _insee_table(ws, path, sep=",", drop=("02722", "51454"))
    result = CliRunner().invoke(
        cli, ["ingest", "-w", str(ws_dir), "insee-population", str(path), "--vintage", "2024-06-27"]
    )
    assert result.exit_code == 0, result.output
    assert "communes: 1 commune(s) missing from the table: 02722" in result.output
    assert "labour_communes: 1 commune(s) missing from the table: 51454" in result.output
    assert "stays total population" in result.output
    layers = {name: ws.read_layer(name) for name in ("communes", "labour_communes")}
    assert labour_population_column(labour_communes(layers)) == "population"
    record = ws.provenance().set_index("layer").loc["insee-population"]
    assert record["state"].startswith("partial: 2 stored commune(s) missing")
    assert record["vintage"] == "RP 2021 (2024-06-27)"


def test_most_recent_vintage_and_corsican_codes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('CODGEO;P19_POP1564;P20_POP1564\n"02722";10,5;11,25\n2B033;7;8\n', encoding="utf-8")
    table = read_insee_population(path)
    assert (table.column, table.vintage) == ("P20_POP1564", "RP 2020")
    assert table.values.to_dict() == {"02722": 11.25, "2B033": 8.0}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("INSEE;P21_POP1564\n02722;10\n", "no CODGEO column"),
        ("CODGEO;P21_POP\n02722;10\n", "no P??_POP1564 column"),
        ("CODGEO;P21_POP1564\n02722;10\n2722;12\n", "row 1, column 'CODGEO': malformed INSEE code '2722'"),
        ("CODGEO;P21_POP1564\n02722;10\n02722;12\n", "duplicate INSEE code '02722' (line 3)"),
        ("CODGEO;P21_POP1564\n02722;-4\n", "row 0, column 'P21_POP1564': implausible population '-4'"),
        ("CODGEO;P21_POP1564\n02722;10\n02408;n/a\n", "row 1, column 'P21_POP1564': non-numeric value 'n/a' (line 3)"),
        ("CODGEO;P21_POP1564\n02722;\n", "missing value (line 2)"),
        ("", "the file is empty"),
    ],
)
def test_bad_tables_are_refused_and_nothing_is_stored(
    small_sample_workspace: Path, tmp_path: Path, content: str, expected: str
) -> None:
    ws_dir = _copy(small_sample_workspace, tmp_path)
    ws = Workspace.open(ws_dir)
    before = _checksums(ws)
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", "-w", str(ws_dir), "insee-population", str(path)])
    assert result.exit_code == 3, result.output
    assert expected in result.output
    assert _checksums(Workspace.open(ws_dir)) == before
    assert "pop_15_64" not in Workspace.open(ws_dir).read_table("communes").columns


def test_table_of_another_territory_is_refused(small_sample_workspace: Path, tmp_path: Path) -> None:
    ws_dir = _copy(small_sample_workspace, tmp_path)
    before = _checksums(Workspace.open(ws_dir))
    path = tmp_path / "corse.csv"
    path.write_text("CODGEO;P21_POP1564\n2A004;46012.3\n2B033;30000\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", "-w", str(ws_dir), "insee-population", str(path)])
    assert result.exit_code == 3, result.output
    assert "none of the" in result.output
    assert _checksums(Workspace.open(ws_dir)) == before

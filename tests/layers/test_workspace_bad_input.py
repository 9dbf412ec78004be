"""Hostile files given to `foncier ingest`: a clear message (row and column when it applies), a non-zero exit,
temporary files removed, and the workspace's layers unchanged (checksums)."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from foncier.layers.readers import read_layer
from foncier.layers.workspace import Provenance, Workspace
from foncier.scripts.cli import cli

CADASTRE = "cadastre-02-parcelles-excerpt-retz.geojson"


def _checksums(ws: Path) -> dict[str, str]:
    """SHA-256 of every stored table's rows (order by fid), per table."""
    import hashlib

    con = sqlite3.connect(f"file:{ws / 'foncier.gpkg'}?mode=ro", uri=True)
    try:
        out = {}
        for (name,) in con.execute("SELECT table_name FROM gpkg_contents ORDER BY 1").fetchall():
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY 1'):
                digest.update(repr(row).encode())
            out[str(name)] = digest.hexdigest()
        return out
    finally:
        con.close()


@pytest.fixture
def ws(tmp_path: Path, real_data: Path) -> Path:
    gdf = read_layer(real_data / CADASTRE, "parcels")[0]
    ws = Workspace.create(tmp_path / "ws", territory="t", synthetic=False)
    ws.write_layers({"parcels": gdf}, [Provenance("parcels", CADASTRE, feature_count=len(gdf))])
    return ws.path


def _ingest(ws: Path, layer: str, path: Path, *extra: str) -> tuple[int, str]:
    out = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws), layer, str(path), *extra])
    return out.exit_code, out.output


def _cadastre(real_data: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads((real_data / CADASTRE).read_text())
    return doc


def test_unclosed_ring(ws: Path, real_data: Path, tmp_path: Path) -> None:
    doc = _cadastre(real_data)
    feature = doc["features"][3]  # type: ignore[index]
    feature["geometry"]["coordinates"][0] = feature["geometry"]["coordinates"][0][:-1]
    bad = tmp_path / "unclosed.geojson"
    bad.write_text(json.dumps(doc))
    before = _checksums(ws)
    code, output = _ingest(ws, "parcels", bad)
    assert code != 0 and "Traceback" not in output
    assert "row 3" in output and "not closed" in output and "geometry" in output
    assert _checksums(ws) == before


def test_nan_coordinate(ws: Path, real_data: Path, tmp_path: Path) -> None:
    doc = _cadastre(real_data)
    point = doc["features"][5]["geometry"]["coordinates"][0][1]  # type: ignore[index]
    text = json.dumps(doc).replace(json.dumps(point), f"[NaN, {point[1]!r}]", 1)
    bad = tmp_path / "nan.geojson"
    bad.write_text(text)
    before = _checksums(ws)
    code, output = _ingest(ws, "parcels", bad)
    assert code != 0 and "Traceback" not in output
    assert "row 5" in output and "NaN" in output
    assert _checksums(ws) == before


def test_multi_layer_geopackage_needs_sublayer(ws: Path, real_data: Path, tmp_path: Path) -> None:
    gdf = read_layer(real_data / CADASTRE, "parcels")[0]
    multi = tmp_path / "two-layers.gpkg"
    pyogrio.write_dataframe(gdf.iloc[:5], multi, layer="old_parcels")
    pyogrio.write_dataframe(gdf, multi, layer="parcelles_2025")
    before = _checksums(ws)
    code, output = _ingest(ws, "parcels", multi)
    assert code != 0 and "2 layers" in output and "--sublayer" in output and "parcelles_2025" in output
    assert _checksums(ws) == before
    code, output = _ingest(ws, "parcels", multi, "--sublayer", "parcelles_2025", "--replace")
    assert code == 0, output
    assert Workspace.open(ws).feature_count("parcels") == len(gdf)


def test_gzip_bomb_is_capped_and_leaves_no_temporary_file(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.geojson.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        fh.write(b'{"type": "FeatureCollection", "features": [')
        for _ in range(64):
            fh.write(b" " * (1 << 20))
        fh.write(b"]}")
    assert bomb.stat().st_size < 200_000
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setenv("FONCIER_MAX_GUNZIP_BYTES", str(16 << 20))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # take TMPDIR into account
    before = _checksums(ws)
    code, output = _ingest(ws, "parcels", bomb)
    assert code != 0 and "decompression bomb" in output and "FONCIER_MAX_GUNZIP_BYTES" in output
    assert list(tmpdir.iterdir()) == [], "temporary files removed"
    assert _checksums(ws) == before


def test_gzip_input_read_then_temporary_file_removed(
    ws: Path, real_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gz = tmp_path / "parcelles.geojson.gz"
    gz.write_bytes(gzip.compress((real_data / CADASTRE).read_bytes()))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, output = _ingest(ws, "parcels", gz, "--replace")
    assert code == 0, output
    assert list(tmpdir.iterdir()) == []
    truncated = tmp_path / "cut.geojson.gz"
    truncated.write_bytes(gz.read_bytes()[: gz.stat().st_size // 2])
    before = _checksums(ws)
    code, output = _ingest(ws, "parcels", truncated)
    assert code != 0 and "truncated" in output
    assert list(tmpdir.iterdir()) == [] and _checksums(ws) == before


def test_ingest_into_a_truncated_workspace_is_refused(ws: Path, real_data: Path) -> None:
    gpkg = ws / "foncier.gpkg"
    con = sqlite3.connect(gpkg)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    with gpkg.open("r+b") as fh:
        fh.truncate(gpkg.stat().st_size // 2)
    data = gpkg.read_bytes()
    code, output = _ingest(ws, "parcels", real_data / CADASTRE)
    assert (code != 0 and "corrupt" in output) or "truncated" in output
    assert "backup" in output or "recover" in output
    assert gpkg.read_bytes() == data, "never overwritten"
    assert sorted(os.listdir(ws)) <= sorted([".foncier.lock", "foncier.gpkg", "foncier.gpkg-shm", "foncier.gpkg-wal"])

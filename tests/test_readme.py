"""The README's guide commands run as written on the small sample (what ``make demo`` builds).

Every ``foncier ...`` command quoted in the guides runs, from a folder holding the demo workspace and the user's
own files the guides mention (a cadastre file, an AHP matrix), and must exit 0; only the commands that need an
outside service are left out, by name (the official download services, a PostGIS server, a long-running server:
they have their own tests). The served pages the guides quote answer too.
"""

from __future__ import annotations

import gzip
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from foncier.api.app import create_app
from foncier.api.settings import ApiSettings
from foncier.geo.ahp import consistent_matrix
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: complete commands of the guides whose input is a file of the user's that this test has no copy of
NOT_RUN = {
    "foncier ingest -w mine buildings cadastre-XXXXX-batiments.json.gz": "a file name pattern (XXXXX = INSEE code)",
    "foncier ingest -w mine terrains terrain-eco.csv": "a CNIG TERRAIN-ECO inventory (tests/layers/test_formats.py)",
    "foncier ingest -w mine zones site-eco.csv": "a CNIG SITE-ECO inventory (tests/layers/test_formats.py)",
}
#: subcommands quoted in the guides that need a service outside this machine (tested elsewhere)
NEEDS_A_SERVICE = {
    "fetch": "the official download services (tests/fetch with local servers)",
    "info": "the example reads the 'real' workspace that 'foncier fetch' makes (tests/scripts)",
    "publish": "a PostgreSQL/PostGIS server (tests/postgis)",
    "pull-status": "a PostgreSQL/PostGIS server (tests/postgis)",
    "serve": "runs until stopped (tests/api, tests/test_install.py)",
}


def _guides() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Guide for land officers")
    end = text.index("\n## ", text.index("## Guide for planners") + 3)
    return text[start:end]


def _spans() -> list[str]:
    return [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", _guides()) if s.startswith("foncier ")]


def _is_full(command: str) -> bool:
    """A command one can type as is: it names its workspace (or is ``foncier ahp FILE``)."""
    args = shlex.split(command)[1:]
    return "-w" in args or "--workspace" in args or (args[:1] == ["ahp"] and len(args) > 1)


def guide_commands() -> list[str]:
    """Every complete inline-code ``foncier ...`` command of the guides, in order (line breaks joined)."""
    return [c for c in _spans() if _is_full(c)]


def guide_mentions() -> list[str]:
    """The guides' shorter mentions of a command (``foncier parcel``, ``foncier score --built-threshold 0.2``)."""
    return [c for c in _spans() if not _is_full(c)]


def guide_urls() -> list[str]:
    """The served paths the guides quote (``http://127.0.0.1:8000/...`` and bare ``/maps/...``)."""
    spans = re.findall(r"`([^`]+)`", _guides())
    urls = [
        s.removeprefix("http://127.0.0.1:8000") for s in spans if s.startswith(("http://127.0.0.1:8000/", "/maps/"))
    ]
    return urls


def test_the_guides_quote_commands() -> None:
    commands = guide_commands()
    names = {shlex.split(c)[1] for c in commands}
    assert {"parcel", "status", "map", "score", "sites", "sensitivity", "export", "ahp", "ingest"} <= names, names


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> Path:
    """The folder a user runs the guides from: ``workspace`` as ``make demo`` leaves it, and their own files."""
    folder = tmp_path_factory.mktemp("readme")
    out = CliRunner().invoke(cli, ["demo", "-w", str(folder / "workspace"), "--size", "small"])
    assert out.exit_code == 0, out.output
    # an Etalab cadastre file, gzipped as cadastre.data.gouv.fr serves them
    raw = (real_data / "cadastre-02-parcelles-excerpt-retz.geojson").read_bytes()
    (folder / "cadastre-parcelles.json.gz").write_bytes(gzip.compress(raw))
    # a planner's pairwise matrix: a bare 3 x 3 CSV
    matrix = consistent_matrix([0.5, 0.3, 0.2])
    (folder / "matrix.csv").write_text("\n".join(",".join(f"{v:.6g}" for v in row) for row in matrix) + "\n")
    # an INSEE census table (base communale, ';'-separated, CODGEO + P21_POP1564) for the workspace's communes
    ws = Workspace.open(folder / "workspace")
    codes: dict[str, int] = {}
    for layer in ("communes", "labour_communes"):
        if ws.has_layer(layer):
            frame = ws.read_table(layer)
            codes.update(zip(frame["insee"].astype(str), frame["population"].fillna(0).astype(int), strict=True))
    rows = [f"{code};{pop};{round(pop * 0.62, 2)}" for code, pop in sorted(codes.items())]
    (folder / "base-cc-evol-struct-pop-2021.CSV").write_text(
        "CODGEO;P21_POP;P21_POP1564\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    return folder


def test_guide_commands_run_as_written(user_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(user_folder)
    runner = CliRunner()
    ran, left_out = [], set()
    for command in guide_commands():
        args = shlex.split(command)[1:]
        if args[0] in NEEDS_A_SERVICE or command in NOT_RUN:
            left_out.add(args[0] if args[0] in NEEDS_A_SERVICE else command)
            continue
        result = runner.invoke(cli, args, prog_name="foncier")
        assert result.exit_code == 0, f"{command}\n{result.output}"
        assert "Traceback" not in result.output, command
        ran.append(command)
    assert left_out <= set(NEEDS_A_SERVICE) | set(NOT_RUN)
    assert len(ran) >= 9, ran
    # what the commands say they wrote is there
    assert (user_folder / "logistics.html").is_file() and (user_folder / "site.html").is_file()
    assert (user_folder / "sites.gpkg").is_file()
    assert (user_folder / "mine" / "foncier.gpkg").is_file()


def test_parcel_and_site_ids_of_the_guides_are_real(user_folder: Path) -> None:
    """The ids quoted are ids of the sample: a 14-character parcel id, and a site id, both found."""
    runner = CliRunner()
    ws = str(user_folder / "workspace")
    parcel_ids = set(re.findall(r"\b\d{5}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}\b", _guides()))
    site_ids = set(re.findall(r"\bS[0-9a-f]{10}\b", _guides()))
    assert parcel_ids and site_ids
    for parcel_id in parcel_ids:
        assert len(parcel_id) == 14
        result = runner.invoke(cli, ["parcel", "-w", ws, parcel_id, "--format", "json"])
        assert result.exit_code == 0 and parcel_id in result.output, result.output
    for site_id in site_ids:
        result = runner.invoke(cli, ["map", "-w", ws, "--site", site_id, "-o", str(user_folder / "check.html")])
        assert result.exit_code == 0, result.output


def test_served_pages_of_the_guides_answer(user_folder: Path) -> None:
    ws = user_folder / "workspace"
    site_id = re.findall(r"\bS[0-9a-f]{10}\b", _guides())[0]
    with TestClient(create_app(ApiSettings(workspace=ws))) as client:
        paths = guide_urls()
        assert {"/ogc", "/docs", "/maps/parcels"} <= {p.split("?")[0] for p in paths}, paths
        for path in paths:
            response = client.get(path.replace("{site_id}", site_id))
            assert response.status_code == 200, (path, response.text[:300])


def test_ahp_example_gives_the_weights_back(user_folder: Path) -> None:
    result = CliRunner().invoke(cli, ["ahp", str(user_folder / "matrix.csv"), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert np.allclose(sorted(json.loads(result.output)["weights"].values()), [0.2, 0.3, 0.5], atol=1e-4)


def test_readme_keeps_two_set_up_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None
    commands = (line.split("#")[0].strip() for line in block.group(1).splitlines())
    lines = [c for c in commands if c]  # comment-only lines continue the comment above
    assert lines == ["make demo", "make test"]


def test_shorter_mentions_name_real_commands_and_options() -> None:
    """``foncier score --built-threshold 0.2`` in the prose: the command exists and has that option."""
    runner = CliRunner()
    for mention in guide_mentions():
        args = shlex.split(mention)[1:]
        result = runner.invoke(cli, [args[0], "--help"], prog_name="foncier")
        assert result.exit_code == 0 and f"Usage: foncier {args[0]}" in result.output, mention
        for option in (a for a in args[1:] if a.startswith("--")):
            assert option in result.output, (mention, option)

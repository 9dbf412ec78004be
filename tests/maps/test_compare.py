"""The comparison of a few sites: the builder on made-up results, the offline file and ``foncier map --compare``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.compare import SITE_COLORS, build_comparison, score_class_colors
from foncier.maps.elements import static_text
from foncier.maps.export import offline_problems, save_html
from foncier.scripts.cli import cli

from .fake import COMMUNES, OWNER, FakeResults
from .test_builders import GENERATED, visible


def _compare(fake: FakeResults, ids: list[str], **kwargs: object) -> str:
    options = {
        "profile": "default",
        "provenance": fake.provenance,
        "commune_names": dict(COMMUNES),
        "n_sites": len(fake.sites),
        "generated": GENERATED,
        **kwargs,
    }
    return visible(build_comparison(fake.sites.loc[ids], fake.breakdown, **options))  # type: ignore[arg-type]


def _cells(page: str, label: str) -> list[str]:
    """The ``<td>`` tags (opening tag and content) of the table row headed ``label``."""
    row = re.search(rf"<tr><th>{re.escape(label)}</th>(.*?)</tr>", page, re.S)
    assert row, f"no row {label!r}"
    return re.findall(r"<td[^>]*>.*?</td>", row.group(1), re.S)


def _kept(fake: FakeResults, n: int) -> list[str]:
    return [str(s) for s in fake.sites.index[~fake.sites["excluded"]][:n]]


def test_every_site_is_a_column_best_rank_first_with_its_numbered_marker(fake: FakeResults) -> None:
    ids = _kept(fake, 4)[::-1]  # given worst first: shown best first
    page = _compare(fake, ids, synthetic=True)
    heads = re.findall(r'<span class="fx-id">([^<]+)</span>', page)
    assert heads == ids[::-1]
    for i, color in enumerate(SITE_COLORS[:4]):
        assert f"background:{color}" in page, i
    in_labels = static_text("orientation.js").count("L.marker(")  # place labels (towns, interchange, CDG)
    assert page.count("L.marker(") - in_labels == 1 and re.search(r'\[\[[\d.]+,[\d.]+,1,"#', page)
    assert "Comparaison de sites" in page and "4 sites comparés (sur 24 sites classés)" in page
    assert "ÉCHANTILLON SYNTHÉTIQUE" in page and GENERATED in page
    assert "Soissons" in page or "Belleu" in page or "Crouy" in page  # commune names, not codes
    assert "/home/someone" not in page


def test_best_value_of_each_row_is_highlighted(fake: FakeResults) -> None:
    ids = _kept(fake, 3)
    page = _compare(fake, ids)
    score = _cells(page, "Score")
    assert len(score) == 3 and 'class="fx-best"' in score[0] and "fx-best" not in "".join(score[1:])
    assert 'class="fx-best"' in _cells(page, "Rang")[0]
    roissy = fake.sites.loc[ids, "time_to_roissy_min"].to_numpy()
    cells = _cells(page, "Temps d'accès à Roissy-CDG")[0:3]
    assert "fx-best" in cells[int(roissy.argmin())]
    # one contribution row per criterion, with its bars
    assert page.count('class="fx-cbar"') == 3 * 7
    assert "Décomposition du score" in page


def test_english_labels_and_excluded_site_reasons(fake: FakeResults) -> None:
    excluded = str(fake.sites.index[fake.sites["excluded"]][0])
    ids = [*_kept(fake, 1), excluded]
    page = _compare(fake, ids, lang="en")
    assert '<html lang="en">' in page and "Site comparison" in page and "Reasons for exclusion" in page
    assert "Travel time to Roissy-CDG" in page and "Comparaison" not in page
    assert fake.sites.loc[excluded, "reasons"] in page and "Excluded" in page
    assert "SYNTHETIC SAMPLE" not in page  # not synthetic unless said


def test_no_personal_data_and_wrong_numbers_of_sites(fake: FakeResults) -> None:
    sites = fake.sites.assign(proprietaire=OWNER)
    ids = _kept(fake, 2)
    page = visible(build_comparison(sites.loc[ids], fake.breakdown, profile="default"))
    assert OWNER not in page and "proprietaire" not in page
    with pytest.raises(ValueError, match="2 to 6 sites"):
        build_comparison(fake.sites.iloc[:1], fake.breakdown, profile="default")
    with pytest.raises(ValueError, match="2 to 6 sites"):
        build_comparison(fake.sites.iloc[:7], fake.breakdown, profile="default")


def test_score_badges_take_the_site_map_colours(fake: FakeResults) -> None:
    ids = _kept(fake, 2)
    colors = score_class_colors(fake.sites, ids)
    page = _compare(fake, ids, score_colors=colors)
    for cell, sid in zip(_cells(page, "Score"), ids, strict=True):
        assert f"background:{colors[sid]}" in cell


def test_offline_comparison_references_only_its_assets(
    fake: FakeResults, tmp_path: Path, assets_installed: None
) -> None:
    page = build_comparison(fake.sites.loc[_kept(fake, 3)], fake.breakdown, profile="default", offline=True)
    path = save_html(page, tmp_path / "compare.html", offline=True)
    assert offline_problems(path) == []
    assert "tile.openstreetmap" not in page


def test_map_compare_command(scored_sample_workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ws = str(scored_sample_workspace)
    ids = [str(s) for s in scored_sites(Workspace.open(scored_sample_workspace)).sites.index[:3]]
    out = tmp_path / "compare.html"
    result = runner.invoke(cli, ["map", "-w", ws, "--compare", ",".join(ids), "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote the comparison of sites" in result.output
    page = out.read_text()
    assert all(s in page for s in ids) and "Site comparison" in page and "SYNTHETIC SAMPLE" in page

    result = runner.invoke(cli, ["map", "-w", ws, "--compare", f"{ids[0]},Snothere0000,Snothere0001", "-o", str(out)])
    assert result.exit_code == 4 and "'Snothere0000', 'Snothere0001'" in result.output
    for bad in (ids[0], ",".join(ids[:1] * 2), ",".join(f"S{i}" for i in range(7)), f"{ids[0]},,{ids[1]}"):
        result = runner.invoke(cli, ["map", "-w", ws, "--compare", bad, "-o", str(out)])
        assert result.exit_code == 2 and "--compare" in result.output, bad
    result = runner.invoke(cli, ["map", "-w", ws, "--compare", ",".join(ids), "--site", ids[0], "-o", str(out)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_comparison_shows_availability_and_ties_when_known(fake: FakeResults) -> None:
    ids = _kept(fake, 3)
    assert "Disponibilité" not in _compare(fake, ids)  # nothing known: no row
    sites = fake.sites.copy()
    sites["availability"] = None
    sites.loc[ids[0], ["availability", "status_date"]] = ["free", "2026-10-01"]
    sites.loc[ids[1], "availability"] = "under_option"
    sites["group_first"], sites["group_last"] = sites["rank"], sites["rank"]
    sites.loc[ids[1:], "group_first"] = sites.loc[ids[1], "rank"]
    sites.loc[ids[1:], "group_last"] = sites.loc[ids[2], "rank"]
    page = visible(build_comparison(sites.loc[ids], fake.breakdown, profile="default", generated=GENERATED))
    cells = _cells(page, "Disponibilité")
    assert "libre (statut modifié le 2026-10-01)" in cells[0] and "sous option" in cells[1] and "–" in cells[2]
    ties = _cells(page, "Ex æquo (classement)")
    first, last = int(sites.loc[ids[1], "rank"]), int(sites.loc[ids[2], "rank"])
    assert "–" in ties[0] and f"ex æquo {first}–{last}" in ties[1] and f"ex æquo {first}–{last}" in ties[2]

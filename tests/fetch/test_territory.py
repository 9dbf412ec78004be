"""Territory files: the built-in Soissonnais et Valois, the example, custom files and their errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from foncier.errors import NotFoundError, ValidationError
from foncier.layers.fetch.territory import department_of, list_territories, load_territory


def test_builtin_territories_are_listed() -> None:
    assert {"soissonnais-valois", "example-communes"} <= set(list_territories())


def test_soissonnais_valois() -> None:
    t = load_territory("soissonnais-valois")
    assert t.epci_sirens == ["240200477", "240200501", "240200519", "200071991"]
    assert len(t.communes) == 163 and len(set(t.communes)) == 163
    assert {"02722", "02810", "02245"} <= set(t.communes)  # Soissons, Villers-Cotterets, Cuffies
    assert t.departments == ["02"]
    cdg = {h.hub_id: h for h in t.hubs}["CDG"]
    assert (cdg.kind, cdg.lat, cdg.lon) == ("airport", 49.0128, 2.55)
    assert t.osm_extracts


@pytest.mark.real_data
def test_soissonnais_valois_matches_the_insee_list(real_data: Path) -> None:
    with (real_data / "territoire_communes_epci_2026.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    t = load_territory("soissonnais-valois")
    assert sorted(t.communes) == sorted(r["insee"] for r in rows)
    assert set(t.epci_sirens) == {r["epci_siren"] for r in rows}


def test_example_territory_by_communes_only() -> None:
    t = load_territory("example-communes")
    assert t.epcis == [] and t.communes == ["02810", "02258", "02594", "02466"]


def test_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("communes: [02722, '02810']\n", "utf-8")  # an unquoted code loses its 0: refused
    with pytest.raises(ValidationError, match="malformed INSEE"):
        load_territory(path)
    path.write_text("communes: ['02722', '02810']\nepcis: [{siren: '240200477'}]\n", "utf-8")
    t = load_territory(path)
    assert t.name == "mine" and t.title == "mine" and t.departments == ["02"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("title: nothing\n", "needs 'epcis'"), ("epcis: [{siren: '123'}]\n", "9-digit SIREN"),
     ("communes: ['02722', '02722']\n", "duplicated"), ("communes: ['02722']\ncolour: red\n", "colour"),
     ("communes: ['02722']\nhubs: [{hub_id: X, nom: X, kind: spaceport, lon: 1, lat: 2}]\n", "unknown hub kind"),
     ("- just\n- a list\n", "YAML mapping"), ("communes: [unclosed\n", "cannot read")],
)  # fmt: skip
def test_invalid_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ValidationError, match=message) as info:
        load_territory(path)
    assert str(path) in str(info.value)


def test_unknown_name() -> None:
    with pytest.raises(NotFoundError, match="soissonnais-valois"):
        load_territory("atlantis")


def test_department_of() -> None:
    assert department_of("02722") == "02" and department_of("2A004") == "2A" and department_of("97411") == "974"

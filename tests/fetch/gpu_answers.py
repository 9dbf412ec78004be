"""API Carto answers in the services' real shapes for the GPU cartes communales, municipalities and
prescriptions, and the nature reserves (served by tests/fetch/conftest.py).

Property names follow the CNIG standards as the GPU publishes them (``gpu/secteur-cc``: CNIG CC
``libelle, libelong, typesect, fermreco, destdomi, nomfic, urlfic, datappro, datvalid, idurba`` with
``gid, partition, insee``; ``gpu/prescription-surf``: CNIG PLU ``libelle, txt, typepsc, stypepsc, nomfic, urlfic,
datappro, datvalid, idurba``; ``gpu/municipality``: ``gid, insee, name, is_rnu``) and API Carto nature
(``nature/rnn``: ``id_mnhn, nom, url, id_local, gest_site, operateur, ...``; IGNF/apicarto doc/nature.yml).
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import mapping

CC_COMMUNE = "02594"  # Passy-en-Valois: carte communale in these answers
RNU_COMMUNE = "02466"  # Marizy-Sainte-Geneviève: under the RNU in these answers


def _square(lon: float, lat: float, half_m: float) -> Any:
    dlat = half_m / 111_000.0
    dlon = half_m / (111_000.0 * math.cos(math.radians(lat)))
    return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def _feature(fid: str, props: dict[str, Any], geom: Any) -> dict[str, Any]:
    multi = geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])
    return {"type": "Feature", "id": fid, "geometry": mapping(multi), "geometry_name": "the_geom", "properties": props}


def secteur_cc(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """Three sectors of the carte communale of :data:`CC_COMMUNE`: ZC (01), ZCa (02), ZnC (03)."""
    lon, lat = points[CC_COMMUNE]
    doc = {"partition": f"DU_{CC_COMMUNE}", "insee": CC_COMMUNE, "nomfic": f"{CC_COMMUNE}_CC_20150312.pdf",
           "urlfic": f"https://www.geoportail-urbanisme.gouv.fr/{CC_COMMUNE}_CC.pdf", "datappro": "20150312",
           "datvalid": "20150401", "idurba": f"{CC_COMMUNE}_CC_20150312", "fermreco": "non",
           "destdomi": None}  # fmt: skip
    kinds = [("ZC", "Secteur constructible", "01"), ("ZCa", "Secteur réservé aux activités", "02"),
             ("ZnC", "Secteur non constructible", "03")]  # fmt: skip
    return [
        _feature(f"secteur_cc.{500 + k}",
                 {**doc, "gid": 500 + k, "libelle": libelle, "libelong": libelong, "typesect": typesect},
                 _square(lon + 0.006 * (k - 1), lat - 0.004, 200))
        for k, (libelle, libelong, typesect) in enumerate(kinds)
    ]  # fmt: skip


def municipality(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """The municipality records: :data:`RNU_COMMUNE` under the RNU, the others not."""
    out = []
    for k, (insee, (lon, lat)) in enumerate(sorted(points.items())):
        props = {"gid": 9000 + k, "insee": insee, "name": f"Commune {insee}", "is_rnu": insee == RNU_COMMUNE}
        out.append(_feature(f"municipality.{9000 + k}", props, _square(lon, lat, 1500)))
    return out


def prescription_surf(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """Surface prescriptions of the PLU of 02810: an EBC (01), an emplacement réservé (05), an inconstructible
    sector (02) and a heritage element (07, not a building constraint)."""
    lon, lat = points["02810"]
    doc = {"partition": "DU_02810", "insee": "02810", "nomfic": "02810_reglement_20190625.pdf",
           "urlfic": "https://www.geoportail-urbanisme.gouv.fr/02810.pdf", "datappro": "20190625",
           "datvalid": "20200101", "idurba": "02810_PLU_20190625"}  # fmt: skip
    items = [("01", "00", "EBC", "Espace boisé classé"), ("05", "00", "ER n°4", "Élargissement de la RD 81"),
             ("02", "00", "Secteur inconstructible", "Zone de bruit"),
             ("07", "00", "Patrimoine", "Élément de paysage à protéger")]  # fmt: skip
    return [
        _feature(f"prescription_surf.{700 + k}",
                 {**doc, "gid": 700 + k, "typepsc": typepsc, "stypepsc": stypepsc, "libelle": libelle, "txt": txt},
                 _square(lon + 0.004 * k, lat + 0.006, 100))
        for k, (typepsc, stypepsc, libelle, txt) in enumerate(items)
    ]  # fmt: skip


def nature_reserves(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """One national nature reserve near 02810 (``nature/rnn``)."""
    lon, lat = points["02810"]
    props = {"id_mnhn": "FR3600123", "nom": "Réserve naturelle test", "url": "https://inpn.mnhn.fr/espace/protege/FR3600123",
             "id_local": "RNN123", "date_crea": "1995-04-01", "gest_site": "Conservatoire", "operateur": "MNHN",
             "surf_off": 120.0, "p1_nature": "Tourbière", "area_sig": 1.2, "cd_sig": "RN123", "marin": "N"}  # fmt: skip
    return [_feature("rnn.1", props, _square(lon - 0.015, lat - 0.015, 200))]

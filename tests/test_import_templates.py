"""Accepted headers of the import templates (analysis.imports.templates): every column accepts
its key, its template header and its other names, case and accents ignored. Expected mappings
are written here by hand from docs/imports.md's column lists."""

from __future__ import annotations

import pytest

from analysis.imports import checks, templates
from analysis.imports.reading import RawTable


def _map(header: list[str], spec) -> tuple[dict[str, int], list[str]]:
    return checks.map_columns(RawTable(columns=header, rows=[], bad=[], encoding="utf-8", sep=";"), spec)


@pytest.mark.parametrize("spec", [templates.OFFER_TEMPLATE, templates.COLLECTIVE_TEMPLATE, templates.MOBILITY_TEMPLATE])
def test_key_and_template_header_are_always_accepted(spec):
    for c in spec:
        assert c.aliases[0] == c.key and c.header in c.aliases[:2]
        assert _map([c.header], spec)[0] == {c.key: 0}
        assert _map([c.key.upper()], spec)[0] == {c.key: 0}


def test_offer_headers_by_other_names():
    header = ["Raison sociale", "Secteur d'activité", "CP", "Ville", "Capacité", "Début", "Filière", "Rue", "lng", "Y"]
    pos, missing = _map(header, templates.OFFER_TEMPLATE)
    assert pos == {
        "employer": 0,
        "sector": 1,
        "postcode": 2,
        "town": 3,
        "capacity": 4,
        "start_date": 5,
        "grades": 6,
        "street": 7,
        "lon": 8,
        "lat": 9,
    }
    assert missing == []
    pos, missing = _map(["ID", "Référence", "address", "Employeur public"], templates.OFFER_TEMPLATE)
    assert pos == {"offer_id": 0, "street": 2, "is_public": 3}  # « Référence » also means the id: first kept
    assert missing == ["employeur", "secteur", "code_postal", "commune", "niveaux"]


def test_collective_and_mobility_headers_by_other_names():
    pos, _ = _map(["Identifiant", "Nom", "Type", "Code INSEE", "Élèves", "Remarque"], templates.COLLECTIVE_TEMPLATE)
    assert pos == {"project_id": 0, "name": 1, "kind": 2, "commune_code": 3, "pupils": 4, "note": 5}
    pos, missing = _map(["SIREN", "Type", "Service", "Téléphone"], templates.MOBILITY_TEMPLATE)
    assert pos == {"epci_siren": 0, "service_type": 1, "name": 2, "contact": 3}
    assert missing == ["source"]


def test_other_names_are_exactly_the_documented_ones():
    """The full set of accepted headers per column (hand-copied from the specs before the
    aliases were split into key, header and other names)."""
    got = {c.key: set(c.aliases) for c in templates.OFFER_TEMPLATE}
    assert got["offer_id"] == {"id", "offer_id", "identifiant", "reference"}
    assert got["street"] == {"address", "adresse", "rue", "street"}
    assert got["is_public"] == {"public", "is_public", "employeur_public"}
    assert got["siret"] == {"siret"}
    assert sum(len(c.aliases) for c in templates.OFFER_TEMPLATE) == 57
    assert sum(len(c.aliases) for c in templates.COLLECTIVE_TEMPLATE) == 30
    assert sum(len(c.aliases) for c in templates.MOBILITY_TEMPLATE) == 21

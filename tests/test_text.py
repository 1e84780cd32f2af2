"""Town-name normalisation (hand-written expectations)."""

import pytest

from analysis.text import normalize_name


@pytest.mark.parametrize(
    "a, b",
    [
        ("CAEN", "Caen"),
        ("Cherbourg-en-Cotentin", "cherbourg en cotentin"),
        ("Saint-Lô", "ST LO"),
        ("Évreux Cédex", "EVREUX"),
        ("Le Havre", "Havre (Le)"),
        ("Gonfreville-l'Orcher", "GONFREVILLE L'ORCHER"),
        ("Sainte-Adresse", "STE ADRESSE"),
    ],
)
def test_equivalent_spellings(a, b):
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    "a, b",
    [("Saint-Lô", "Saint-Lô-d'Ourville"), ("Eu", "Eure"), ("Caen", "Cahan")],
)
def test_different_places_stay_different(a, b):
    assert normalize_name(a) != normalize_name(b)


def test_exact_forms():
    assert normalize_name("ST-LO CEDEX 2") == "saint lo"
    assert normalize_name("Mézidon Vallée d'Auge") == "mezidon vallee d auge"
    assert normalize_name(None) == ""
    assert normalize_name("   ") == ""

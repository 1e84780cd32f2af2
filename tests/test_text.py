"""French numbers and town-name normalisation (hand-written expectations)."""

import numpy as np
import pandas as pd
import pytest

from analysis import report
from analysis.outputs import maps
from analysis.text import MISSING, NNBSP, format_number, format_percent, normalize_name


@pytest.mark.parametrize(
    "value, decimals, expected",
    [
        (36780, 0, "36\u202f780"),
        (1234567.891, 2, "1\u202f234\u202f567,89"),
        (999.5, 0, "1\u202f000"),  # rounding carries into the thousands
        (0.125, 3, "0,125"),
        (-2500.25, 1, "-2\u202f500,2"),  # Python rounds half to even on the binary value
        (-0.04, 1, "0,0"),  # no "-0,0"
        (np.int64(12000), 0, "12\u202f000"),
        (None, 0, "\u2014"),
        (float("nan"), 1, "\u2014"),
        (pd.NA, 0, "\u2014"),
        ("abc", 0, "\u2014"),
        ("12000", 0, "12\u202f000"),
    ],
)
def test_format_number(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_percent_and_the_single_choice_of_spaces_and_dashes():
    assert format_percent(0.2345) == "23,4\u202f%"
    assert format_percent(1) == "100,0\u202f%"
    assert format_percent(None) == MISSING == "\u2014"
    assert NNBSP == "\u202f"
    # the report, the maps and the pages all print the same text for the same value
    from ui import core

    for v in (36780.4, 0.5, float("nan")):
        assert report.format_value(v, "dec1") == maps.format_number(v, 1) == core.fnum(v, 1) == format_number(v, 1)
    assert report.format_value(0.125, "pct") == core.fpct(0.125, 1) == "12,5\u202f%"


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


@pytest.mark.parametrize(
    "header, sep", [("a;b;c", ";"), ("a,b,c", ","), ("a\tb", "\t"), ("a,b;c,d", ","), ("nom", ";"), ("a;b,c", ";")]
)
def test_one_csv_separator_rule(header, sep):
    """The build's reader and the import reader guess the separator with the same function."""
    from analysis import imports
    from analysis.sources import readers

    assert imports.reading.sniff_separator is readers.sniff_separator
    assert readers.sniff_separator(header) == sep


def test_declared_headcounts_accept_every_missing_value():
    """Nullable integer columns from DuckDB hold pd.NA: `v != v` raised « boolean value of NA is
    ambiguous » and broke the Territoire page."""
    from ui import core

    assert core.declared([1200, None, float("nan"), pd.NA, np.int64(3)]) == [
        "1\u202f200",
        "non déclaré",
        "non déclaré",
        "non déclaré",
        "3",
    ]

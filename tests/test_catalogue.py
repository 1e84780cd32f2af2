"""The catalogue of modes and indicators (analysis/catalogue.py) is the one vocabulary.

- every module's mode list is the catalogue's, and the SQL column lists follow it;
- the public-transport label says which networks are loaded (real database: TER only);
- a DUMMY indicator registered from a test fixture (synthetic, derived from two real columns)
  appears on a page (Streamlit AppTest) and in the XLSX report, with the value computed by
  hand from the same row.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from analysis import access, catalogue, config, report, traveltime
from analysis.access import Filters
from analysis.network import roads

ROOT = Path(__file__).resolve().parent.parent
COTENTIN = "200067205"
DUMMY_KEY = "offres_pour_1000_eleves_test"
DUMMY_LABEL = "Indicateur fictif de test : offres situées pour 1 000 élèves"


def test_mode_lists_come_from_the_catalogue():
    assert access.MODES == catalogue.MODES == ("walk", "bike", "transit", "car")
    assert roads.ROAD_MODES == catalogue.ROAD_MODES == ("walk", "bike", "car")
    assert set(traveltime.ALL_MODES) == set(catalogue.MODES)
    assert traveltime.ALL_MODES[-1] == "transit"  # road modes first
    assert catalogue.DISPLAY_ORDER == ("transit", "car", "bike", "walk")
    assert not hasattr(config, "DEFAULT_MODES")  # the unused duplicate is gone
    assert roads.WALK_KPH == catalogue.Mode.WALK.speed_kmh == 4.5
    assert catalogue.Mode("transit") is catalogue.Mode.TRANSIT and catalogue.Mode.CAR == "car"


def test_sql_column_lists_follow_the_modes():
    sql = access.origin_columns()
    for m in catalogue.MODES:
        assert f"nearest_{m}" in sql
    cols = [c for c, _i, _m in catalogue.indicator_columns() if c.startswith("median_minutes_")]
    assert cols == [f"median_minutes_{m}" for m in catalogue.MODES]


@pytest.mark.parametrize(
    "feed_id, path, publisher, want",
    [
        ("ter", "/d/gtfs/sncf_ter_france_2025-01-22.zip", "SNCF_default", "TER"),
        ("export-ter-gtfs-last", "/d/export-ter-gtfs-last.zip", None, "TER"),
        ("atoumod", "/d/atoumod.zip", "Région Normandie", "Région Normandie"),
        ("twisto", "/d/twisto.zip", None, "twisto"),
        ("intercites", "/d/intercites.zip", "SNCF Voyageurs", "TER"),
    ],
)
def test_network_name(feed_id, path, publisher, want):
    assert catalogue.network_name(feed_id, path, publisher) == want


def test_transit_label_names_the_loaded_networks():
    assert catalogue.mode_label("transit", ("TER",)) == "Transports en commun (TER seulement) + marche"
    assert catalogue.mode_label("transit", ("TER",), "phrase") == "en transports en commun (TER seulement) ou à pied"
    assert catalogue.mode_label("transit", ("TER",), "lower") == "transports en commun (TER seulement) + marche"
    assert catalogue.mode_label("transit", ("TER", "Nomad")) == "Transports en commun (TER, Nomad) + marche"
    assert catalogue.mode_label("transit", ()) == "Transports en commun (aucun réseau chargé) + marche"
    assert catalogue.mode_label("car", ("TER",)) == "Voiture"
    ind = catalogue.indicator("share_no_offer_transit")
    assert ind.text(("TER",)) == "Part des élèves sans offre en transports en commun (TER seulement) ou à pied"
    assert ind.short_text(("TER",)) == "Sans offre en TER ou à pied"
    med = catalogue.indicator("median_minutes")
    assert med.column("bike") == "median_minutes_bike"
    assert med.text(None, "walk") == "Temps médian jusqu'à l'offre la plus proche à pied"
    assert med.text(("TER",)) == "Temps médian jusqu'à l'offre la plus proche"


def test_real_database_has_ter_only(real_con):
    assert catalogue.transit_networks(real_con) == ("TER",)


def test_register_keeps_order_and_rejects_unknown():
    before = list(catalogue.INDICATORS)
    try:
        catalogue.register(catalogue.Indicator("x_test", "X", "X"), after="pupils")
        keys = list(catalogue.INDICATORS)
        assert keys[keys.index("pupils") + 1] == "x_test"
    finally:
        catalogue.unregister("x_test")
    assert list(catalogue.INDICATORS) == before
    with pytest.raises(KeyError, match="indicateur inconnu"):
        catalogue.indicator("nope")


@pytest.fixture()
def dummy_indicator():
    """SYNTHETIC indicator for the test only: offers located per 1,000 pupils, computed from
    two real columns of the territory table."""
    ind = catalogue.Indicator(
        DUMMY_KEY,
        DUMMY_LABEL,
        "Fictif /1000",
        "offres/1 000 élèves",
        1.0,
        2,
        "YlGnBu",
        False,
        "Indicateur fictif enregistré par un test.",
        "dec2",
        on_map=True,
        compute=lambda df: (
            pd.to_numeric(df["offers_located"], errors="coerce") * 1000.0 / pd.to_numeric(df["pupils"], errors="coerce")
        ),
    )
    catalogue.register(ind)
    yield ind
    catalogue.unregister(DUMMY_KEY)


def test_dummy_indicator_in_the_xlsx_report(real_con, dummy_indicator):
    from openpyxl import load_workbook

    content, _name, _mime = report.build_report(real_con, "epci", COTENTIN, "xlsx", Filters())
    ws = load_workbook(io.BytesIO(content))["Territoires"]
    header = [c.value for c in ws[1]]
    col = header.index(f"{DUMMY_LABEL} (offres/1 000 élèves)")
    first = [c.value for c in ws[2]]
    want = access.territory_indicators(real_con, "epci", Filters(), COTENTIN).iloc[0]
    assert first[header.index("Nom")] == "CA du Cotentin"
    assert first[col] == pytest.approx(want["offers_located"] * 1000.0 / want["pupils"], rel=1e-9)
    # and in the CSV (French header)
    csv_text = report.build_report(real_con, "epci", COTENTIN, "csv", Filters())[0].decode("utf-8-sig")
    assert DUMMY_LABEL in csv_text.splitlines()[0]


def test_dummy_indicator_on_the_couverture_page(real_con, dummy_indicator, monkeypatch):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "1_Couverture.py"), default_timeout=120)
    at.query_params["indicateur"] = DUMMY_KEY
    at.query_params["niveau_carte"] = "epci"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    box = at.selectbox(key="cov_ind")
    assert DUMMY_KEY in box.options or DUMMY_LABEL in box.options
    assert box.value == DUMMY_KEY
    text = "\n".join(str(m.value) for m in at.markdown)
    assert DUMMY_LABEL.lower() in text.lower()  # the « En bref » sentence names it
    # the ranking table shows its column, worst (lowest, higher_is_worse=False) first
    assert f"{DUMMY_LABEL} (offres/1 000 élèves)" in text

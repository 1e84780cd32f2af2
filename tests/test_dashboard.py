"""The reads behind the pages (analysis.outputs.dashboard) on the database built from the mirror, checked
against independent recounts (pandas on the raw tables, or the mirror's known sizes)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis import catalogue
from analysis.access import Filters
from analysis.outputs import dashboard


def test_offer_points_count_every_located_offer_once(base_con):
    offers = base_con.execute("SELECT offer_id, loc_id, sector, for_seconde, is_public FROM offers").df()
    located = offers[offers["loc_id"].notna()]
    pts = dashboard.offer_points(base_con, Filters())
    assert pts["n_offers"].sum() == len(located) and pts["loc_id"].is_unique
    # offer filters: the same recount with pandas
    f = Filters(grade="seconde", public=False)
    want = located[located["for_seconde"] & ~located["is_public"].astype(bool)]
    got = dashboard.offer_points(base_con, f)
    assert got["n_offers"].sum() == len(want)
    sector = located["sector"].value_counts().index[0]
    got = dashboard.offer_points(base_con, Filters(sectors=(sector,)))
    assert got["n_offers"].sum() == (located["sector"] == sector).sum()


def test_offer_popup_lists_sectors_by_count_then_name(base_con):
    """Ties used to come out in any order (the popup text changed between two runs)."""
    pts = dashboard.offer_points(base_con, Filters())
    checked = 0
    for text in pts["sectors"].dropna():
        parts = re.findall(r"(.*?) \((\d+)\)(?:, |$)", text)
        if len(parts) < 2:
            continue
        keys = [(-int(n), name) for name, n in parts]
        assert keys == sorted(keys), text
        checked += 1
    assert checked > 10


def test_lists_match_the_loaded_tables(base_con):
    communes = dashboard.communes_list(base_con)
    assert len(communes) == base_con.execute("SELECT count(*) FROM communes").fetchone()[0]
    assert set(dashboard.departements_list(base_con)["code"]) == {"14", "27", "50", "61", "76"}
    epci = dashboard.epci_list(base_con)
    assert epci["siren"].is_unique and epci["dep"].notna().all()
    schools = dashboard.school_points(base_con)
    assert schools["lon"].notna().all() and len(schools) > 200


def test_without_travel_times(base_con):
    """The base built without travel times: the pages' guards see it, nothing is invented."""
    assert not dashboard.travel_times_ready(base_con)
    assert dashboard.estimate_counts(base_con) == {}
    assert dashboard.modes_available(base_con) == list(catalogue.DISPLAY_ORDER)


def test_data_page_reads(base_con):
    counts = dict(dashboard.table_counts(base_con))
    assert counts["communes"] == len(dashboard.communes_list(base_con))
    assert dashboard.offer_count(base_con) == counts["offers"]
    prec = dashboard.location_precision_counts(base_con)
    assert prec["n"].sum() == counts["offers"]
    rejects = dashboard.offer_rejects(base_con)
    assert rejects is None or isinstance(rejects, pd.DataFrame)
    info = dashboard.build_info(base_con)
    assert {"version", "built_at", "source_dir"} <= set(info)


def test_import_log_before_any_import(base_con):
    log = dashboard.import_log(base_con)
    assert log is None or log.empty  # a fresh build replays no import
    q = dashboard.import_quarantine(base_con, "nope")
    assert q is None or q.empty


@pytest.mark.parametrize("codes", [("14118",), ("14118", "76540")])
def test_sector_counts_recounted(base_con, codes):
    offers = base_con.execute("SELECT sector, commune_code FROM offers").df()
    want = offers[offers["commune_code"].isin(codes)]["sector"].value_counts()
    got = dashboard.sector_counts(base_con, codes).set_index("sector")["n"]
    assert got.sort_index().to_dict() == want.sort_index().to_dict()

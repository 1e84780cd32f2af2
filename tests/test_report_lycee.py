"""The lycée sheet (``analysis.report --level lycee``, issue 22 item 3) on the real database.

Expectations are recomputed independently from ``travel_times`` with plain SQL.
"""

from __future__ import annotations

import io

import pytest

from analysis.access import Filters
from analysis.report import cli as report_cli
from analysis.report.errors import ReportError
from analysis.report.lycee import build_lycee_report, collect_lycee, search_lycees

UAI = "0141555P"


def _expected_offers(con, mode: str, minutes: int) -> set[str]:
    rows = con.execute(
        """SELECT DISTINCT o.offer_id FROM travel_times t JOIN offers o ON o.loc_id = t.loc_id
           WHERE t.origin_kind = 'school' AND t.origin_id = ? AND t.mode = ? AND t.minutes <= ?
             AND coalesce(o.for_seconde, TRUE)""",
        [UAI, mode, minutes],
    ).fetchall()
    return {str(r[0]) for r in rows}


def test_pdf_names_the_lycee_and_lists_its_offers(tmp_path, real_con):
    from pypdf import PdfReader

    out = tmp_path / "lycee.pdf"
    assert report_cli.main(["--level", "lycee", "--code", UAI, "--format", "pdf", "--out", str(out)]) == 0
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    flat = " ".join(text.split())
    assert "Lycée Marie Curie" in flat
    expected = _expected_offers(real_con, "transit", 45)
    assert len(expected) >= 5
    assert f"{len(expected)} offres accessibles" in flat
    # every reachable offer is a row: its address is printed
    addresses = real_con.execute(
        "SELECT DISTINCT street FROM offers WHERE offer_id IN (SELECT unnest(?)) AND street IS NOT NULL",
        [sorted(expected)],
    ).fetchall()
    for (street,) in addresses[:10]:
        assert " ".join(str(street).split())[:15] in flat


@pytest.mark.parametrize("mode", ["walk", "bike", "car", "transit"])
def test_sheet_offers_match_travel_times(real_con, mode):
    sheet = collect_lycee(real_con, UAI, Filters(mode=mode, minutes=30))
    got = set(sheet.offers.loc[sheet.offers["mode"] == mode, "offer_id"].astype(str))
    assert got == _expected_offers(real_con, mode, 30)
    row = sheet.modes.set_index("mode").loc[mode]
    assert row["offers"] == len(got)
    reach = set(sheet.reachable_sectors(mode))
    missing = set(sheet.missing_sectors(mode))
    assert not reach & missing
    assert reach == set(sheet.offers.loc[sheet.offers["mode"] == mode, "sector"].dropna())


def test_csv_xlsx_and_errors(real_con):
    import openpyxl

    content, name, _ = build_lycee_report(real_con, UAI, "csv")
    assert name.startswith("fiche_lycee_0141555P") and content.decode("utf-8-sig").startswith("Mode;Offre;Minutes")
    content, _, _ = build_lycee_report(real_con, UAI.lower(), "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["Lycée", "Secteurs", "Offres accessibles"]
    assert "Lycée Marie Curie" in wb["Lycée"]["A1"].value
    with pytest.raises(ReportError, match="Lycée inconnu"):
        collect_lycee(real_con, "9999999Z")
    with pytest.raises(ReportError, match="UAI"):
        collect_lycee(real_con, "")


def test_search_by_name_town_or_uai(real_con):
    for q in ("marie curie vire", "VIRE", "0141555p", "Marie Curie"):
        assert UAI in set(search_lycees(real_con, q, limit=50)["uai"]), q
    assert search_lycees(real_con, "").empty

"""What a new user met (issue 20 items 3 and 6): large communes said as such, whole pupils and
percentages in the reports, French words and counts, dataset titles instead of ids.

Unit tests with hand-written expectations, then the real database (``data/observatoire.duckdb``,
fixture ``real_con``): the flag stored at build time, the report files, the pages (AppTest).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from apptest_pages import all_text, page_links_as_text, run_page
from test_traveltime import synthetic_db, synthetic_roads  # noqa: F401 - pytest fixtures

from analysis import catalogue, text
from analysis.access import Filters
from analysis.sources import geography
from analysis.sources import registry as sources

ROOT = Path(__file__).resolve().parent.parent
VIRE, VIRE_EPCI = "14762", "200068799"
CAEN = "14118"


# --------------------------------------------------------------------------------------------
# large communes: one origin (hand-written expectations)
# --------------------------------------------------------------------------------------------


def test_delegated_counts_count_deleguees_and_associees_by_parent():
    recs = [
        {"code": "14762", "type": "commune-actuelle"},
        {"code": "14762", "type": "commune-deleguee", "chefLieu": "14762"},  # the chef-lieu's own
        {"code": "14001", "type": "commune-deleguee", "chefLieu": "14762"},
        {"code": "14002", "type": "commune-associee", "chefLieu": "14762"},
        {"code": "50001", "type": "commune-deleguee", "chefLieu": "50100"},
        {"code": "61001", "type": "commune-actuelle", "chefLieu": "61001"},  # not a former commune
    ]
    assert geography.delegated_counts(recs) == {"14762": 3, "50100": 1}


@pytest.mark.parametrize(
    "area, delegated, flagged",
    [
        (49.9, 0, False),  # just under the area threshold, not a commune nouvelle
        (50.0, 0, True),  # the threshold is inclusive
        (8.0, 1, False),  # one commune déléguée only: the commune itself kept as such
        (8.0, 2, True),  # a commune nouvelle of two former communes
        (None, 0, False),
    ],
)
def test_single_origin_flag_thresholds(area, delegated, flagged):
    got = geography.single_origin_flag(pd.Series([area], dtype=float), pd.Series([delegated]))
    assert bool(got.iloc[0]) is flagged


def test_single_origin_note_wording():
    note = geography.single_origin_note(8, 138.52).replace(text.NNBSP, " ")
    assert note == "origine unique : la mairie (138,5 km², 8 communes déléguées)"
    assert geography.single_origin_note(1, 60.0).endswith("(60,0 km², 1 commune déléguée)")
    assert geography.single_origin_note(0, 75.26, "centre") == "origine unique : le centre de la commune (75,3 km²)"


# --------------------------------------------------------------------------------------------
# French words (hand-written expectations)
# --------------------------------------------------------------------------------------------


def test_counts_agree_and_no_bracketed_plurals():
    assert text.count(1, "commune") == "1 commune"
    assert text.count(17, "offre") == "17 offres"
    assert text.count(0, "ligne rejetée") == "0 ligne rejetée"  # French: 0 takes the singular
    assert text.count(1, "temps estimé") == "1 temps estimé"
    assert text.count(5, "sous-groupe") == "5 sous-groupes"
    assert text.count(36780, "élève") == "36\u202f780 élèves"


def test_one_final_stop_and_elided_de():
    assert text.end_sentence("structures A, B, etc.") == "structures A, B, etc."
    assert text.end_sentence("il manque 2 places ") == "il manque 2 places."
    assert text.of_noun("EPCI") == "d'EPCI"
    assert text.of_noun("commune") == "de commune"


def test_territory_code_message_elides_de():
    from analysis import validate_args as va

    known = {"epci": {"200065597": "CU Caen la Mer"}, "commune": {"14118": "Caen"}}
    with pytest.raises(va.ArgumentError) as exc:
        va.check_territory("14118", "epci", known)
    assert "Code d'EPCI invalide" in str(exc.value) and "Code de EPCI" not in str(exc.value)


def test_network_ids_become_dataset_titles():
    reg = sources.registry()
    ter, roads = reg["gtfs_ter"], reg["roads_skeleton"]
    assert sources.network_title("gtfs:ter") == f"{ter.description} — {ter.publisher}, {ter.vintage}"
    title = sources.network_title("travelmapping:travelmapping_normandie.gpkg")
    assert title == f"{roads.description} — {roads.publisher}, {roads.vintage}"
    assert "travelmapping:" not in title and ".gpkg" not in title
    assert sources.network_title("osmnx:online") == "osmnx:online"  # unknown: the id, not a wrong title


# --------------------------------------------------------------------------------------------
# the real database
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(real_con):
    from analysis.db import columns_of

    if "single_origin_large" not in columns_of(real_con, "communes"):
        pytest.skip("base construite avant communes.single_origin_large : reconstruire")
    return real_con


def test_vire_normandie_flagged_caen_not(real, source_dir):
    got = dict(
        (r[0], r[1:])
        for r in real.execute(
            "SELECT code, delegated_count, single_origin_large, area_km2 FROM communes WHERE code IN (?, ?)",
            [VIRE, CAEN],
        ).fetchall()
    )
    # independent count from the COG file of the mirror
    path = next((source_dir / "communes/etalab-decoupage-administratif").glob("communes_normandie_2025_*.json"))
    recs = json.loads(path.read_text("utf-8"))
    n_vire = sum(1 for r in recs if r["type"] != "commune-actuelle" and r.get("chefLieu") == VIRE)
    assert n_vire == 8 and got[VIRE][0] == n_vire and got[VIRE][1] is True and got[VIRE][2] > 100
    assert got[CAEN][:2] == (0, False)  # 25.7 km², not a commune nouvelle
    flagged = real.execute(
        "SELECT count(*), count(*) FILTER (WHERE area_km2 >= 50 OR delegated_count >= 2) FROM communes "
        "WHERE single_origin_large"
    ).fetchone()
    assert flagged[0] == flagged[1] > 100  # the documented rule, and nothing else


def test_report_flags_vire_normandie_in_every_file(real):
    from pypdf import PdfReader

    from analysis import report

    data = report.collect(real, "epci", VIRE_EPCI, Filters(mode="walk", minutes=15))
    vire = data.table[(data.table["level"] == "commune") & (data.table["code"] == VIRE)].iloc[0]
    assert vire["origin_note"].startswith(catalogue.SINGLE_ORIGIN)
    # CSV (French header): the column, and a whole number of pupils and a share in %
    rows = list(csv.reader(io.StringIO(report.to_csv(data).decode("utf-8-sig")), delimiter=";"))
    header = rows[0]
    line = next(r for r in rows[1:] if r[header.index("Code")] == VIRE)
    assert line[header.index("Point de départ des élèves")] == vire["origin_note"]
    # XLSX sheet « Territoires »
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(report.to_xlsx(data)))["Territoires"]
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert vire["origin_note"] in cells
    # PDF: the caveat and the name in the communes table
    pdf = report.to_pdf(data, real)
    flat = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Vire Normandie (origine unique : la mairie)" in flat.replace("\u202f", " ")


def test_report_csv_whole_pupils_and_percent_0_100(real):
    from analysis import report

    data = report.collect(real, "region", "28", Filters())
    rows = list(csv.reader(io.StringIO(report.to_csv(data).decode("utf-8-sig")), delimiter=";"))
    header, first = rows[0], rows[1]
    pct_cols = [i for i, h in enumerate(header) if h.endswith("(%)")]
    assert pct_cols
    for line in rows[1:]:
        for i in pct_cols:
            if line[i]:
                assert 0 <= float(line[i].replace(",", ".")) <= 100, (header[i], line[i])
    want = data.row()
    share = float(first[header.index("Part des élèves sans offre accessible (mode choisi) (%)")].replace(",", "."))
    assert share == pytest.approx(round(want["share_no_offer"] * 100, 1))
    assert share > 1  # a percentage, not a share 0–1
    for line in rows[1:]:
        for h in ("Élèves de seconde (élèves)", "Élèves sans offre accessible (mode choisi) (élèves)"):
            v = line[header.index(h)]
            assert v == "" or v.isdigit(), (h, v)  # whole pupils (3025,2154 in the database)
    assert first[header.index("Élèves de seconde (élèves)")] == str(round(want["pupils"]))
    assert abs(want["pupils"] - round(want["pupils"])) < 1e-6  # the region: 36780,0000000001 -> 36780
    # the technical header keeps the exact values for scripts
    keys = list(csv.reader(io.StringIO(report.to_csv(data, header="cles").decode("utf-8-sig")), delimiter=";"))
    exact = float(keys[1][keys[0].index("share_no_offer")].replace(",", "."))
    assert exact == pytest.approx(want["share_no_offer"], rel=1e-12) and exact < 1


def test_report_sources_name_networks_not_ids(real):
    from analysis import report

    data = report.collect(real, "departement", "61", Filters())
    assert not data.runs.empty
    for v in data.runs["network_source"]:
        assert not str(v).startswith(("gtfs:", "travelmapping:")), v
    assert any("SNCF" in str(v) for v in data.runs["network_source"])


# --------------------------------------------------------------------------------------------
# pages (AppTest)
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _page_links_as_text(monkeypatch):
    page_links_as_text(monkeypatch)


def test_couverture_default_fills_the_transit_phrase_and_flags_large_communes(real):
    at = run_page("pages/1_Couverture.py", query={"niveau_carte": "commune"})
    txt = all_text(at, warnings=True)
    assert not any(p in txt for p in ("{tc}", "{Tc}", "{tcs}", "{mode}"))
    n = real.execute("SELECT count(*) FILTER (WHERE is_estimate) FROM travel_times WHERE mode = 'transit'").fetchone()
    phrase = catalogue.mode_label("transit", ("TER",), "phrase")
    assert f"{text.format_count(n[0])} temps {phrase} estimés" in txt
    assert "grandes communes" in txt and catalogue.SINGLE_ORIGIN in txt


def test_couverture_refused_indicator_names_labels(real):
    at = run_page("pages/1_Couverture.py", query={"indicateur": "nimporte"})
    notice = "\n".join(w.value for w in at.warning)
    assert "nimporte" in notice and "« Part des élèves sans offre accessible" in notice


def test_territoire_sheet_of_vire_normandie_says_single_origin(real):
    at = run_page("pages/4_Territoire.py", state={"ter_level": "commune", "ter_code_commune": VIRE})
    txt = all_text(at, warnings=True).replace("\u202f", " ")
    assert "origine unique : la mairie (138,5 km², 8 communes déléguées)" in txt
    assert "tous les élèves de cette grande commune partent de sa mairie" in txt and "avec prudence" in txt
    at = run_page("pages/4_Territoire.py", state={"ter_level": "commune", "ter_code_commune": CAEN})
    assert catalogue.SINGLE_ORIGIN not in all_text(at, warnings=True)


def test_rapports_opens_on_an_epci_wholly_in_normandie(real):
    from analysis.outputs import ranking

    at = run_page("pages/5_Rapports.py")
    share = ranking.epci_region_share(real).set_index("code")["share_in_region"]
    names = dict(real.execute("SELECT siren, name FROM epci").fetchall())
    whole = sorted((n for c, n in names.items() if share[c] >= 1), key=str.casefold)
    assert at.header[0].value == f"EPCI : {whole[0]}"
    assert "Dreux" not in at.header[0].value  # CA du Pays de Dreux: 9 % of it in Normandie


def test_territoire_partie_normande_only_when_partly_outside(real):
    coeur = real.execute("SELECT siren FROM epci WHERE name = 'CC Coeur Côte Fleurie'").fetchone()[0]
    at = run_page("pages/4_Territoire.py", state={"ter_level": "epci", "ter_code_epci": coeur})
    assert "partie normande" not in all_text(at, warnings=True)
    at = run_page("pages/4_Territoire.py", state={"ter_level": "epci", "ter_code_epci": "200040277"})  # Dreux
    assert "(partie normande : 9,3\u202f% de la population de l'EPCI)" in all_text(at, warnings=True)


def test_mobilite_lycees_without_offer_count_matches_table(real):
    from analysis import access

    at = run_page("pages/2_Mobilite_rurale.py")
    acc = access.origin_accessibility(real, Filters(origin_kind="school", mode="transit", minutes=45))
    none = acc[acc["offers_reachable"] == 0]
    n_none, n_declared = len(none), int(none["pupils"].notna().sum())
    assert n_none > n_declared > 0  # real data: lycées without a declared headcount among them
    line = next(m.value for m in at.markdown if "aucune offre accessible en 45 min" in m.value and "lycée" in m.value)
    assert line.startswith(f"**{text.count(n_none, 'lycée')}** n'ont aucune offre")
    assert f"{n_declared} avec un effectif de seconde déclaré" in line
    assert f"{text.count(n_none - n_declared, 'lycée')} sans effectif de seconde déclaré" in line
    # the same lycées are the first rows of the ranked table
    from apptest_pages import html_table_frame

    table = html_table_frame(at, "Lycée")
    assert (table["Offres accessibles en 45 min"].head(n_none) == "0").all()
    assert (table["Offres accessibles en 45 min"].iloc[n_none] != "0") if len(table) > n_none else True


def test_home_seconde_headline_excludes_offers_for_3e_only(real):
    from test_words import _home

    n_all, n_seconde, n_third_only = real.execute(
        "SELECT count(*), count(*) FILTER (WHERE for_seconde), "
        "count(*) FILTER (WHERE for_troisieme AND NOT for_seconde) FROM offers"
    ).fetchone()
    assert n_all == n_seconde + n_third_only and n_third_only > 0
    at = _home()
    m = next(x for x in at.metric if x.label == "Offres de stage ouvertes aux secondes")
    assert m.value == f"{text.format_count(n_seconde)} offres"
    assert f"hors {text.count(n_third_only, 'offre réservée', 'offres réservées')} aux élèves de 3e" in all_text(
        at, warnings=True
    )


def test_import_page_empty_log_in_french(real):
    at = run_page("pages/6_Import.py")
    if real.execute("SELECT count(*) FROM imports").fetchone()[0] == 0:
        assert "Aucun import n'a encore été fait dans cette base." in all_text(at, warnings=True)
        assert not at.dataframe  # no empty grid (it says « empty »)


# --------------------------------------------------------------------------------------------
# build log and make run
# --------------------------------------------------------------------------------------------


def test_build_log_names_modes_in_french(synthetic_db, synthetic_roads):  # noqa: F811
    from analysis import traveltime
    from analysis.traveltime import TravelTimeSettings

    messages: list[str] = []
    cfg = TravelTimeSettings(source_dir=None, road_network=synthetic_roads, modes=("walk", "car"))
    traveltime.build_travel_times(synthetic_db, cfg, lambda msg, frac=None: messages.append(msg))
    log = "\n".join(messages)
    assert "Temps de trajet à pied : réseau" in log and "Temps de trajet en voiture :" in log
    assert "Temps de trajet walk" not in log and "Temps de trajet car" not in log
    assert "<=" not in log and " x " not in log
    assert "origines ×" in log  # « 4 origines × 3 lieux d'offres »


def test_make_run_says_what_it_does_before_each_long_step():
    lines = (ROOT / "Makefile").read_text("utf-8").splitlines()
    for needle in ("pip install", "-m analysis.build --db $(DB); }", "-m ui.serve"):
        i = next(k for k, line in enumerate(lines) if needle in line)
        before = "\n".join(lines[max(0, i - 2) : i + 1])
        assert 'echo "' in before, needle  # a French line printed before the step
    text_ = "\n".join(lines)
    assert "Installation des paquets Python" in text_ and "Construction de la base" in text_


def test_mode_refusal_names_labels():
    from analysis import validate_args as va

    with pytest.raises(va.ArgumentError) as exc:
        va.check_mode("avion")
    msg = str(exc.value)
    assert "walk « Marche »" in msg and "car « Voiture »" in msg
    assert va.check_mode("Vélo") == "bike"  # a label is accepted as well as the code

"""French words on screen, in reports and CLIs (issue 11 items 7, 8, 9, 10).

Unit tests of the grammar helpers with the issue's exact examples, then the real database:
reports (XLSX, CSV, PDF sentence), the command lines, and the pages run headless with
Streamlit's AppTest (no browser).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from apptest_pages import TableCells, all_text, html_table_frame, page_links_as_text, run_page

from analysis import access, catalogue, report, text
from analysis.access import Filters
from analysis.outputs import datadict

ROOT = Path(__file__).resolve().parent.parent
TER_LABEL = "Transports en commun (TER seulement) + marche"
ORNE, COTENTIN = "61", "200067205"


# --------------------------------------------------------------------------------------------
# grammar (hand-written expectations)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, level, code, of, in_",
    [
        ("Calvados", "departement", "14", "du Calvados", "dans le Calvados"),
        ("Orne", "departement", "61", "de l'Orne", "dans l'Orne"),
        ("Manche", "departement", "50", "de la Manche", "dans la Manche"),
        ("Eure", "departement", "27", "de l'Eure", "dans l'Eure"),
        ("Seine-Maritime", "departement", "76", "de la Seine-Maritime", "en Seine-Maritime"),
        ("Normandie", "region", "28", "de Normandie", "en Normandie"),
        ("CU Caen la Mer", "epci", "200065597", "de la CU Caen la Mer", "dans la CU Caen la Mer"),
        (
            "CC du Pays Fertois et du Bocage Carrougien",
            "epci",
            "200071652",
            "de la CC du Pays Fertois et du Bocage Carrougien",
            "dans la CC du Pays Fertois et du Bocage Carrougien",
        ),
        ("Vire Normandie", "commune", "14762", "de Vire Normandie", "à Vire Normandie"),
        ("Le Havre", "commune", "76351", "du Havre", "au Havre"),
        ("Les Andelys", "commune", "27016", "des Andelys", "aux Andelys"),
        ("Évreux", "commune", "27229", "d'Évreux", "à Évreux"),
        ("La Ferté-Macé", "commune", "61168", "de La Ferté-Macé", "à La Ferté-Macé"),
    ],
)
def test_territory_prepositions(name, level, code, of, in_):
    assert text.of_territory(name, level, code) == of
    assert text.in_territory(name, level, code) == in_


def test_issue_examples():
    # « des élèves de Orne », « contre 23,8 % à Normandie »
    assert f"des élèves {text.of_territory('Orne', 'departement', '61')}" == "des élèves de l'Orne"
    assert f"contre 23,8 % {text.in_territory('Normandie', 'region')}" == "contre 23,8 % en Normandie"
    # « 2644 communes renseignés », « 1 départs »
    assert text.count(2644, "commune renseignée") == "2\u202f644 communes renseignées"
    assert text.count(1, "départ") == "1 départ"
    assert text.count(2, "départ") == "2 départs"
    assert text.count(0, "projet") == "0 projet"
    assert text.count(71, "EPCI renseigné", "EPCI renseignés") == "71 EPCI renseignés"
    assert text.count(3, "lieu", "lieux") == "3 lieux"
    # « de 100 % à 100 % »
    assert text.value_range("100 %", "100 %") == "100 %"
    assert text.value_range("0 %", "100 %") == "de 0 % à 100 %"
    assert text.lower_first(TER_LABEL) == "transports en commun (TER seulement) + marche"


def test_datadict_in_french():
    assert datadict.type_label("VARCHAR") == "texte"
    assert datadict.type_label("BIGINT") == "nombre entier"
    assert datadict.type_label("DOUBLE") == "nombre décimal"
    assert datadict.type_label("VARCHAR[]") == "liste de texte"
    line = datadict.build_info_text(
        {"version": "0.1.0", "built_at": "2026-12-01T20:01:25", "source_dir": "/d", "settings": "{}"}
    )
    assert line == (
        "Construction de la base : version 0.1.0 · construite le 01/12/2026 à 20:01 "
        "· répertoire des données sources : /d"
    )
    assert "=" not in line and "built_at" not in line


# --------------------------------------------------------------------------------------------
# reports and CLIs on the real database
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(real_con):
    """The real built database (``real_con`` of conftest)."""
    return real_con


@pytest.fixture(scope="module")
def orne(real):
    return report.collect(real, "departement", ORNE, Filters())


def test_xlsx_labels_are_french(orne):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(report.to_xlsx(orne)))
    summary = {r[0]: r[1:] for r in wb["Synthèse"].iter_rows(values_only=True) if r[0]}
    assert summary["Mode de déplacement"][0] == TER_LABEL
    assert summary["Classe de densité (approximation)"][1] in access.DENSITY_LABELS.values()
    assert summary["Classe de densité (approximation)"][1] == "Peu dense"
    assert "Part des élèves sans offre en transports en commun (TER seulement) ou à pied" in summary
    cells = [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    for code in ("peu_dense", "tres_peu_dense", "transit", "bike", "walk"):
        assert code not in cells, code
    assert "car" not in cells and "reference" not in cells and "departement" not in cells
    assert any(c.startswith("temps de trajet : transports en commun (TER seulement)") for c in cells)
    ws = wb["Territoires"]
    header = [c.value for c in ws[1]]
    col = header.index("Élèves de seconde (élèves)")
    assert ws.cell(row=2, column=col + 1).number_format == "#,##0"  # whole pupils shown
    # the lycées sheet says « non déclaré », never an empty or 0 headcount
    lyc = wb["Lycées"]
    lh = [c.value for c in lyc[3]]
    k = lh.index("Élèves de seconde (déclarés) (élèves)")
    vals = [r[k] for r in lyc.iter_rows(min_row=4, values_only=True)]
    undeclared = orne.schools["seconde_pupils"].isna().sum()
    assert undeclared > 0 and vals.count("non déclaré") == undeclared
    assert None not in vals


def test_csv_has_a_french_header_row(orne):
    rows = list(csv.reader(io.StringIO(report.to_csv(orne).decode("utf-8-sig")), delimiter=";"))
    head = rows[0]
    assert head[:4] == ["Rôle de la ligne", "Niveau", "Code", "Nom"]
    assert "Part des élèves sans offre en transports en commun (TER seulement) ou à pied (%)" in head
    assert "Élèves de seconde (élèves)" in head
    first = dict(zip(head, rows[1]))
    assert first["Rôle de la ligne"] == "Territoire" and first["Niveau"] == "Département"
    assert first["Mode"] == TER_LABEL and first["Classe de densité (approximation)"] == "Peu dense"
    # the technical header on request, in the documented order
    keys = list(csv.reader(io.StringIO(report.to_csv(orne, header="cles").decode("utf-8-sig")), delimiter=";"))[0]
    assert keys == [c.key for c in report.table_columns()]
    assert len(keys) == len(head)


def test_pdf_sentence_grammar(orne):
    s = report.pdf.summary_sentence(orne)
    assert "en Normandie" in s and "à Normandie" not in s
    assert "offre(s)" not in s and "située(s)" not in s
    assert "en transports en commun (TER seulement) ou à pied" in s


def test_access_cli_says_ter_only(real):
    out = subprocess.run(
        [sys.executable, "-m", "analysis.access", "--level", "departement", "--code", ORNE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "transports en commun (TER seulement) ou marche" in out.stderr


def test_route_cli_names_the_networks(real):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.traveltime",
            "route",
            "--mode",
            "transit",
            "--from",
            "-0.3600,49.1790",
            "--to",
            "-0.7010,49.2740",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["reseaux"] == ["TER"] and res["mode_libelle"] == TER_LABEL


# --------------------------------------------------------------------------------------------
# pages (AppTest)
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _page_links_as_text(monkeypatch):
    page_links_as_text(monkeypatch)


def test_table_cells_reads_a_hand_written_table():
    """The parser itself, on a hand-written table: headers, cells, entities and nested tags."""
    p = TableCells()
    p.feed(
        "<table class='obs-table'><tr><th>Nom</th><th>Offres</th></tr><tr><td><b>Caen</b></td><td>1&nbsp;2</td></tr></table>"
    )
    assert p.rows == [["Nom", "Offres"], ["Caen", "1\xa02"]]


def _home():
    from streamlit.testing.v1 import AppTest

    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import runpy, streamlit as st\n"
        f"runpy.run_path({str(ROOT / 'pages' / '0_Accueil.py')!r})\n"
    )
    at = AppTest.from_string(script, default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_metric_plain_comparison_and_titles(real):
    at = _home()
    m = [x for x in at.metric if "Sans offre à 45 min" in x.label][0]
    assert "TER" in m.label
    assert not m.delta  # no arrow that reads like a rise
    txt = all_text(at)
    share = access.territory_indicators(real, "region", Filters()).iloc[0]["share_no_offer_transit"]
    pct = f"{share * 100:.1f}".replace(".", ",")
    flat = txt.replace("\u202f", " ").replace("\u00a0", " ")
    assert f"soit {pct} % des élèves de seconde (estimés) de la région" in flat
    # vintages table: dataset titles, not ids
    assert "Horaires des trains et cars TER (GTFS)" in txt and "gtfs_ter" not in txt
    # « Aller plus loin »: the page name is the link, its description beneath
    assert "LIEN Couverture" in txt and "LIEN Couverture —" not in txt


def test_couverture_counts_and_estimates_match_donnees(real):
    n_walk_est = real.execute("SELECT count(*) FROM travel_times WHERE mode = 'walk' AND is_estimate").fetchone()[0]
    at = run_page("pages/1_Couverture.py", query={"niveau_carte": "commune"})
    txt = all_text(at)
    assert "2\u202f644 communes renseignées" in txt and "renseignés" not in txt
    est = f"{text.format_count(n_walk_est)} temps à pied estimés à vol d'oiseau"
    assert est in txt  # the transit view names them walking times…
    assert TER_LABEL.lower()[:10] in txt.lower()
    box = at.selectbox(key="cov_mode")
    assert TER_LABEL in box.options
    don = run_page("pages/7_Donnees.py", query={"vue": "tables"})
    assert f"marche : {text.format_count(n_walk_est)}" in all_text(don)  # … as Données does


def test_donnees_in_french(real):
    schema = all_text(run_page("pages/7_Donnees.py", query={"vue": "schema"}))
    assert "Schéma de la base" in schema and "nombre entier" in schema
    assert "The database is the spine" not in schema and "| column |" not in schema
    src = all_text(run_page("pages/7_Donnees.py"))
    assert "construite le" in src and "built_at" not in src and "source_dir =" not in src
    quarantine = run_page("pages/7_Donnees.py", query={"vue": "quarantaine"})
    assert "Aucun import enregistré pour l'instant." in all_text(quarantine)
    assert not quarantine.dataframe  # no empty grid (it says « empty » in English)


def test_import_uploader_in_french(real):
    at = run_page("pages/6_Import.py")
    css = "\n".join(m.value for m in at.markdown if "<style>" in m.value)
    assert 'content:"Parcourir"' in css and "Mo au plus par fichier" in css
    up = at.get("file_uploader")[0]
    assert up.label == "Fichier CSV ou XLSX" and " Mo" in up.help  # French help


def test_stages_collectifs_plurals(real):
    txt = all_text(run_page("pages/3_Stages_collectifs.py"))
    assert "26 projets de stage collectif sur 26" in txt
    assert "projet(s)" not in txt and "type(s)" not in txt and "lieu(x)" not in txt


def test_territoire_range_and_departures(real):
    at = run_page("pages/4_Territoire.py", state={"ter_level": "epci", "ter_code_epci": "200071652"})
    txt = all_text(at)
    assert "de 100 % à 100 %" not in txt and ": 100 % ;" in txt
    at = run_page("pages/4_Territoire.py", state={"ter_level": "commune", "ter_code_commune": "50129"})
    txt = all_text(at)
    assert "1 départ entre" in txt and "1 départs" not in txt


def test_mobilite_lycees_not_declared(real):
    at = run_page("pages/2_Mobilite_rurale.py")
    txt = all_text(at)
    assert "non déclaré" in txt
    assert "transports en commun (TER seulement)" in txt


def test_rapports_en_bref_grammar(real):
    at = run_page("pages/5_Rapports.py", query={"echelle": "departement", "code": ORNE})
    line = [m.value for m in at.markdown if "En bref" in m.value][0]
    assert "des élèves de l'Orne" in line and "de Orne" not in line
    assert "en Normandie" in line and "à Normandie" not in line
    assert catalogue.mode_label("transit", ("TER",), "phrase") in line


def test_rapports_pupils_whole_and_estimated(real):
    """« 3 025,2 » élèves in Rapports vs whole numbers elsewhere: whole, and said estimated."""
    at = run_page("pages/5_Rapports.py", query={"echelle": "departement", "code": ORNE})
    df = html_table_frame(at, "Indicateur")
    row = df[df["Indicateur"].str.startswith("Élèves de seconde (estimés)")].iloc[0]
    pupils = access.territory_indicators(real, "departement", Filters(), ORNE).iloc[0]["pupils"]
    assert pupils != round(pupils)  # an estimate with decimals (3 025,2)…
    assert row["Orne"] == report.format_value(round(pupils), "int")  # … shown whole
    assert "," not in row["Orne"]


def test_count_axis_has_whole_number_ticks():
    """A count axis of 0 to 2 offers had ticks at 0,5: the step is now at least 1."""
    import plotly.express as px

    from ui import charts

    fig = px.bar(x=[1, 2], y=["a", "b"], orientation="h")
    charts.count_axis(fig, "x", 2)
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == ",d"
    fig = px.bar(x=[10, 480], y=["a", "b"], orientation="h")
    charts.count_axis(fig, "x", 480)
    assert fig.layout.xaxis.dtick == 100

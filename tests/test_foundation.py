"""Data foundation (issue 2) on the real mirror: each loader, location matching, rejects, provenance.

Expected figures are computed here independently from the raw files (json / csv modules),
not taken from the loaders.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import db
from analysis.sources import offers

ETALAB_2025 = "communes/etalab-decoupage-administratif/communes_normandie_2025_v5.3.0.json"
OFFERS = "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"
CLASSES = "schools/monstagedeseconde/noms_de_classes_seconde_normandie.csv"


def q(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


# --- communes, EPCI, départements --------------------------------------------------------------


def test_communes_are_the_2644_of_cog_2025(base_con, source_dir):
    recs = json.loads((source_dir / ETALAB_2025).read_text(encoding="utf-8"))
    expected = {r["code"] for r in recs if r["type"] == "commune-actuelle"}
    got = {r[0] for r in q(base_con, "SELECT code FROM communes")}
    assert len(got) == 2644
    assert got == expected


def test_commune_geometries_valid_and_epci_known(base_con):
    assert q(base_con, "SELECT COUNT(*) FROM communes WHERE geom IS NULL OR NOT ST_IsValid(geom)")[0][0] == 0
    assert q(base_con, "SELECT COUNT(*) FROM communes WHERE epci_siren NOT IN (SELECT siren FROM epci)")[0][0] == 0
    # every centre point lies in (or within 2 km of) its own commune polygon
    far = q(base_con, "SELECT COUNT(*) FROM communes WHERE ST_Distance(geom, ST_Point(lon, lat)) > 0.02")[0][0]
    assert far == 0


def test_regional_population_matches_etalab(base_con, source_dir):
    recs = json.loads((source_dir / ETALAB_2025).read_text(encoding="utf-8"))
    etalab = sum(r["population"] for r in recs if r["type"] == "commune-actuelle")
    ours = q(base_con, "SELECT SUM(population) FROM communes")[0][0]
    assert abs(ours - etalab) / etalab < 0.01
    assert q(base_con, "SELECT SUM(population) FROM epci")[0][0] == ours
    assert q(base_con, "SELECT SUM(population) FROM departements")[0][0] == ours


def test_epci_71_with_outlines_consistent_with_communes(base_con):
    assert q(base_con, "SELECT COUNT(*) FROM epci")[0][0] == 71
    # each EPCI outline is the union of its communes: their total area matches (degrees², Normandie part)
    rows = q(
        base_con,
        """SELECT e.siren, ST_Area(e.geom), SUM(ST_Area(c.geom)) FROM epci e JOIN communes c
           ON c.epci_siren = e.siren GROUP BY ALL""",
    )
    assert len(rows) == 71
    for siren, a_epci, a_sum in rows:
        assert abs(a_epci - a_sum) / a_sum < 0.01, siren
    assert q(base_con, "SELECT kind, COUNT(*) FROM epci GROUP BY 1 ORDER BY 1") == [
        ("CA", 12),
        ("CC", 55),
        ("CU", 3),
        ("METRO", 1),
    ]


# --- lycées -----------------------------------------------------------------------------------


def test_schools_counts_and_headcounts(base_con, source_dir):
    n, with_pupils, total = q(base_con, "SELECT COUNT(*), COUNT(seconde_pupils), SUM(seconde_pupils) FROM schools")[0]
    assert n >= 280
    assert with_pupils >= 185
    # independent de-duplication on (UAI, class) with the csv module
    seen, expected = set(), 0
    with open(source_dir / CLASSES, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            key = (row["CODE_RNE (UAI)"], row["DIVISION (CLASSE)"])
            if key not in seen:
                seen.add(key)
                expected += int(row["EFFECTIF DECLARE"])
    assert total == expected == 36780
    assert (
        q(base_con, "SELECT COUNT(*) FROM schools WHERE seconde_pupils IS NULL AND headcount_source <> 'absent'")[0][0]
        == 0
    )


def test_schools_in_normandie_with_cog2025_communes(base_con):
    assert q(base_con, "SELECT COUNT(*) FROM schools WHERE commune_code NOT IN (SELECT code FROM communes)")[0][0] == 0
    assert q(base_con, "SELECT commune_code FROM schools WHERE commune_code_source = '61310'") == [("61275",)]
    # inside the region: within 1 km of the (generalised) regional outline
    outside = q(
        base_con,
        "SELECT COUNT(*) FROM schools s, (SELECT ST_Union_Agg(geom) g FROM departements) r "
        "WHERE ST_Distance(s.geom, r.g) > 0.01",
    )[0][0]
    assert outside == 0


def test_school_split_adds_up(base_con):
    bad = q(
        base_con,
        "SELECT COUNT(*) FROM schools WHERE seconde_gt IS NOT NULL AND seconde_gt + seconde_pro <> seconde_pupils",
    )[0][0]
    assert bad == 0


# --- offers -----------------------------------------------------------------------------------


def test_offer_accounting_and_location_rate(base_con, source_dir):
    with open(source_dir / OFFERS, encoding="utf-8-sig", newline="") as fh:
        n_in = sum(1 for _ in csv.DictReader(fh, delimiter=";"))
    assert n_in == 1532
    n_ok = q(base_con, "SELECT COUNT(*) FROM offers")[0][0]
    n_rej = q(base_con, "SELECT COUNT(*) FROM offer_rejects")[0][0]
    assert n_ok + n_rej == n_in
    located = q(base_con, "SELECT COUNT(*) FROM offers WHERE commune_code IS NOT NULL AND lon IS NOT NULL")[0][0]
    assert located / n_in >= 0.98
    assert q(base_con, "SELECT COUNT(*) FROM offers WHERE capacity IS NOT NULL")[0][0] == 0  # never invented
    # each offer lies in its commune
    assert (
        q(
            base_con,
            "SELECT COUNT(*) FROM offers o JOIN communes c ON c.code = o.commune_code "
            "WHERE ST_Distance(c.geom, ST_Point(o.lon, o.lat)) > 0.02",
        )[0][0]
        == 0
    )


def test_offer_grades_follow_filiere(base_con, source_dir):
    df = pd.read_csv(source_dir / OFFERS, sep=";", dtype=str)
    expected = df["Filière"].value_counts().to_dict()
    got = dict(q(base_con, "SELECT grades, COUNT(*) FROM offers GROUP BY 1"))
    assert got["seconde"] == expected["seconde_only"]
    assert got["seconde,3e"] == expected["seconde_troisieme_or_quatrieme"]
    assert got["3e"] == expected["troisieme_or_quatrieme"]


def _locate(con, rows):
    df = pd.DataFrame(rows, columns=["town", "postcode"])
    df["source_row"] = range(1, len(df) + 1)
    df["source"] = "test"
    df["raw"] = ""
    located, rejects = offers.locate(con, df)
    return dict(zip(located["source_row"], located["commune_code"])), dict(
        zip(rejects["row_number"], rejects["reason"])
    )


def test_location_matching_hard_cases(base_con):
    got, rejected = _locate(
        base_con,
        [
            ("CAEN", "14000"),  # 1 upper case
            ("Cherbourg-en-Cotentin", "50100"),  # 2 hyphens
            ("cherbourg en cotentin", "50100"),  # 3 no hyphens, lower case
            ("Tourlaville", "50110"),  # 4 commune déléguée -> Cherbourg-en-Cotentin
            ("Saint-Lô", "50000"),  # 5 accents
            ("ST LO", "50000"),  # 6 abbreviation
            ("CARPIQUET Cédex", "14653"),  # 7 CEDEX postcode: name within the département
            ("PONT-AUDEMER", "27467"),  # 8 INSEE code given as postcode
            ("Nonant-le-Pin", "61240"),  # 9 commune merged in 2025 -> 61275
            ("Ville Imaginaire", "14000"),  # 10 unknown town, postcode shared -> rejected
            ("Sainte-Marie-du-Mont", "50480"),  # 11 postcode shared by several communes
            ("Carentan-les-Marais", "50500"),  # 12 postcode shared by several communes
        ],
    )
    assert got[1] == "14118"
    assert got[2] == got[3] == got[4] == "50129"
    assert got[5] == got[6] == "50502"
    assert got[7] == "14137"
    assert got[8] == "27467"
    assert got[9] == "61275"
    assert 10 in rejected and "introuvable" in rejected[10]
    assert got[11] == "50509"
    assert got[12] == "50099"


def test_shared_postcode_really_is_shared(base_con):
    # guard for the hard case above: 50480 belongs to several communes
    assert q(base_con, "SELECT COUNT(DISTINCT code) FROM commune_postcodes WHERE postcode = '50480'")[0][0] > 1


def test_bad_rows_are_rejected_with_reason(tmp_path, base_con):
    p = tmp_path / "offers.csv"
    p.write_text(
        "id;SIRET;secteur;public;public_employer_type;Rue;Ville;Code postal;Filière\n"
        "1;;Commerce;FAUX;;1 rue A;Caen;14000;seconde_only\n"
        "2;;Commerce;FAUX;;1 rue A;Paris;75001;seconde_only\n"
        "1;;Commerce;FAUX;;1 rue A;Caen;14000;seconde_only\n"
        "4;;Commerce;PEUT-ETRE;;1 rue A;Caen;14000;seconde_only\n"
        "5;;Commerce;VRAI;;1 rue A;Caen;14000;cinquieme\n"
        "6;;Commerce;VRAI;;1 rue A;Atlantide;14000;seconde_only\n",
        encoding="utf-8",
    )
    parsed, rej1 = offers.parse_platform(p, source="test")
    located, rej2 = offers.locate(base_con, parsed)
    rejects = pd.concat([rej1, rej2])
    assert len(located) + len(rejects) == 6
    by_row = {int(r.row_number): (r.field, r.reason) for r in rejects.itertuples()}
    assert by_row[2][0] == "Code postal" and "hors Normandie" in by_row[2][1]
    assert by_row[3][0] == "id" and "double" in by_row[3][1]
    assert by_row[4][0] == "public"
    assert by_row[5][0] == "Filière"
    assert by_row[6][0] == "Ville"
    assert list(located["offer_id"]) == ["1"]
    assert all(json.loads(r) for r in rejects["raw"])  # the raw row is kept


# --- collective projects, provenance ---------------------------------------------------------------


def test_collective_projects(base_con):
    n, with_code = q(base_con, "SELECT COUNT(*), COUNT(commune_code) FROM collective_projects")[0]
    assert n >= 25 and with_code == n
    kinds = {r[0] for r in q(base_con, "SELECT DISTINCT kind FROM collective_projects")}
    assert kinds <= {
        "mono-site mono-entreprise",
        "multisectoriel multi-entreprises",
        "mono-secteur multi-entreprises",
        "bi-entreprises",
        "non précisé",
    }
    assert q(base_con, "SELECT kind, pupils FROM collective_projects WHERE town = 'L''Aigle'") == [
        ("mono-secteur multi-entreprises", 20)
    ]
    assert q(base_con, "SELECT COUNT(*) FROM collective_projects WHERE epci_siren IS NULL")[0][0] == 0


def test_provenance_one_row_per_file_with_hash(base_con, source_dir):
    rows = q(base_con, "SELECT dataset, path, sha256, rows, vintage, licence FROM provenance")
    ds = {r[0] for r in rows}
    assert {
        "communes_cog",
        "communes_geo",
        "epci_dgcl",
        "lycees_annuaire",
        "lycees_classes",
        "offers_platform",
        "collective_projects",
    } <= ds
    for dataset, path, sha, n, vintage, licence in rows:
        assert vintage and licence and n > 0
        full = source_dir / path if (source_dir / path).exists() else Path(__file__).parent.parent / path
        assert hashlib.sha256(full.read_bytes()).hexdigest() == sha, dataset


def test_reader_follows_database_file(base_db):
    con = db.connect(base_db, read_only=True)
    assert con.execute("SELECT COUNT(*) FROM communes").fetchone()[0] == 2644
    con.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_connections_print_no_progress_bar_on_standard_output(tmp_path, read_only):
    """DuckDB prints its progress bar on standard output, pipe or not, for a query past
    ``progress_bar_time``: a command line writing its CSV there would mix it in. Connections of
    analysis.db print none (the plain DuckDB connection of the first case shows the bar)."""
    import subprocess
    import sys

    path = tmp_path / "quiet.duckdb"
    duckdb.connect(str(path)).close()
    query = "con.execute('SET progress_bar_time=0'); con.sql('SELECT count(*) FROM range(300000000) t WHERE t.range % 7 = 1').fetchall(); print('fin')"
    plain = f"import duckdb; con = duckdb.connect(); {query}"
    ours = f"from analysis import db; con = db.connect({str(path)!r}, read_only={read_only}, spatial=False); {query}"
    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, cwd=root).stdout
    assert "%" in shown and shown.endswith("fin\n")
    out = subprocess.run([sys.executable, "-c", ours], capture_output=True, text=True, cwd=root)
    assert out.stdout == "fin\n", out.stderr

"""Tests of the importers (issue 7): validation, quarantine accounting, admin secret, BAN geocoder.

Files written by these tests are SYNTHETIC fixtures (employers, SIRETs, ids are made up and
labelled "synthetic"); towns, postcodes, commune centres and EPCI SIRENs are the real ones of
the database built from the mirror.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import threading
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import db, imports
from analysis.sources import geocode, offers, validation
from analysis.sources.validation import FieldError

MIRROR_OFFERS = "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"
SECRET = "synthetic-test-secret"


# --------------------------------------------------------------------------- helpers / fixtures


@pytest.fixture()
def db_copy(base_db, tmp_path) -> Path:
    """A private copy of the base database (communes, EPCI, lycées, offers from the mirror)."""
    p = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, p)
    return p


@pytest.fixture()
def admin(monkeypatch):
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    return SECRET


@pytest.fixture(scope="module")
def ro_con(base_db):
    con = db.connect(base_db, read_only=True)
    yield con
    con.close()


def fast_gate() -> imports.AdminGate:
    return imports.AdminGate(sleep=lambda s: None)


def csv_bytes(header: list[str], rows: list[list[str]], sep: str = ";", encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding, errors="replace")


def table(path: Path, sql: str) -> pd.DataFrame:
    """Run a query on a database file (plain DuckDB: faster than loading spatial; no GEOMETRY columns)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def file_state(path: Path) -> tuple[int, str]:
    return os.stat(path).st_ino, hashlib.sha256(path.read_bytes()).hexdigest()


TEMPLATE_HEADER = [c.header for c in imports.OFFER_TEMPLATE]


def template_row(**kw) -> list[str]:
    """A synthetic template row: a valid offer in Caen unless overridden."""
    base = {
        "identifiant": "",
        "employeur": "Employeur synthétique",
        "siret": "73282932000074",
        "secteur": "Commerce et distribution",
        "public": "non",
        "adresse": "",
        "code_postal": "14000",
        "commune": "Caen",
        "places": "2",
        "date_debut": "2026-06-15",
        "date_fin": "2026-06-26",
        "semaines": "",
        "niveaux": "seconde",
        "accessible_handicap": "oui",
        "longitude": "",
        "latitude": "",
    }
    base.update(kw)
    return [base[h] for h in TEMPLATE_HEADER]


# --------------------------------------------------------------------------- validation


def test_siret_check_digits_hand_computed():
    # 732 829 320 00074: Luhn sum 50 (hand-computed) -> valid; last digit changed -> sum 51.
    assert validation.siret_ok("73282932000074")
    assert not validation.siret_ok("73282932000075")
    assert validation.siren_ok("732829320") and not validation.siren_ok("732829321")
    # La Poste establishments: sum of digits multiple of 5, the Luhn key does not apply.
    assert validation.siret_ok("35600000000001")  # 3+5+6+1 = 15, Luhn sum 13 (invalid Luhn)
    assert not validation.luhn_ok("35600000000001")
    assert not validation.siret_ok("35600000000014")  # sum 19, although its Luhn sum is 20
    assert validation.luhn_ok("35600000000014")
    # its head office keeps the Luhn key (digit sum 26)
    assert validation.siret_ok("35600000000048")
    with pytest.raises(FieldError, match="14 chiffres"):
        validation.clean_siret("0142090W000000")
    assert validation.clean_siret(" 732 829 320 00074 ") == "73282932000074"
    assert validation.clean_siret("") is None


def test_field_checks():
    assert validation.clean_postcode(" 14000") == "14000"
    with pytest.raises(FieldError, match="hors Normandie"):
        validation.clean_postcode("75001")
    with pytest.raises(FieldError, match="5 chiffres"):
        validation.clean_postcode("1400")
    assert validation.clean_capacity("3") == 3 and validation.clean_capacity("") is None
    for bad in ("0", "-1", "2.5", "deux", str(validation.MAX_CAPACITY + 1)):
        with pytest.raises(FieldError):
            validation.clean_capacity(bad)
    assert str(validation.clean_date("15/06/2026")) == "2026-06-15"
    for bad in ("31/02/2026", "2026-13-01", "1999-06-01", "demain"):
        with pytest.raises(FieldError):
            validation.clean_date(bad)
    with pytest.raises(FieldError, match="antérieure"):
        validation.check_period(validation.clean_date("2026-06-26"), validation.clean_date("2026-06-15"))
    assert validation.clean_weeks("S25-S26") == "25,26"
    assert validation.clean_weeks("24, 26") == "24,26"
    with pytest.raises(FieldError):
        validation.clean_weeks("54")
    assert validation.clean_grades("2nde et 3e") == "seconde,3e"
    assert validation.clean_grades("seconde_only") == "seconde"
    with pytest.raises(FieldError):
        validation.clean_grades("terminale")


def test_reader_encodings_and_separators():
    header = ["identifiant", "commune", "secteur"]
    rows = [["S1", "Évreux", "Hôtellerie, restauration"], ["S2", "Saint-Lô", "Métiers d'art « œuvres »"]]
    seen = set()
    for enc in ("utf-8", "utf-8-sig", "cp1252"):
        for sep in (";", ",", "\t"):
            raw = imports.read_table(csv_bytes(header, rows, sep, enc), "synthetic.csv")
            assert raw.columns == header and raw.bad == []
            seen.add(json.dumps([r for _, r in raw.rows], ensure_ascii=False))
            assert raw.sep == sep
    assert seen == {json.dumps(rows, ensure_ascii=False)}
    # a BOM written before Windows-1252 text (seen in hand-edited exports)
    mixed = imports.read_table(b"\xef\xbb\xbfcommune;secteur\n\xc9vreux;H\xf4tellerie\n", "synthetic.csv")
    assert mixed.columns == ["commune", "secteur"] and mixed.rows == [(1, ["Évreux", "Hôtellerie"])]
    # a title line above the table is skipped (and said), rows are numbered from the header
    titled = imports.read_table(
        b"Offres du reseau X;;\n\ncommune;secteur;niveaux\nCaen;Industrie;seconde\n", "synthetic.csv"
    )
    assert titled.columns == ["commune", "secteur", "niveaux"] and titled.rows == [
        (1, ["Caen", "Industrie", "seconde"])
    ]
    assert "1 ligne ignorée avant l'en-tête" in titled.note
    empty = imports.read_table(b"", "vide.csv")
    assert empty.rows_in == 0 and empty.note == "fichier vide"
    # malformed lines are kept as quarantine candidates, with their record number
    raw = imports.read_table(b"a;b\n1;2\n3\n4;5;6\n7;8;\n", "synthetic.csv")
    assert [n for n, _ in raw.rows] == [1, 4] and [b[0] for b in raw.bad] == [2, 3]


# --------------------------------------------------------------------------- offers


def test_mirror_import_gives_the_build_offers_table(db_copy, source_dir, admin):
    before = table(db_copy, "SELECT * FROM offers ORDER BY offer_id")
    locs_before = table(db_copy, "SELECT * EXCLUDE (geom) FROM offer_locations ORDER BY loc_id")
    path = source_dir / MIRROR_OFFERS
    res = imports.import_file(imports.ImportRequest(path, "offers", db_path=db_copy), secret=admin, gate=fast_gate())
    assert (res.format, res.source, res.mode) == ("platform", "offers_platform", "replace-source")
    raw = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    assert res.rows_in == len(raw) == 1532 and res.accepted == 1532 and res.quarantined == 0
    after = table(db_copy, "SELECT * FROM offers ORDER BY offer_id")
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(
        locs_before, table(db_copy, "SELECT * EXCLUDE (geom) FROM offer_locations ORDER BY loc_id")
    )

    # warnings = SIRETs that are filled but not 14 digits with a valid key (independent count)
    def ok(s: str) -> bool:
        if len(s) != 14 or not s.isdigit():
            return False
        if s.startswith("356000000") and s != "35600000000048":
            return sum(map(int, s)) % 5 == 0
        digits = [int(c) for c in s]
        total = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
        return total % 10 == 0

    sirets = raw["SIRET"].str.replace(r"\s", "", regex=True)
    expected_warnings = int(((sirets != "") & ~sirets.map(ok)).sum())
    assert len(res.warnings) == expected_warnings > 0
    prov = table(db_copy, "SELECT * FROM provenance WHERE dataset = 'offers_platform'")
    assert len(prov) == 1 and prov["rows"].iloc[0] == 1532 and prov["path"].iloc[0] == path.name
    assert prov["sha256"].iloc[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    log = table(db_copy, "SELECT * FROM imports")
    assert log[["rows_in", "accepted", "quarantined"]].values.tolist() == [[1532, 1532, 0]]
    assert log["sha256"].iloc[0] == hashlib.sha256(path.read_bytes()).hexdigest()

    # the same file appended: every row is a duplicate id, all quarantined, offers unchanged
    res2 = imports.import_file(
        imports.ImportRequest(path, "offers", db_path=db_copy, mode="append"), secret=admin, gate=fast_gate()
    )
    assert (res2.accepted, res2.quarantined) == (0, 1532)
    assert set(res2.quarantine["field"]) == {"id"}
    assert res2.quarantine["reason"].str.contains("déjà présent").all()
    pd.testing.assert_frame_equal(before, table(db_copy, "SELECT * FROM offers ORDER BY offer_id"))
    assert table(db_copy, "SELECT count(*) AS n FROM import_quarantine")["n"].iloc[0] == 1532


def test_template_rows_are_checked_one_by_one(db_copy, admin, tmp_path):
    caen = table(db_copy, "SELECT lon, lat FROM communes WHERE code = '14118'").iloc[0]
    rouen = table(db_copy, "SELECT lon, lat FROM communes WHERE code = '76540'").iloc[0]
    rows = [
        template_row(identifiant="SYN-1"),  # 1 ok
        template_row(identifiant="SYN-2", siret="73282932000075"),  # 2 SIRET key
        template_row(identifiant="SYN-3", code_postal="75001", commune="Paris"),  # 3 outside
        template_row(identifiant="SYN-4", commune="Rouen"),  # 4 town vs postcode
        template_row(identifiant="SYN-5", places="0"),  # 5 capacity
        template_row(identifiant="SYN-6", date_debut="2026-06-26", date_fin="2026-06-15"),  # 6 dates
        template_row(identifiant="SYN-1"),  # 7 duplicate id
        template_row(identifiant="SYN-8", longitude=str(rouen.lon), latitude=str(rouen.lat)),  # 8 far
        template_row(
            identifiant="SYN-9", longitude=str(caen.lon), latitude=str(caen.lat), niveaux="seconde,3e", places=""
        ),  # 9 ok, coordinates
        template_row(identifiant="SYN-10", employeur=""),  # 10 required
        template_row(identifiant="SYN-11", code_postal="76000", commune="rouen", semaines="S25-S26"),  # 11 ok
    ]
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(csv_bytes(TEMPLATE_HEADER, rows, ",", "cp1252"))
    res = imports.import_file(
        imports.ImportRequest(f, "offers", db_path=db_copy, mode="append"), secret=admin, gate=fast_gate()
    )
    assert res.format == "template" and res.source == "import:offres_synthetiques"
    assert (res.rows_in, res.accepted, res.quarantined) == (11, 3, 8)
    q = res.quarantine.set_index("row_number")
    assert q.loc[2, "field"] == "siret" and "Luhn" in q.loc[2, "reason"]
    assert q.loc[3, "field"] == "code_postal" and "hors Normandie" in q.loc[3, "reason"]
    assert q.loc[4, "field"] == "commune" and "code postal" in q.loc[4, "reason"]
    assert q.loc[5, "field"] == "places"
    assert q.loc[6, "field"] == "date_fin"
    assert q.loc[7, "field"] == "identifiant" and "double" in q.loc[7, "reason"]
    assert q.loc[8, "field"] == "longitude"
    assert q.loc[10, "field"] == "employeur"
    new = table(db_copy, "SELECT * FROM offers WHERE source = 'import:offres_synthetiques' ORDER BY source_row")
    assert new["offer_id"].tolist() == ["SYN-1", "SYN-9", "SYN-11"]
    assert new["commune_code"].tolist() == ["14118", "14118", "76540"]
    assert new["location_precision"].tolist() == ["commune", "coordinates", "commune"]
    assert new["capacity"].iloc[0] == 2 and pd.isna(new["capacity"].iloc[1])
    assert new["for_troisieme"].tolist() == [False, True, False]
    assert abs(new["lon"].iloc[1] - caen.lon) < 1e-9
    det = table(db_copy, "SELECT * FROM offer_details ORDER BY offer_id")
    assert det["offer_id"].tolist() == ["SYN-1", "SYN-11", "SYN-9"] and det["weeks"].iloc[1] == "25,26"
    n_total = table(db_copy, "SELECT count(*) AS n FROM offers")["n"].iloc[0]
    assert n_total == 1532 + 3
    # offer_locations follows: every offer has a location, counts add up
    assert table(db_copy, "SELECT sum(n_offers) AS n FROM offer_locations")["n"].iloc[0] == n_total

    # the same rows as XLSX give the same verdicts (dry run: nothing written)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "donnees"
    ws.append(TEMPLATE_HEADER)
    for r in rows:
        ws.append(r)
    x = tmp_path / "offres_synthetiques.xlsx"
    wb.save(x)
    state = file_state(db_copy)
    res_x = imports.import_file(
        imports.ImportRequest(x, "offers", db_path=db_copy, mode="append", source="import:x", dry_run=True)
    )
    assert file_state(db_copy) == state
    # all ids now clash with the ones just imported, except the rejected ones
    assert res_x.rows_in == 11 and res_x.accepted == 0
    assert res_x.quarantine.set_index("row_number").loc[1, "reason"].startswith("identifiant d'offre déjà présent")

    # replace-source: re-importing a shorter file replaces only this source
    f.write_bytes(csv_bytes(TEMPLATE_HEADER, rows[:1], ";", "utf-8-sig"))
    imports.import_file(imports.ImportRequest(f, "offers", db_path=db_copy), secret=admin, gate=fast_gate())
    assert table(db_copy, "SELECT count(*) AS n FROM offers")["n"].iloc[0] == 1532 + 1
    assert table(db_copy, "SELECT count(*) AS n FROM offer_details")["n"].iloc[0] == 1


#: Synthetic platform-export records (labelled test data): each row fails on one field, hand-written.
PLATFORM_HEADER = ["id", "SIRET", "secteur", "public", "Rue", "Ville", "Code postal", "Filière", "public_employer_type"]


def _platform(**kw) -> list[str]:
    base = {
        "id": "P1",
        "SIRET": "732 829 320 00074",
        "secteur": "Commerce",
        "public": "FAUX",
        "Rue": "1 rue X",
        "Ville": "Caen",
        "Code postal": "14000",
        "Filière": "seconde_only",
        "public_employer_type": "",
    }
    return [kw.get(h, base[h]) for h in PLATFORM_HEADER]


@pytest.mark.parametrize("strict", [False, True])
def test_check_platform_names_the_first_failing_field(strict):
    """Each platform row is quarantined with the field and reason of its first failure, in the
    documented order (text, id, postcode, town, filière, public, duplicate id, SIRET); an invalid
    SIRET is a warning unless ``strict_siret``. Expected values written by hand."""
    from analysis.imports.checks import check_platform
    from analysis.imports.reading import RawTable

    recs = [
        _platform(id="A1", public="VRAI", public_employer_type=" État "),  # 1 accepted
        _platform(id="A2", Ville="<b>Caen</b>", **{"Code postal": "x"}),  # 2 markup first
        _platform(id=" "),  # 3
        _platform(id="A4", **{"Code postal": "1400"}),  # 4
        _platform(id="A5", **{"Code postal": "75001"}),  # 5 outside Normandie
        _platform(id="A6", Ville=" "),  # 6
        _platform(id="A7", **{"Filière": "bac_pro"}),  # 7
        _platform(id="A8", public="peut-être"),  # 8
        _platform(id="A1"),  # 9 duplicate of row 1
        _platform(id="A10", SIRET="12345678901234"),  # 10 bad check digit
        _platform(id="A11", SIRET="", public="", secteur=" ", Rue=""),  # 11 accepted, empty optional fields
    ]
    raw = RawTable(PLATFORM_HEADER, list(enumerate(recs, start=1)), [], "utf-8", ";")
    ch = check_platform(raw, "synthetic", strict_siret=strict)
    got = {q[0]: (q[1], q[2]) for q in ch.quarantine}
    assert got[2] == (
        "Ville",
        "caractère « < » interdit (balises HTML refusées) : retirez les signes < et > de ce champ",
    )
    assert got[3] == ("id", "identifiant d'offre manquant")
    assert got[4] == ("Code postal", "code postal invalide « 1400 »")
    assert got[5][0] == "Code postal" and got[5][1].startswith("code postal hors Normandie « 75001 »")
    assert got[6] == ("Ville", "ville manquante")
    assert got[7] == ("Filière", "filière inconnue « bac_pro »")
    assert got[8] == ("public", "booléen attendu (VRAI/FAUX), trouvé « peut-être »")
    assert got[9] == ("id", "identifiant d'offre en double « A1 »")
    bad_siret = "SIRET invalide « 12345678901234 » : clé de contrôle (Luhn) incorrecte"
    if strict:
        assert got[10] == ("SIRET", bad_siret) and ch.warnings == []
        assert sorted(got) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    else:
        assert ch.warnings == [(10, "SIRET", bad_siret + " (offre gardée, SIRET conservé tel quel)")]
        assert sorted(got) == [2, 3, 4, 5, 6, 7, 8, 9]
    acc = ch.accepted.set_index("offer_id")
    assert list(ch.accepted.columns) == offers.OFFER_COLUMNS + ["raw"]
    assert acc.loc["A1", "siret"] == "73282932000074" and acc.loc["A1", "grades"] == "seconde"
    assert bool(acc.loc["A1", "is_public"]) is True and acc.loc["A1", "public_employer_type"] == "État"
    assert acc.loc["A1", "source"] == "synthetic" and acc.loc["A1", "source_row"] == 1
    assert pd.isna(acc.loc["A11", "siret"]) and pd.isna(acc.loc["A11", "is_public"])
    assert pd.isna(acc.loc["A11", "sector"]) and pd.isna(acc.loc["A11", "street"])
    assert json.loads(acc.loc["A11", "raw"])["id"] == "A11"
    if not strict:
        assert acc.loc["A10", "siret"] == "12345678901234"


def test_missing_column_quarantines_every_row(ro_con):
    header = [h for h in TEMPLATE_HEADER if h != "code_postal"]
    rows = [[v for h, v in zip(TEMPLATE_HEADER, template_row()) if h != "code_postal"]] * 3
    raw, ch, *_ = imports.prepare(ro_con, "offers", csv_bytes(header, rows), "synthetic.csv", fmt="template")
    assert ch.accepted.empty and [q[0] for q in ch.quarantine] == [1, 2, 3]
    assert {q[1] for q in ch.quarantine} == {"code_postal"}


def test_collective_and_mobility_imports(db_copy, admin, tmp_path):
    epci = table(db_copy, "SELECT siren, name FROM epci ORDER BY siren LIMIT 1").iloc[0]
    n_cp = table(db_copy, "SELECT count(*) AS n FROM collective_projects")["n"].iloc[0]
    cp_header = [c.header for c in imports.COLLECTIVE_TEMPLATE]
    good = dict(
        zip(
            cp_header,
            [
                "SYN-CP1",
                "Projet synthétique",
                "bi-entreprises",
                "",
                "Caen",
                "14118",
                "",
                "industrie",
                "12",
                "juin 2026",
                "projet",
                "synthetic test",
                "",
            ],
        )
    )
    rows = [
        list(good.values()),
        list({**good, "project_id": "SYN-CP2", "kind": "inconnu"}.values()),
        list({**good, "project_id": "SYN-CP3", "commune_code": "99999"}.values()),
        list({**good, "project_id": "SC01"}.values()),
    ]  # already in the bundled list
    f = tmp_path / "projets_synthetiques.csv"
    f.write_bytes(csv_bytes(cp_header, rows))
    res = imports.import_file(imports.ImportRequest(f, "collective", db_path=db_copy), secret=admin, gate=fast_gate())
    assert (res.rows_in, res.accepted, res.quarantined) == (4, 1, 3)
    assert res.quarantine["field"].tolist() == ["kind", "commune_code", "project_id"]
    cp = table(db_copy, "SELECT dep, pupils FROM collective_projects WHERE project_id = 'SYN-CP1'")
    assert len(cp) == 1 and cp["dep"].iloc[0] == "14" and cp["pupils"].iloc[0] == 12
    assert table(db_copy, "SELECT count(*) AS n FROM collective_projects")["n"].iloc[0] == n_cp + 1

    ms_header = [c.header for c in imports.MOBILITY_TEMPLATE]
    rows = [
        ["", epci.siren, "Prêt de vélos", "Vélos synthétiques", "", "", "", "synthetic test"],
        ["", "732829320", "pret_velo", "EPCI absent", "", "", "", "synthetic test"],
        ["", "123456789", "pret_velo", "SIREN faux", "", "", "", "synthetic test"],
        ["", epci.siren, "téléphérique", "Type inconnu", "", "", "", "synthetic test"],
    ]
    f = tmp_path / "mobilite_synthetique.csv"
    f.write_bytes(csv_bytes(ms_header, rows, ","))
    res = imports.import_file(imports.ImportRequest(f, "mobility", db_path=db_copy), secret=admin, gate=fast_gate())
    assert (res.accepted, res.quarantined) == (1, 3)
    assert res.quarantine["field"].tolist() == ["siren_epci", "siren_epci", "type_service"]
    ms = table(db_copy, "SELECT * FROM mobility_services")
    assert ms[["epci_siren", "epci_name", "service_type"]].values.tolist() == [[epci.siren, epci["name"], "pret_velo"]]
    con = db.connect(db_copy, read_only=True)
    try:
        shown = imports.mobility_services(con, epci.siren)
        assert shown["type_label"].tolist() == ["Prêt de vélos"] and shown["name"].tolist() == ["Vélos synthétiques"]
        assert imports.mobility_services(con, "000000000").empty
    finally:
        con.close()


def test_templates_in_repo_are_the_documented_columns():
    root = Path(__file__).resolve().parent.parent / "data" / "templates"
    for _kind, (stem, spec, _title) in imports.TEMPLATE_FILES.items():
        raw = imports.read_table((root / f"{stem}.csv").read_bytes(), f"{stem}.csv")
        assert raw.columns == [c.header for c in spec] and raw.rows_in == 0
        xl = imports.read_table((root / f"{stem}.xlsx").read_bytes(), f"{stem}.xlsx")
        assert xl.columns == raw.columns and xl.rows_in == 0
        pos, missing = imports.map_columns(raw, spec)
        assert missing == [] and len(pos) == len(spec)


def test_reapply_imports_after_rebuild(db_copy, base_db, admin, tmp_path):
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(csv_bytes(TEMPLATE_HEADER, [template_row(identifiant="SYN-R1"), template_row(identifiant="SYN-R2")]))
    imports.import_file(
        imports.ImportRequest(f, "offers", db_path=db_copy, mode="append"), secret=admin, gate=fast_gate()
    )
    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copyfile(base_db, rebuilt)  # stands for a fresh build from the sources
    con = db.connect(rebuilt)
    try:
        from analysis.build import BuildSettings

        assert imports.build_stage(con, BuildSettings(source_dir=tmp_path, db_path=db_copy)) == 1
    finally:
        con.close()
    assert table(rebuilt, "SELECT accepted FROM imports")["accepted"].tolist() == [2]
    q = "SELECT * EXCLUDE (loc_id) FROM offers ORDER BY offer_id"
    pd.testing.assert_frame_equal(table(db_copy, q), table(rebuilt, q))


def test_recompute_runs_on_the_new_copy(db_copy, admin, tmp_path, monkeypatch):
    """After an offer import, travel times then indicators are recomputed on the new file."""
    from analysis import access, traveltime

    con = db.connect(db_copy)
    con.execute("CREATE TABLE travel_times AS SELECT 1 AS x; CREATE TABLE commune_pupils AS SELECT 1 AS x")
    con.close()
    calls = []
    monkeypatch.setattr(
        traveltime,
        "build_travel_times",
        lambda c, s, p: calls.append(("tt", c.execute("SELECT count(*) FROM offers").fetchone()[0])),
    )
    monkeypatch.setattr(
        access,
        "build_tables",
        lambda c, s, p: calls.append(("acc", c.execute("SELECT count(*) FROM offers").fetchone()[0])),
    )
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(csv_bytes(TEMPLATE_HEADER, [template_row(identifiant="SYN-T1")]))
    messages = []
    res = imports.import_file(
        imports.ImportRequest(f, "offers", db_path=db_copy, mode="append"),
        secret=admin,
        gate=fast_gate(),
        progress=lambda m, x=None: messages.append(m),
    )
    assert res.recomputed and calls == [("tt", 1533), ("acc", 1533)]
    assert any("temps de trajet" in m for m in messages)


# --------------------------------------------------------------------------- admin secret


def test_no_write_without_the_right_secret(db_copy, tmp_path, monkeypatch, source_dir):
    path = source_dir / MIRROR_OFFERS
    state = file_state(db_copy)
    opened = []
    real_copy = imports.transaction.database_copy
    monkeypatch.setattr(imports.transaction, "database_copy", lambda t: opened.append(t) or real_copy(t))
    monkeypatch.delenv(imports.ENV_SECRET, raising=False)
    for kind in imports.IMPORT_KINDS:
        with pytest.raises(imports.WriteDisabled, match=imports.ENV_SECRET):
            imports.import_file(imports.ImportRequest(path, kind, db_path=db_copy), secret="anything", gate=fast_gate())
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    gate = fast_gate()
    for wrong in (None, "", "wrong", SECRET + " ", SECRET.upper()):
        for kind in imports.IMPORT_KINDS:
            with pytest.raises(imports.AuthError):
                imports.import_file(imports.ImportRequest(path, kind, db_path=db_copy), secret=wrong, gate=gate)
    # Streamlit secrets count too, and an empty configured value disables writing
    with pytest.raises(imports.AuthError):
        imports.import_file(
            imports.ImportRequest(path, db_path=db_copy),
            secret="x",
            secrets={imports.ENV_SECRET: "other-secret-value"},
            gate=gate,
        )
    assert opened == [] and file_state(db_copy) == state
    # the CLI: no env secret -> refused (exit 3), database untouched; dry run needs none
    monkeypatch.delenv(imports.ENV_SECRET)
    assert imports.main(["offers", str(path), "--db", str(db_copy), "--quiet"]) == 3
    assert imports.main(["offers", str(path), "--db", str(db_copy), "--dry-run", "--quiet"]) == 0
    assert opened == [] and file_state(db_copy) == state
    # the only writable copy of the database is opened in import_file, after the gate
    src = "".join(p.read_text() for p in sorted(Path(imports.__file__).parent.glob("*.py")))  # the whole package
    assert src.count("database_copy(") == 1  # its single use (defined in analysis.db)
    # the step that opens it (the only one) is called by import_file after the gate's check
    assert "database_copy(" in src.split("def _write_in_copy(")[1].split("\ndef ")[0]
    body = src.split("def import_file(")[1]
    assert body.index(".check(secret") < body.index("_write_in_copy(")


def test_failed_attempts_are_slowed_exponentially(monkeypatch):
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    waits = []
    gate = imports.AdminGate(base_delay=0.5, max_delay=3.0, sleep=waits.append)
    for _ in range(5):
        with pytest.raises(imports.AuthError):
            gate.check("nope", key="ip:10.0.0.1")
    assert waits == [0.5, 1.0, 2.0, 3.0]
    # another client (the administrator) is not slowed by someone else's failures (issue 12 item 9)
    assert gate.delay_for("ip:10.0.0.2") == 0.0
    gate.check(SECRET, key="ip:10.0.0.1")  # success after a wait, then the counters reset
    assert waits[-1] == 3.0 and gate.delay_for("ip:10.0.0.1") == 0.0


# --------------------------------------------------------------------------- BAN geocoder


class FakeBAN(http.server.BaseHTTPRequestHandler):
    """Answers like ``/search/csv/``: the input CSV plus latitude, longitude and result_* columns.

    The answers are SYNTHETIC: ``FakeBAN.answers`` maps a street to (lon, lat, score, citycode).
    """

    answers: dict = {}
    requests: list = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        msg = BytesParser(policy=email_policy).parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        FakeBAN.requests.append((self.path, sorted(parts)))
        data = parts["data"].get_payload(decode=True).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(data)))
        out = io.StringIO()
        cols = list(rows[0].keys()) + [
            "latitude",
            "longitude",
            "result_label",
            "result_score",
            "result_type",
            "result_citycode",
            "result_status",
        ]
        w = csv.DictWriter(out, cols)
        w.writeheader()
        for r in rows:
            a = FakeBAN.answers.get(r["adresse"])
            extra = (
                {
                    "latitude": a[1],
                    "longitude": a[0],
                    "result_score": a[2],
                    "result_citycode": a[3],
                    "result_status": "ok",
                    "result_type": "housenumber",
                    "result_label": r["adresse"],
                }
                if a
                else {"result_status": "not-found"}
            )
            w.writerow({**r, **extra})
        payload = out.getvalue().encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *a):
        pass


@pytest.fixture()
def fake_ban():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeBAN)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    FakeBAN.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_geocoder_with_local_server(db_copy, fake_ban):
    caen = table(db_copy, "SELECT lon, lat FROM communes WHERE code = '14118'").iloc[0]
    FakeBAN.answers = {
        "1 rue synthétique": (caen.lon + 0.001, caen.lat + 0.001, "0.91", "14118"),
        "2 rue douteuse": (caen.lon + 0.002, caen.lat, "0.31", "14118"),  # score too low
        "3 rue ailleurs": (1.09, 49.44, "0.95", "76540"),  # another commune
    }
    located = pd.DataFrame(
        {
            "source_row": [1, 2, 3, 4, 5],
            "street": ["1 rue synthétique", "2 rue douteuse", "3 rue ailleurs", "4 rue inconnue", None],
            "postcode": ["14000"] * 5,
            "town": ["Caen"] * 5,
            "commune_code": ["14118"] * 5,
            "lon": [caen.lon] * 5,
            "lat": [caen.lat] * 5,
            "location_precision": ["commune"] * 5,
        }
    )
    con = db.connect(db_copy)
    try:
        out = geocode.geocode_offers(con, located, base_url=fake_ban)
        assert out["location_precision"].tolist() == ["address", "commune", "commune", "commune", "commune"]
        assert out["lon"].iloc[0] == pytest.approx(caen.lon + 0.001) and out["lon"].iloc[1] == caen.lon
        assert FakeBAN.requests[0][0] == "/search/csv/"
        assert FakeBAN.requests[0][1] == ["columns", "data", "postcode"]
        cache = con.execute("SELECT query, score, citycode FROM geocode_cache ORDER BY query").df()
        assert len(cache) == 4 and cache["score"].isna().sum() == 1  # the not-found one is cached too
        # second run: everything comes from the cache, no request
        again = geocode.geocode_offers(con, located, base_url=fake_ban)
        assert len(FakeBAN.requests) == 1
        pd.testing.assert_frame_equal(out, again)
        # service down: offers stay at the commune centre, no error
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        fresh = located.assign(street=["9 rue nouvelle"] * 5)
        msgs = []
        down = geocode.geocode_offers(con, fresh, base_url=dead, progress=lambda m, f=None: msgs.append(m))
        assert (down["location_precision"] == "commune").all() and any("indisponible" in m for m in msgs)
    finally:
        con.close()


def test_import_with_geocoding(db_copy, admin, fake_ban, tmp_path):
    caen = table(db_copy, "SELECT lon, lat FROM communes WHERE code = '14118'").iloc[0]
    FakeBAN.answers = {"1 rue synthétique": (caen.lon + 0.003, caen.lat, "0.88", "14118")}
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(
        csv_bytes(
            TEMPLATE_HEADER,
            [
                template_row(identifiant="SYN-G1", adresse="1 rue synthétique"),
                template_row(identifiant="SYN-G2", adresse="5 rue absente"),
            ],
        )
    )
    imports.import_file(
        imports.ImportRequest(f, "offers", db_path=db_copy, mode="append", geocode=True, geocoder_url=fake_ban),
        secret=admin,
        gate=fast_gate(),
    )
    new = table(db_copy, "SELECT offer_id, lon, location_precision FROM offers WHERE offer_id LIKE 'SYN-G%' ORDER BY 1")
    assert new["location_precision"].tolist() == ["address", "commune"]
    assert new["lon"].iloc[0] == pytest.approx(caen.lon + 0.003)
    locs = table(db_copy, "SELECT location_precision, count(*) AS n FROM offer_locations GROUP BY 1 ORDER BY 1")
    assert locs.set_index("location_precision").loc["address", "n"] == 1


# --------------------------------------------------------------------------- property-based


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_cell = st.one_of(
    _text,
    st.sampled_from(
        [
            "14000",
            "76000",
            "75001",
            "1400",
            "Caen",
            "ROUEN",
            "Évreux",
            "seconde",
            "3e",
            "seconde_only",
            "VRAI",
            "FAUX",
            "oui",
            "73282932000074",
            "73282932000075",
            "0142090W000000",
            "2",
            "0",
            "-3",
            "2026-06-15",
            "31/02/2026",
            "S25-S26",
            "bi-entreprises",
            "14118",
            "pret_velo",
            "-0.36",
            "49.18",
            "",
            " ",
            '"',
            ";",
            ",",
            "\n",
            "x" * 3000,
        ]
    ),
)


@st.composite
def malformed_file(draw):
    kind = draw(st.sampled_from(["offers", "collective", "mobility"]))
    spec = {
        "offers": [c.header for c in imports.OFFER_TEMPLATE],
        "collective": [c.header for c in imports.COLLECTIVE_TEMPLATE],
        "mobility": [c.header for c in imports.MOBILITY_TEMPLATE],
    }[kind]
    if kind == "offers" and draw(st.booleans()):
        spec = list(offers.PLATFORM_COLUMNS)
    header = [h for h in spec if draw(st.integers(0, 9)) > 0]  # drop some columns
    header += draw(st.lists(st.sampled_from(["extra", "Remarque", "id", ""]), max_size=2))  # extra columns
    if header == [""]:  # a lone empty cell is a blank line (as for rows below), not a header
        header = ["", "extra"]
    rows = draw(st.lists(st.lists(_cell, min_size=max(len(header) - 1, 0), max_size=len(header) + 1), max_size=6))
    sep = draw(st.sampled_from([";", ",", "\t"]))
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    shape = draw(st.sampled_from(["csv", "csv", "csv", "empty", "header-only", "bytes", "xlsx"]))
    if shape == "xlsx":
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        wb = openpyxl.Workbook()
        for r in [header] + rows:
            wb.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) for c in r])
        buf = io.BytesIO()
        wb.save(buf)
        return kind, buf.getvalue(), None  # (the count of an XLSX skips all-empty rows)
    if shape == "empty":
        return kind, b"", rows
    if shape == "bytes":
        return kind, draw(st.binary(max_size=300)), None
    if shape == "header-only":
        rows = []
    return kind, csv_bytes(header, rows, sep, enc), rows


@settings(
    max_examples=int(os.environ.get("IMPORT_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(malformed_file())
def test_malformed_files_never_crash_and_every_row_is_accounted(ro_con, case):
    kind, data, rows = case
    raw, ch, fmt, mode, source, accepted = imports.prepare(ro_con, kind, data, "synthetic.csv")
    quarantined = [q[0] for q in ch.quarantine]
    assert raw.rows_in == len(accepted) + len(quarantined)
    numbers = sorted(quarantined + (accepted["source_row"].astype(int).tolist() if len(accepted) else []))
    assert numbers == list(range(1, raw.rows_in + 1))  # each row exactly once
    for n, fld, reason, _raw in ch.quarantine:
        assert 1 <= n <= raw.rows_in and isinstance(fld, str) and fld and reason
    if rows is not None and data:
        # records the writer produced (a single empty cell on its own line is a blank line)
        expected = sum(1 for r in rows if not (len(r) <= 1 and all(not c.strip() for c in r)))
        if not any("\n" in c or "\r" in c for r in rows for c in r):
            assert raw.rows_in == expected


# --------------------------------------------------------------------------- the page


def test_import_page_says_how_to_enable_writing(base_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parent.parent / "pages" / "6_Import.py")
    monkeypatch.setenv("OBSERVATOIRE_DB", str(base_db))
    monkeypatch.delenv(imports.ENV_SECRET, raising=False)
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception
    assert any(imports.ENV_SECRET in w.value and "désactivée" in w.value for w in at.warning)
    importer = [b for b in at.button if b.label == "Importer"]
    assert importer and importer[0].disabled
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception and not any("désactivée" in w.value for w in at.warning)


def test_a_file_with_nothing_accepted_leaves_the_data_unchanged(db_copy, admin, tmp_path, source_dir):
    """A wrong file imported in a replace mode must not empty the offers of its source."""
    before = table(db_copy, "SELECT * FROM offers ORDER BY offer_id")
    lines = (source_dir / MIRROR_OFFERS).read_text(encoding="utf-8").splitlines()
    f = tmp_path / "plateforme_sans_code_postal.csv"  # the mirror file without its "Code postal" column
    f.write_text(
        "\n".join(";".join(c for i, c in enumerate(ln.split(";")) if i != 7) for ln in lines[:50]) + "\n",
        encoding="utf-8",
    )
    res = imports.import_file(
        imports.ImportRequest(f, "offers", fmt="platform", db_path=db_copy), secret=admin, gate=fast_gate()
    )
    assert (res.rows_in, res.accepted, res.quarantined) == (49, 0, 49)
    assert set(res.quarantine["field"]) == {"Code postal"} and "données inchangées" in res.note
    pd.testing.assert_frame_equal(before, table(db_copy, "SELECT * FROM offers ORDER BY offer_id"))
    assert table(db_copy, "SELECT quarantined FROM imports")["quarantined"].tolist() == [49]


def test_cli_dry_run_prints_counts_and_first_reasons(base_db, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(imports.ENV_SECRET, raising=False)
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(
        csv_bytes(
            TEMPLATE_HEADER,
            [
                template_row(identifiant="SYN-1"),
                template_row(identifiant="SYN-2", code_postal="35000"),
                template_row(identifiant="SYN-3", niveaux="CM2"),
            ],
            ",",
        )
    )
    state = file_state(base_db)
    assert imports.main(["offers", str(f), "--db", str(base_db), "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "lignes lues : 3 ; acceptées : 1 ; en quarantaine : 2" in out
    assert "ligne 2, champ « code_postal » : code postal hors Normandie « 35000 »" in out
    assert "ligne 3, champ « niveaux » : niveau inconnu « CM2 »" in out
    assert file_state(base_db) == state


def test_bundled_collective_list_passes_the_import_and_gives_the_build_table(db_copy, admin):
    """Re-importing data/collective_projects.csv (replace-all) reproduces the build's table."""
    cols = (
        "project_id, name, kind, kind_basis, town, commune_code, epci_siren, dep, sectors, pupils, period, "
        "status, location_basis, source, note, lon, lat"
    )
    before = table(db_copy, f"SELECT {cols} FROM collective_projects ORDER BY project_id")
    path = Path(__file__).resolve().parent.parent / "data" / "collective_projects.csv"
    res = imports.import_file(
        imports.ImportRequest(path, "collective", mode="replace-all", db_path=db_copy), secret=admin, gate=fast_gate()
    )
    assert (res.rows_in, res.accepted, res.quarantined) == (len(before), len(before), 0)
    pd.testing.assert_frame_equal(before, table(db_copy, f"SELECT {cols} FROM collective_projects ORDER BY project_id"))


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium absent")
def test_import_page_in_a_browser(db_copy, tmp_path):
    """The real app in headless Chromium: simulation, wrong secret refused, right secret imports."""
    import time

    from playwright.sync_api import sync_playwright

    from tests.appserver import AppServer, launch_chromium

    idle = """() => { const a = document.querySelector('[data-testid="stApp"]');
                      return a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(
        csv_bytes(
            TEMPLATE_HEADER,
            [template_row(identifiant="SYN-B1"), template_row(identifiant="SYN-B2", code_postal="75001")],
        )
    )
    state = file_state(db_copy)
    with AppServer(db_copy, env={imports.ENV_SECRET: SECRET}) as server, sync_playwright() as p:
        url = server.url
        b = launch_chromium(p)
        pg = b.new_page(viewport={"width": 1400, "height": 1000})

        def settle():
            time.sleep(0.5)
            pg.wait_for_function(idle, timeout=120_000)

        pg.goto(url + "/import")  # url_path of app.PAGES ("/Import" worked only as a cold server's first run)
        settle()
        pg.set_input_files('input[type="file"]', str(f))
        settle()
        pg.get_by_role("button", name="Contrôler (simulation, rien n'est écrit)").click()
        settle()
        assert "Simulation : la base n'a pas été modifiée." in pg.inner_text("body")
        assert file_state(db_copy) == state
        pg.get_by_label("Secret administrateur").fill("mauvais secret")
        pg.get_by_role("button", name="Importer").click()
        settle()
        assert "Secret administrateur incorrect" in pg.inner_text("body")
        assert file_state(db_copy) == state
        pg.get_by_label("Secret administrateur").fill(SECRET)
        pg.get_by_role("button", name="Importer").click()
        settle()
        assert "Base mise à jour" in pg.inner_text("body")
        b.close()
    assert table(db_copy, "SELECT offer_id FROM offers WHERE offer_id LIKE 'SYN-B%'")["offer_id"].tolist() == ["SYN-B1"]
    log = table(db_copy, "SELECT rows_in, accepted, quarantined, user_name FROM imports")
    assert log.values.tolist() == [[2, 1, 1, "application"]]


def test_committed_templates_are_those_write_templates_makes(tmp_path):
    """data/templates is generated by imports.write_templates from the column specs: a spec
    change without regenerating the templates fails here (CSV header rows compared)."""
    written = imports.write_templates(tmp_path)
    committed = Path(__file__).resolve().parent.parent / "data" / "templates"
    for path in written:
        if path.suffix == ".csv":
            assert path.read_bytes() == (committed / path.name).read_bytes(), path.name

"""Per-pupil reach (analysis.reach, issue 22): the acceptance file, consistency with the
``route`` command, bad rows, formats, and privacy (database byte-identical, no file written).

Uses the real built database (``real_con``) and the regional networks of the mirror; the class
files are SYNTHETIC (pseudonyms E01…, public places such as Vire's town hall).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import reach, traveltime
from analysis.reach import cli

ROOT = Path(__file__).resolve().parent.parent
VIRE = (-0.88876, 48.838045)
ACCEPTANCE = "eleve;longitude;latitude;commune\nE01;-0.88876;48.838045;\nE02;;;Vire Normandie\nE03;;;14762\nE04;;;Atlantis\nE05;-0.9;49.6;\n"


@pytest.fixture(scope="module")
def nets(real_con):
    return reach.ReachNetworks()


def _run(real_con, nets, text: str, mode="transit", minutes=45, name="classe.csv", data=None, fetch=None, **kw):
    payload = data if data is not None else text.encode("utf-8")
    request = reach.ReachRequest(mode, minutes, **kw)
    return reach.reach_from_bytes(payload, name, real_con, request, networks=nets, fetch=fetch)


def test_acceptance_five_rows_cli(tmp_path, capsys, real_con):
    f = tmp_path / "classe.csv"
    f.write_text(ACCEPTANCE, encoding="utf-8")
    assert cli.main([str(f), "--mode", "transit", "--minutes", "45"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "transit" and out["minutes"] == 45
    pupils = {p["eleve"]: p for p in out["pupils"]}
    assert [p["eleve"] for p in out["pupils"]] == ["E01", "E02", "E03", "E04", "E05"]
    lists = [[(o["offer_id"], o["minutes"]) for o in pupils[e]["offers"]] for e in ("E01", "E02", "E03")]
    assert lists[0] == lists[1] == lists[2]
    assert len(lists[0]) >= 10
    mins = [m for _, m in lists[0]]
    assert mins == sorted(mins) and max(mins) <= 45
    assert pupils["E01"]["origin_precision"] == "coordonnées"
    assert pupils["E02"]["origin_precision"] == pupils["E03"]["origin_precision"] == "commune"
    for e in ("E01", "E02", "E03"):
        assert pupils[e]["status"] == "ok" and pupils[e]["reason"] is None
    assert pupils["E04"]["status"] == "refusé" and "commune inconnue" in pupils["E04"]["reason"]
    assert pupils["E05"]["status"] == "refusé" and "hors du réseau" in pupils["E05"]["reason"]
    assert pupils["E04"]["offers"] == pupils["E05"]["offers"] == []


@pytest.mark.parametrize("mode,code", [("transit", "14366"), ("walk", "14762"), ("car", "14762")])
def test_minutes_equal_route_command(real_con, nets, mode, code, monkeypatch):
    """Lisieux (14366) by transit: offers reached by train, each with its first departure."""
    point = real_con.execute("SELECT lon, lat FROM communes WHERE code = ?", [code]).fetchone()
    res = _run(real_con, nets, f"eleve;longitude;latitude\nE01;{point[0]};{point[1]}\n", mode=mode, minutes=60)
    offers = res.pupils[0].offers
    assert len(offers) >= 10
    if mode == "transit":
        deps = [o["departure"] for o in offers if o["departure"]]
        assert len(deps) >= 5 and all(d["line"] and d["stop"] and len(d["time"]) == 5 for d in deps)
    locs = dict(
        real_con.execute(
            "SELECT o.offer_id, [l.lon, l.lat] FROM offers o JOIN offer_locations l USING (loc_id)"
        ).fetchall()
    )
    # the nearest, the farthest and one between; route reads its network file at each call:
    # the same file read once here (speed only)
    import functools

    from analysis.network import roads

    monkeypatch.setattr(roads, "load_road_graph", functools.lru_cache(maxsize=2)(roads.load_road_graph))
    picks = {0, len(offers) - 1, len(offers) // 2}
    if mode == "transit":  # and every offer reached by a vehicle (up to 6)
        picks |= {k for k, o in enumerate(offers) if o["departure"]}
        picks = set(sorted(picks)[:6]) | {len(offers) - 1}
    for k in sorted(picks):
        it = offers[k]
        r = traveltime.route(mode, point, tuple(locs[it["offer_id"]]))
        assert r["minutes"] == pytest.approx(it["minutes"], abs=0.006), (mode, it["offer_id"])
        if mode == "transit":
            first = next((leg for leg in r["legs"] if leg["mode"] == "transit"), None)
            dep = it["departure"]
            assert (dep is None) == (first is None)
            if first:
                assert (dep["line"], dep["stop"], dep["time"]) == (first["route"], first["from"], first["depart"])


def test_bad_rows_never_stop_the_others(real_con, nets):
    text = (
        "eleve,longitude,latitude,adresse,code_postal,commune,mode,minutes\n"
        "A1,-0.88876,48.838045,,,,,\n"
        "A2,abc,48.8,,,,,\n"
        "A3,-0.88876,,,,,,\n"
        "A4,,,,,,,\n"
        "A5,,,,,Vire Normandie,avion,\n"
        "A6,,,,,Vire Normandie,,500\n"
        "A7,,,,,vire normandie,walk,20\n"
        "A8,48.838045,-0.88876,,,,,\n"
        "A9,,,,,Montigny,,\n"
        "A12,,,,14210,Montigny,,\n"
        "A10,1,2\n"
        ",,,,,Vire Normandie,,\n"
    )
    res = _run(real_con, nets, text, mode="bike", minutes=30)
    by = {p.origin.eleve: p for p in res.pupils}
    reasons = {k: (p.origin.reason or "") for k, p in by.items()}
    assert by["A1"].status == "ok" and by["A1"].offers
    assert "nombre invalide" in reasons["A2"]
    assert "coordonnées incomplètes" in reasons["A3"]
    assert "ni coordonnées ni commune" in reasons["A4"]
    assert "mode invalide" in reasons["A5"]
    assert "minutes invalide" in reasons["A6"]
    assert by["A7"].status == "ok" and by["A7"].origin.mode == "walk" and by["A7"].origin.minutes == 20
    assert all(o["minutes"] <= 20 for o in by["A7"].offers)
    assert "inversées" in reasons["A8"]
    assert "ambiguë" in reasons["A9"]
    assert by["A12"].status == "ok" and by["A12"].origin.commune_code == "14446"  # the postcode decides
    assert "ligne incomplète" in reasons["A10"]
    assert "vide" in reasons["ligne 12"]
    assert len(res.pupils) == 12


def test_commune_without_accents_and_windows_encoding(real_con, nets):
    data = "eleve,commune\nB1,EVREUX\nB2,Évreux\nB3,27229\n".encode("cp1252")
    res = _run(real_con, nets, "", mode="car", minutes=10, data=data)
    assert [p.origin.commune_code for p in res.pupils] == ["27229"] * 3
    assert res.pupils[0].offers == res.pupils[1].offers == res.pupils[2].offers != []


def test_xlsx_input_and_outputs_without_formulas(real_con, nets):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["eleve", "commune"])
    ws.append(["C1", "Vire Normandie"])
    ws.append(["C2", "Atlantis"])
    ws["A2"].value = '=HYPERLINK("http://x","y")'  # a pseudonym that looks like a formula, stored as text
    ws["A2"].data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    res = _run(real_con, nets, "", data=buf.getvalue(), name="classe.xlsx")
    assert [p.status for p in res.pupils] == ["ok", "refusé"]
    out = openpyxl.load_workbook(io.BytesIO(reach.render(res, "xlsx")))
    assert out.sheetnames[0] == "Synthèse" and len(out.sheetnames) == 3
    cells = [c for s in out.worksheets for row in s.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(str(c.value).startswith("'=HYPERLINK") for c in cells)
    csv_text = reach.render(res, "csv").decode("utf-8-sig")
    assert "\n'=HYPERLINK" in csv_text or ";'=HYPERLINK" in csv_text or csv_text.count("'=HYPERLINK")
    pdf = reach.render(res, "pdf")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 3


def test_address_geocoding_in_memory(real_con, nets):
    import pandas as pd

    from analysis.sources.geocode import GeocoderUnavailable

    sent = []

    def fake(frame, base_url, timeout):
        sent.append(frame.copy())
        return pd.DataFrame({"query": ["0"], "lon": [-0.8915], "lat": [48.8385], "score": [0.9], "citycode": ["14762"]})

    text = "eleve;adresse;code_postal;commune\nD1;Place du Château;14500;Vire Normandie\n"
    res = _run(real_con, nets, text, mode="walk", minutes=15, geocode=True, fetch=fake)
    o = res.pupils[0].origin
    assert (o.precision, o.lon, o.lat) == ("adresse", -0.8915, 48.8385)
    assert sent[0]["street"].tolist() == ["Place du Château"]

    def down(frame, base_url, timeout):
        raise GeocoderUnavailable("hors ligne")

    res = _run(real_con, nets, text, mode="walk", minutes=15, geocode=True, fetch=down)
    o = res.pupils[0].origin
    assert o.precision == "commune" and (o.lon, o.lat) == VIRE
    assert res.notes and "injoignable" in res.notes[0]


@pytest.mark.parametrize(
    "content,args,expect",
    [
        ("nom;commune\nX;Vire\n", [], "colonne « eleve » absente"),
        ("eleve;classe\nX;2nde\n", [], "« commune »"),
        (ACCEPTANCE, ["--minutes", "500"], "Budget-temps"),
        (ACCEPTANCE, ["--format", "pdf"], "--out"),
        (ACCEPTANCE, ["--depart", "25:99"], "heure de départ invalide"),
        (ACCEPTANCE, ["--sector", "Astronautique"], "Secteur"),
    ],
)
def test_unreadable_file_or_bad_argument_exit_2(tmp_path, capsys, real_con, content, args, expect):
    f = tmp_path / "classe.csv"
    f.write_text(content, encoding="utf-8")
    argv = [str(f), "--mode", "walk", "--minutes", "15", *args]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur") and expect in err and "Traceback" not in err


def test_missing_file_exit_2(tmp_path, capsys):
    assert cli.main([str(tmp_path / "absent.csv"), "--mode", "walk", "--minutes", "15"]) == 2
    assert "fichier illisible" in capsys.readouterr().err


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the project tree (size, mtime), bytecode caches excepted."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git", ".pytest_cache", ".ruff_cache")]
        for name in files:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_privacy_database_identical_and_no_file_written(tmp_path, real_con, nets):
    from analysis import build

    db_path = Path(build.ensure_database())
    before_db, before_tree = _sha256(db_path), _tree(ROOT)
    f = tmp_path / "in" / "classe.csv"
    f.parent.mkdir()
    f.write_text(ACCEPTANCE + "E06;;;;\nE07;;;Vire Normandie\n", encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}
    for fmt in ("json", "xlsx", "pdf"):
        out = tmp_path / "out" / f"r.{fmt}"
        proc = subprocess.run(
            [sys.executable, "-m", "analysis.reach", str(f), "--mode", "transit", "--minutes", "45"]
            + ["--format", fmt, "--out", str(out), "--db", str(db_path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert "E01" not in proc.stderr and "Traceback" not in proc.stderr
        assert out.exists()
    # the API (the page's path) too, every mode
    for mode in ("walk", "bike", "car", "transit"):
        res = _run(real_con, nets, ACCEPTANCE, mode=mode, minutes=30)
        for fmt in reach.FORMATS:
            reach.render(res, fmt)
    assert _sha256(db_path) == before_db
    assert _tree(ROOT) == before_tree
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.json", "r.pdf", "r.xlsx"]


def test_depart_time_and_sector_filter(real_con, nets, monkeypatch):
    """``--depart``: minutes from that departure equal ``route --depart``; ``--sector``: only that sector."""
    import functools

    from analysis.network import roads

    monkeypatch.setattr(roads, "load_road_graph", functools.lru_cache(maxsize=2)(roads.load_road_graph))
    point = real_con.execute("SELECT lon, lat FROM communes WHERE code = '14366'").fetchone()
    text = f"eleve;longitude;latitude\nE01;{point[0]};{point[1]}\n"
    res = _run(real_con, nets, text, mode="transit", minutes=60, depart="07:30")
    offers = res.pupils[0].offers
    assert offers and res.depart == "07:30"
    locs = dict(
        real_con.execute(
            "SELECT o.offer_id, [l.lon, l.lat] FROM offers o JOIN offer_locations l USING (loc_id)"
        ).fetchall()
    )
    for it in [o for o in offers if o["departure"]][:3] + offers[-1:]:
        r = traveltime.route("transit", point, tuple(locs[it["offer_id"]]), depart="07:30")
        assert r["minutes"] == pytest.approx(it["minutes"], abs=0.006)
        if it["departure"]:
            assert it["departure"]["time"] >= "07:30"
    every = _run(real_con, nets, text, mode="car", minutes=30).pupils[0].offers
    sector = every[0]["sector"]
    some = _run(real_con, nets, text, mode="car", minutes=30, sectors=(sector,)).pupils[0].offers
    assert some and {o["sector"] for o in some} == {sector}
    assert [o["offer_id"] for o in some] == [o["offer_id"] for o in every if o["sector"] == sector]

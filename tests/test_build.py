"""Build command: clear errors on bad input, atomic swap that keeps the previous database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import db
from analysis.build import BuildSettings, build
from analysis.errors import DataError
from analysis.progress import silent

ROOT = Path(__file__).resolve().parent.parent
OFFERS = Path("internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv")
ANNUAIRE = Path("schools/monstagedeseconde/fr-en-annuaire-education_lycees_normandie_2024-03-19.csv")
COMMUNES_JSON = Path("communes/etalab-decoupage-administratif/communes_normandie_2025_v5.3.0.json")


def _replace(tree: Path, rel: Path, content: bytes) -> None:
    target = tree / rel
    target.unlink()
    target.write_bytes(content)


def _base(src: Path, dbp: Path) -> BuildSettings:
    return BuildSettings(source_dir=src, db_path=dbp, gtfs=[], travel_times=False)


def test_truncated_offer_file_names_file_and_row(mirror_link_tree, source_dir, tmp_path):
    tree = mirror_link_tree()
    raw = (source_dir / OFFERS).read_bytes()
    cut = raw[: raw.index(b"\n", len(raw) // 2) + 40]  # stops in the middle of a line
    _replace(tree, OFFERS, cut)
    with pytest.raises(DataError) as err:
        build(_base(tree, tmp_path / "x.duckdb"), silent)
    e = err.value
    assert e.path.endswith("07_05_2025_data_bc_normandie.csv")
    assert e.row is not None and e.row > 700
    assert "tronqué" in str(e) or "mal formée" in str(e)


def test_missing_column_names_the_field(mirror_link_tree, source_dir, tmp_path):
    tree = mirror_link_tree()
    text = (source_dir / ANNUAIRE).read_text(encoding="utf-8")
    _replace(tree, ANNUAIRE, text.replace("latitude", "lat_wgs84", 1).encode("utf-8"))
    with pytest.raises(DataError) as err:
        build(_base(tree, tmp_path / "x.duckdb"), silent)
    assert err.value.field == "latitude"
    assert "fr-en-annuaire-education" in err.value.path


def test_bad_value_names_row_and_field(mirror_link_tree, source_dir, tmp_path):
    tree = mirror_link_tree()
    lines = (source_dir / ANNUAIRE).read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(";")
    col = header.index("longitude")
    fields = lines[5].rstrip("\n").split(";")
    fields[col] = "pas-un-nombre"
    lines[5] = ";".join(fields) + "\n"
    _replace(tree, ANNUAIRE, "".join(lines).encode("utf-8"))
    with pytest.raises(DataError) as err:
        build(_base(tree, tmp_path / "x.duckdb"), silent)
    assert (err.value.row, err.value.field) == (5, "longitude")


def test_invalid_json_is_reported(mirror_link_tree, source_dir, tmp_path):
    tree = mirror_link_tree()
    raw = (source_dir / COMMUNES_JSON).read_bytes()
    _replace(tree, COMMUNES_JSON, raw[: len(raw) // 3])
    with pytest.raises(DataError) as err:
        build(_base(tree, tmp_path / "x.duckdb"), silent)
    assert "JSON" in str(err.value) and err.value.row is not None


def test_missing_file(mirror_link_tree, tmp_path):
    tree = mirror_link_tree()
    (tree / OFFERS).unlink()
    with pytest.raises(DataError) as err:
        build(_base(tree, tmp_path / "x.duckdb"), silent)
    assert "offers_platform" in str(err.value) and "introuvable" in str(err.value)


def test_failed_rebuild_keeps_previous_database(mirror_link_tree, source_dir, base_db, tmp_path):
    target = tmp_path / "live.duckdb"
    shutil.copy(base_db, target)
    before = target.read_bytes()
    reader = db.ReaderCache(target)
    n_before = reader.get().execute("SELECT COUNT(*) FROM offers").fetchone()[0]

    tree = mirror_link_tree()
    raw = (source_dir / OFFERS).read_bytes()
    _replace(tree, OFFERS, raw[: len(raw) // 2])
    with pytest.raises(DataError):
        build(_base(tree, target), silent)

    assert target.read_bytes() == before  # untouched, byte for byte
    assert reader.get().execute("SELECT COUNT(*) FROM offers").fetchone()[0] == n_before
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("live") and not p.name.endswith(".lock"))
    assert leftovers == ["live.duckdb"]  # no half-written database left behind (the writer lock file may stay)


def test_successful_rebuild_swaps_and_open_reader_follows(mirror_link_tree, source_dir, base_db, tmp_path):
    target = tmp_path / "live.duckdb"
    shutil.copy(base_db, target)
    reader = db.ReaderCache(target)
    old = reader.get()
    assert old.execute("SELECT COUNT(*) FROM offers").fetchone()[0] == 1532
    tree = mirror_link_tree()
    lines = (source_dir / OFFERS).read_text(encoding="utf-8").splitlines(keepends=True)
    _replace(tree, OFFERS, "".join(lines[:101]).encode("utf-8"))  # header + 100 offers
    build(_base(tree, target), silent)
    assert old.execute("SELECT COUNT(*) FROM offers").fetchone()[0] == 1532  # old snapshot still readable
    assert reader.get().execute("SELECT COUNT(*) FROM offers").fetchone()[0] == 100


def test_cli_exit_code_and_message(mirror_link_tree, source_dir, tmp_path):
    tree = mirror_link_tree()
    (tree / OFFERS).unlink()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.build",
            "--source",
            str(tree),
            "--db",
            str(tmp_path / "c.duckdb"),
            "--no-travel-times",
            "--gtfs",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "Échec de la construction" in proc.stderr and "introuvable" in proc.stderr
    assert not (tmp_path / "c.duckdb").exists()

"""The page « Élèves » (issue 22 item 4) in the real app and headless Chromium: the lycée sheet
from its URL, a class file uploaded in memory, the per-pupil table and map, the URL without any
pupil data, and the database and project tree unchanged afterwards (privacy)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.test_reach import ACCEPTANCE, ROOT, _tree

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium absent")

IDLE = """() => { const a = document.querySelector('[data-testid="stApp"]');
                  return a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""


def test_eleves_page_lycee_and_class_file(tmp_path, source_dir):
    from playwright.sync_api import sync_playwright

    from analysis import build
    from tests.appserver import AppServer, launch_chromium

    db = Path(build.ensure_database())
    before_db, before_tree = hashlib.sha256(db.read_bytes()).hexdigest(), _tree(ROOT)
    f = tmp_path / "classe_synthetique.csv"
    f.write_text(ACCEPTANCE, encoding="utf-8")
    with AppServer(db, env={"PYTHONDONTWRITEBYTECODE": "1"}) as server, sync_playwright() as p:
        b = launch_chromium(p)
        pg = b.new_page(viewport={"width": 1400, "height": 1000})

        def settle():
            time.sleep(0.5)
            pg.wait_for_function(IDLE, timeout=180_000)

        pg.goto(server.url + "/eleves?lycee=0141555P&mode=transit&minutes=45")
        settle()
        body = pg.inner_text("body")
        assert "Lycée Marie Curie (0141555P), Vire Normandie" in body
        assert "17 offres accessibles depuis le lycée" in body
        pg.set_input_files('input[type="file"]', str(f))
        pg.wait_for_function("() => document.body.innerText.includes('calculés sur')", timeout=180_000)
        settle()
        body = pg.inner_text("body")
        assert "3 élèves placés et calculés sur 5" in body
        assert "commune inconnue" in body and "hors du réseau" in body
        assert "Élève E01 : 17 offres accessibles" in body
        pg.wait_for_selector("iframe[title*='Carte']", state="attached", timeout=120_000)  # the map's frame
        pg.get_by_role("button", name="Préparer les résultats (PDF)").click()
        pg.get_by_role("button", name="Résultats (PDF)", exact=True).wait_for(timeout=180_000)
        settle()
        with pg.expect_download() as dl:
            pg.get_by_role("button", name="Résultats (PDF)", exact=True).click()
        assert dl.value.suggested_filename == "offres_par_eleve.pdf"
        url = pg.url
        assert "lycee=0141555P" in url and "E01" not in url and "Atlantis" not in url
        b.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before_db
    assert _tree(ROOT) == before_tree

"""Browser tests of the dashboard (issue 5): the real app in headless Chromium.

The app is started with ``streamlit run app.py`` on a free local port (``tests/appserver.py``,
shared with ``bench/browser.py``) against the real built database (``data/observatoire.duckdb``;
built into a temporary folder from the mirror when it is missing) and driven with Python
Playwright. Skipped only when ``/usr/bin/chromium`` is absent
(or when neither a built database nor the data mirror exists).

Expected figures are computed independently from the database with ``analysis.access`` and
plain SQL, never read back from the page code.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import time
import urllib.request
from contextlib import nullcontext
from pathlib import Path

import pytest

from tests.appserver import CHROMIUM, ROOT, AppServer, launch_chromium

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")

IDLE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
                     return a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""


def _has_travel_times(path: Path) -> bool:
    from analysis import db

    con = db.connect(path, read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'territory_indicators'").fetchone()[0]
        return n > 0
    finally:
        con.close()


@pytest.fixture(scope="module")
def app_db(tmp_path_factory) -> Path:
    """The real built database (the repository's, else a fresh full build from the mirror)."""
    from analysis import config

    path = config.default_db_path()
    if path.exists() and _has_travel_times(path):
        return path
    src = config.default_source_dir()
    if src is None:
        pytest.skip("ni base construite ni miroir de données ../shared/data")
    out = tmp_path_factory.mktemp("appdb") / "observatoire.duckdb"
    subprocess.run(
        [sys.executable, "-m", "analysis.build", "--source", str(src), "--db", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def app_url(app_db):
    """Start ``streamlit run app.py`` on a free port (:class:`tests.appserver.AppServer`); stop it
    (by its pid) at the end."""
    cache = ROOT / ".pytest_cache"
    with open(cache / "streamlit_browser_test.log", "w") if cache.is_dir() else nullcontext() as log:
        with AppServer(app_db, log=log) as server:
            yield server.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def warm_app(app_url, browser):
    """Open the home page once, so that the first test does not pay the data caches' warm-up.

    (It also hid, until session 4, the "Page not found" dialog a cold server showed over the
    first deep link: fixed in the product by ``ui/serve.py``, tested with a server of its own
    in ``tests/test_browser_links.py::test_first_visit_of_a_fresh_server_by_a_shared_link``.)"""
    ctx = browser.new_context()
    pg = ctx.new_page()
    open_page(pg, app_url + "/")
    ctx.close()
    return app_url


@pytest.fixture()
def page(browser, warm_app):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture(scope="module")
def con(app_db):
    from analysis import db

    c = db.connect(app_db, read_only=True)
    yield c
    c.close()


def wait_idle(pg, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script (and a title or error is shown).

    The idle state must hold for 0.75 s in a row: a map component reporting its first value
    triggers a second run just after the first one.
    """
    pg.wait_for_selector("h1, [data-testid='stException']", timeout=timeout)
    deadline = time.time() + timeout / 1000
    stable = 0
    while stable < 3:
        if time.time() > deadline:
            raise AssertionError("Streamlit n'a pas fini d'exécuter la page")
        stable = stable + 1 if pg.evaluate(IDLE_JS) else 0
        time.sleep(0.25)


def open_page(pg, url: str) -> None:
    pg.goto(url)
    wait_idle(pg)


def main_text(pg) -> str:
    return pg.inner_text("[data-testid='stMain']")


def wait_for_texts(pg, texts, timeout: float = 30.0) -> str:
    """The main area's text once it holds every one of ``texts`` (or after ``timeout`` seconds).

    On a loaded machine the last elements of a page (a download button under a table) may be
    drawn after the script-state attribute has read "notRunning" three times in a row (CI-like
    run at load 36, session 4): polling for what the test expects does not depend on that timing.
    """
    deadline = time.time() + timeout
    body = main_text(pg)
    while any(t not in body for t in texts) and time.time() < deadline:
        time.sleep(0.3)
        body = main_text(pg)
    return body


def assert_no_exception(pg) -> None:
    exc = pg.query_selector_all("[data-testid='stException']")
    assert not exc, "exception Streamlit : " + exc[0].inner_text()[:1500]


def map_frames(pg, n: int, timeout: float = 30.0):
    """Wait for ``n`` rendered st_folium maps (iframes with a height) and return their frames."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        heights = pg.evaluate(
            "() => Array.from(document.querySelectorAll('iframe[src*=\"st_folium\"]')).map(f => f.offsetHeight)"
        )
        if len(heights) >= n and all(h > 100 for h in heights[:n]):
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"cartes non affichées : hauteurs {heights}")
    return [f for f in pg.frames if "st_folium" in f.url]


def summary_line(pg) -> str:
    """The one-line text summary under the first map ("En bref : ...")."""
    el = pg.locator("[data-testid='stMarkdownContainer']", has_text="En bref").first
    return el.inner_text()


PAGES = [
    (
        "/",
        [
            "Observatoire des stages",
            "Élèves de seconde",
            "Offres pour 100 élèves",
            "Projets de stages collectifs",
            "Millésimes des données",
            "En bref",
        ],
        1,
    ),
    ("/couverture", ["Couverture", "Classement des EPCI", "En bref", "Estimation"], 1),
    (
        "/mobilite_rurale",
        [
            "Écart voiture / transports",
            "Classes de densité",
            "sans arrêt desservi",
            "Choisissez un lycée ou une commune",
            "Lycées dont les élèves",
        ],
        2,
    ),
    ("/stages_collectifs", ["Liste des projets", "Typologie", "Points de vigilance", "déduit"], 1),
    (
        "/territoire",
        [
            "Fiche territoire : CU Caen la Mer",
            "Chiffres clés",
            "Offres par secteur",
            "Offre de transport",
            "Projets de stages collectifs",
        ],
        1,
    ),
    ("/donnees", ["Sources", "fichiers sources chargés", "Télécharger la provenance"], 0),
]


@pytest.mark.parametrize("path,texts,n_maps", PAGES, ids=[p[0] for p in PAGES])
def test_page_opens_with_key_elements(page, app_url, path, texts, n_maps):
    open_page(page, app_url + path)
    assert_no_exception(page)
    body = wait_for_texts(page, texts)
    missing = [t for t in texts if t not in body]
    assert not missing, f"« {missing} » absent de {path} : {body}"
    if n_maps:
        frames = map_frames(page, n_maps)
        # every map has a legend box and its polygons/markers drawn by Leaflet
        for f in frames[:n_maps]:
            f.wait_for_selector(".obs-legend", timeout=15_000)
            assert f.query_selector(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path") is not None


def test_data_page_views(page, app_url, con):
    open_page(page, app_url + "/donnees")
    prov = con.execute("SELECT dataset, licence, vintage FROM provenance").fetchall()
    assert f"{len(prov)} fichiers sources chargés" in main_text(page)
    with page.expect_download(timeout=20_000) as dl:
        page.get_by_role("button", name="Télécharger la provenance (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text("utf-8-sig")), delimiter=";"))
    got = {(r["Identifiant technique"], r["Licence"], r["Millésime"]) for r in rows}
    assert got == {(d, lic, str(vin)) for d, lic, vin in prov}
    open_page(page, app_url + "/donnees?vue=schema")
    assert_no_exception(page)
    assert "communes" in main_text(page) and "Schéma de la base" in main_text(page)
    open_page(page, app_url + "/donnees?vue=rejets")
    assert_no_exception(page)
    n_rej = con.execute("SELECT count(*) FROM offer_rejects").fetchone()[0]
    text = main_text(page).replace("\u202f", " ")
    assert re.search(rf"{n_rej} {'ligne rejetée' if n_rej < 2 else 'lignes rejetées'}", text)  # « 0 ligne rejetée »
    open_page(page, app_url + "/donnees?vue=quarantaine")
    assert_no_exception(page)


def _select_sidebar_option(pg, label: str, option: str) -> None:
    pg.locator("[data-testid='stSidebar']").get_by_role("combobox", name=label).click()
    pg.get_by_role("option", name=option, exact=True).click()


def test_filter_change_updates_url_and_figures(page, app_url, con):
    from analysis import access

    open_page(page, app_url + "/couverture?mode=transit&minutes=45&niveau_carte=epci")
    map_frames(page, 1)
    before = summary_line(page)
    assert "transports en commun" in before
    _select_sidebar_option(page, "Mode de déplacement", "Voiture")
    page.wait_for_function("() => window.location.search.includes('mode=car')", timeout=20_000)
    wait_idle(page)
    assert_no_exception(page)
    after = summary_line(page)
    assert after != before and "voiture" in after
    # the figure shown is the worst EPCI by car in 45 min, computed independently
    df = access.territory_indicators(con, "epci", access.Filters(mode="car", minutes=45))
    worst = df["share_no_offer"].max() * 100
    assert f"valeur la plus défavorable : {worst:.1f}".replace(".", ",") in after
    worst_names = df.loc[df["share_no_offer"] * 100 >= worst - 1e-9, "name"]
    assert any(n in after for n in worst_names)
    # a copied link reopens the same view
    url = page.url
    assert "mode=car" in url and "minutes=45" in url
    page2 = page.context.new_page()
    open_page(page2, url)
    assert summary_line(page2) == after
    page2.close()


def test_origin_map_drawn_on_demand_and_shared_by_url(page, app_url, con):
    """Mobilité rurale, section 4: no origin at first (two maps); choosing a lycée draws the
    third map, puts the lycée in the URL, and that URL reopens the view with the map."""
    open_page(page, app_url + "/mobilite_rurale")
    map_frames(page, 2)
    uai, name = con.execute(
        "SELECT uai, name FROM schools WHERE commune_code = '14118' AND seconde_pupils IS NOT NULL "
        "ORDER BY seconde_pupils DESC LIMIT 1"
    ).fetchone()
    box = page.get_by_role("combobox", name="Origine")
    box.click()
    box.fill(name)
    page.get_by_role("option", name=re.compile("^" + re.escape(name) + " — ")).first.click()
    page.wait_for_function(f"() => window.location.search.includes('origine_id={uai}')", timeout=20_000)
    wait_idle(page)
    assert_no_exception(page)
    map_frames(page, 3)
    assert f"depuis {name}" in main_text(page)
    page2 = page.context.new_page()
    open_page(page2, page.url)
    map_frames(page2, 3)
    assert f"depuis {name}" in main_text(page2)
    page2.close()


def test_download_ranked_table(page, app_url, con):
    from analysis import access

    open_page(page, app_url + "/couverture?mode=bike&minutes=30&niveau_carte=epci&indicateur=share_no_offer")
    assert_no_exception(page)
    with page.expect_download(timeout=20_000) as dl:
        page.get_by_role("button", name="Télécharger le tableau (CSV)").click()
    raw = Path(dl.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for French Excel
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    n_epci = con.execute("SELECT count(*) FROM epci").fetchone()[0]
    assert len(rows) == n_epci
    col = "Part des élèves sans offre accessible (mode choisi) (%)"  # catalogue label
    expected = access.territory_indicators(con, "epci", access.Filters(mode="bike", minutes=30))
    exp = {r.code: r.share_no_offer * 100 for r in expected.itertuples()}
    for r in rows:
        got = float(r[col].replace(",", ".")) if r[col] else float("nan")
        assert got == pytest.approx(exp[r["Code"]], abs=0.051), r["Territoire"]
    values = [float(r[col].replace(",", ".")) for r in rows if r[col]]
    assert values == sorted(values, reverse=True)  # ranked from the worst


def test_territory_sheet_figures(page, app_url, con):
    siren = con.execute("SELECT siren FROM epci WHERE name = 'CU Caen la Mer'").fetchone()[0]
    open_page(page, app_url + f"/territoire?niveau=epci&code={siren}&mode=transit&minutes=45")
    assert_no_exception(page)
    n_off = con.execute(
        "SELECT count(*) FROM offers o JOIN communes c ON c.code = o.commune_code WHERE c.epci_siren = ?", [siren]
    ).fetchone()[0]
    text = main_text(page).replace("\u202f", " ")
    assert f"{n_off} offres situées dans le territoire" in text
    n_lyc = con.execute(
        "SELECT count(*) FROM schools s JOIN communes c ON c.code = s.commune_code WHERE c.epci_siren = ?", [siren]
    ).fetchone()[0]
    assert n_lyc > 0
    # report of analysis.report (issue 6) for this territory, when that module provides it
    prepare = page.get_by_role("button", name="Préparer : Rapport CSV")
    if prepare.count():
        prepare.click()
        wait_idle(page)
        assert_no_exception(page)
        with page.expect_download(timeout=30_000) as dl:
            page.get_by_role("button", name="Télécharger Rapport CSV").click()
        text = Path(dl.value.path()).read_bytes().decode("utf-8-sig")
        assert "CU Caen la Mer" in text and ";" in text
    # switching to a commune by URL gives its own sheet
    open_page(page, app_url + "/territoire?niveau=commune&code=50129")
    assert_no_exception(page)
    assert "Fiche territoire : Cherbourg-en-Cotentin" in main_text(page)


def test_collective_filter_by_type(page, app_url, con):
    kind = "mono-site mono-entreprise"
    n = con.execute("SELECT count(*) FROM collective_projects WHERE kind = ?", [kind]).fetchone()[0]
    total = con.execute("SELECT count(*) FROM collective_projects").fetchone()[0]
    open_page(page, app_url + "/stages_collectifs?type=" + urllib.request.quote(kind))
    assert_no_exception(page)
    assert f"{n} projet{'s' if n > 1 else ''} de stage collectif sur {total}" in summary_line(page)


def test_table_alternative_built_when_opened(page, app_url):
    """The table under a map is built once its expander is opened (and stays open)."""
    open_page(page, app_url + "/mobilite_rurale")
    assert_no_exception(page)
    exp = page.locator("[data-testid='stExpander']", has_text="Tableau de la carte (alternative textuelle)").first
    assert exp.locator("[data-testid='stDataFrame']").count() == 0
    exp.get_by_text("Tableau de la carte (alternative textuelle)").click()
    exp.locator("[data-testid='stDataFrame']").wait_for(timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)
    assert exp.locator("[data-testid='stDataFrame']").count() == 1

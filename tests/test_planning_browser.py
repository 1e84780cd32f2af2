"""Browser test of the Planification page (issue 14), with the server fixture of test_browser.

Expected figures come from ``analysis.planning`` run here on the same database and from plain
SQL; the page must show them, keep its state in the URL, and explain impossible programmes.
"""

from __future__ import annotations

import pytest
import test_browser as tb

# pytest fixtures and helpers shared with the dashboard's browser tests (same server fixture)
app_db, app_url, browser, warm_app, page, con = tb.app_db, tb.app_url, tb.browser, tb.warm_app, tb.page, tb.con
CHROMIUM, assert_no_exception, main_text = tb.CHROMIUM, tb.assert_no_exception, tb.main_text
map_frames, open_page, wait_idle = tb.map_frames, tb.open_page, tb.wait_idle

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")


@pytest.fixture(scope="module")
def planner_ready(con):
    n = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'site_travel_times'").fetchone()[0]
    if not n:
        pytest.skip("base sans site_travel_times : python -m analysis.build")
    return True


def _assume_capacities(page) -> None:
    """Tick the explicit assumption of places a day for offers without a capacity."""
    page.get_by_text("Compléter les capacités vides par une hypothèse").click()
    page.get_by_text("Hypothèse : places par jour").first.wait_for(timeout=30_000)
    wait_idle(page)


def _design(page, outcome: str) -> None:
    """Run the solver (« Concevoir le programme ») and wait for ``outcome`` on the page."""
    page.get_by_role("button", name="Concevoir le programme").click()
    page.get_by_text(outcome).first.wait_for(timeout=60_000)
    wait_idle(page)


def test_sites_view_map_table_and_url_state(page, warm_app, con, planner_ready):
    from analysis.planning import demand, sites

    open_page(page, warm_app + "/planification?vue=sites&mode=transit&minutes=45&origine=school&k=3&structures=0")
    assert_no_exception(page)
    map_frames(page, 1)
    text = main_text(page)
    plan = sites.plan_sites(con, demand.DemandSpec("transit", 45, "school"), 3, min_hosts=0)
    assert "Sites proposés (classés)" in text and "alternative textuelle de la carte" in text
    for name in plan.sites["site_name"]:
        assert name in text
    total = f"{int(plan.exact.value):,}".replace(",", "\u202f")
    assert total in text or total.replace("\u202f", " ") in text or str(int(plan.exact.value)) in text
    assert "Rang de l'EPCI" in text and "sur 71" in text
    assert "TER seulement" in text
    # URL keeps the view; a change of K is written back to the address bar
    assert "k=3" in page.url and "vue=sites" in page.url
    assert page.get_by_role("link", name="n° 1 :").count() == 1
    assert page.get_by_role("button", name="Télécharger les sites (CSV)").count() == 1
    # a shared link reopens the same view (mode, budget, origin view, K)
    open_page(page, warm_app + "/planification?vue=sites&mode=walk&minutes=30&origine=commune&k=2")
    assert_no_exception(page)
    text = main_text(page)
    assert "à pied en 30 min" in text and "Les 2 sites proposés" in text and "Estimation" in text


def test_programme_view_designs_and_explains(page, warm_app, planner_ready):
    open_page(page, warm_app + "/planification?vue=programme&commune=27467&eleves=15&type=multisectoriel")
    assert_no_exception(page)
    text = main_text(page)
    assert "Pont-Audemer (27467)" in text and "ne publie pas de capacité" in text
    # no capacity given: the solver is not run on invented numbers
    _design(page, "Programme impossible")
    assert "capacité d'accueil inconnue" in main_text(page)
    # an explicit, flagged assumption of 3 places a day
    _assume_capacities(page)
    _design(page, "Programme trouvé")
    text = main_text(page)
    assert "Programme trouvé" in text and "Sous-groupe 1" in text and "lundi 15 juin" in text
    assert "Estimation" in text and "capacité supposée" in text
    assert page.get_by_role("button", name="Télécharger le programme (XLSX)").count() == 1
    assert "commune=27467" in page.url and "vue=programme" in page.url
    # starting from an existing project moves the site to its commune (L'Aigle, SC25)
    box = page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Partir d'un projet existant")
    box.click()
    box.fill("L'Aigle")
    page.get_by_role("option", name="L'Aigle – Pays d'Ouche – secteur industriel").click()
    page.wait_for_function("() => window.location.search.includes('commune=61214')", timeout=20_000)
    wait_idle(page)
    assert "commune=61214" in page.url and "L'Aigle (61214)" in main_text(page)


def test_programme_view_names_missing_places(page, warm_app, con, planner_ready):
    from analysis.planning import programme as pg
    from analysis.planning import sites

    offers = pg.pick_structures(sites.site_offers(con, "commune", "27467", "walk", 20), "multisectoriel", 12)
    places = 3 * len(offers)
    pupils = places + 4
    open_page(page, warm_app + f"/planification?vue=programme&commune=27467&eleves={pupils}&type=multisectoriel")
    _assume_capacities(page)
    _design(page, "Programme impossible")
    text = main_text(page)
    assert f"il manque 4 places le lundi 15 juin ({places} places pour {pupils} élèves)" in text
    assert "Pour le rendre possible" in text


def test_links_from_collective_and_territory_pages(page, warm_app, planner_ready):
    open_page(page, warm_app + "/stages_collectifs")
    link = page.get_by_role("link", name="Proposer un stage collectif ici")
    link.first.wait_for(timeout=30_000)
    assert link.count() == 1 and "vue=sites" in link.get_attribute("href")
    open_page(page, warm_app + "/territoire?echelon=epci&code=200066462")
    link = page.get_by_role("link", name="Proposer un stage collectif ici")
    link.first.wait_for(timeout=30_000)
    assert link.count() == 1
    assert "epci=200066462" in link.get_attribute("href")

# ruff: noqa: F811 - pytest fixtures imported from test_browser are parameters here
"""Shared links in a fresh browser (issue 11 item 1 and its acceptance): the real app in
headless Chromium (fixtures and helpers of ``tests/test_browser.py``).

A link copied from the address bar, opened in a new browser context (no cookie, no session
state), must show the same view: the commune sheet chosen in Territoire, the grade-filtered
sheet, and every page with non-default parameters.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest
from test_browser import (  # noqa: F401,F811 - fixtures used by name
    CHROMIUM,
    app_db,
    app_url,
    assert_no_exception,
    browser,
    con,
    main_text,
    open_page,
    wait_idle,
    warm_app,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")


def _fresh(browser, url: str):
    """Open ``url`` in a new browser context; return (context, page)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    open_page(pg, url)
    assert_no_exception(pg)
    return ctx, pg


def _title(pg) -> str:
    return pg.inner_text("h1").strip()


def _params(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)


def test_commune_and_grade_filtered_sheets_from_shared_links(browser, warm_app, con):
    name = con.execute("SELECT name FROM communes WHERE code = '61168'").fetchone()[0]
    ctx, pg = _fresh(browser, warm_app + "/territoire")
    assert _title(pg) == "Fiche territoire : CU Caen la Mer"
    side = pg.locator("[data-testid='stSidebar']")
    side.get_by_role("textbox", name="Rechercher un territoire").fill(name)
    side.get_by_role("textbox", name="Rechercher un territoire").press("Enter")
    wait_idle(pg)
    side.get_by_role("button", name=f"commune : {name}", exact=True).click()
    pg.wait_for_function("() => window.location.search.includes('code=61168')", timeout=20_000)
    wait_idle(pg)
    assert _title(pg) == f"Fiche territoire : {name}"
    commune_link = pg.url
    side.get_by_text("Seconde", exact=True).click()
    pg.wait_for_function("() => window.location.search.includes('niveau=seconde')", timeout=20_000)
    wait_idle(pg)
    grade_link = pg.url
    ctx.close()

    for link in (commune_link, grade_link):
        ctx2, pg2 = _fresh(browser, link)
        assert _title(pg2) == f"Fiche territoire : {name}", link
        assert "Lien de la page" not in main_text(pg2)
        assert _params(pg2.url)["code"] == ["61168"]
        ctx2.close()
    ctx3, pg3 = _fresh(browser, grade_link)
    assert _params(pg3.url)["niveau"] == ["seconde"]
    assert pg3.locator("[data-testid='stSidebar']").get_by_role("radio", name="Seconde").is_checked()
    ctx3.close()
    # the older documented form, and the issue's own link without a level
    cot = con.execute("SELECT siren, name FROM epci WHERE siren = '200067205'").fetchone()
    ctx4, pg4 = _fresh(browser, warm_app + f"/territoire?niveau=epci&code={cot[0]}")
    assert _title(pg4) == f"Fiche territoire : {cot[1]}"
    assert _params(pg4.url).get("echelon") == ["epci"] and "niveau" not in _params(pg4.url)
    ctx4.close()
    ctx5, pg5 = _fresh(browser, warm_app + "/territoire?code=61168&mode=transit&minutes=45")
    assert _title(pg5) == f"Fiche territoire : {name}"
    ctx5.close()


def _links(con) -> list[tuple[str, str]]:
    uai, school = con.execute(
        "SELECT uai, name FROM schools WHERE commune_code = '14118' AND seconde_pupils IS NOT "
        "NULL ORDER BY seconde_pupils DESC LIMIT 1"
    ).fetchone()
    kind = con.execute("SELECT kind FROM collective_projects GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    orne = con.execute("SELECT name FROM departements WHERE code = '61'").fetchone()[0]
    return [
        ("/?indicateur=offers_per_100_pupils", "par EPCI"),
        ("/couverture?mode=car&minutes=30&niveau_carte=commune&indicateur=median_minutes", "voiture · 30 min"),
        (f"/mobilite_rurale?minutes=30&depuis=school&origine_id={uai}&mode=car", f"depuis {school}"),
        ("/stages_collectifs?type=" + urllib.parse.quote(kind), "de stage collectif sur"),
        ("/territoire?echelon=commune&code=61168&niveau=seconde&mode=bike&minutes=30", "Fiche territoire : La Ferté"),
        ("/rapports?echelle=departement&code=61&mode=walk&minutes=60", orne),
        ("/import", "Importer"),
        ("/donnees?vue=schema", "Schéma de la base"),
    ]


def test_every_page_from_a_shared_link_in_a_fresh_context(browser, warm_app, con):
    """Each page, opened from a link with non-default parameters in a new browser context,
    shows that view: no notice, every parameter kept in the address bar, its key text."""
    for path, text in _links(con):
        ctx, pg = _fresh(browser, warm_app + path)
        body = main_text(pg)
        assert text in body, f"« {text} » absent de {path}"
        assert "Lien de la page" not in body, path
        got = _params(pg.url)
        for k, v in _params(warm_app + path).items():
            assert got.get(k) == v, (path, k, got)
        ctx.close()
    # and a refused value is said, then the default used
    ctx, pg = _fresh(browser, warm_app + "/couverture?minutes=75")
    assert re.search(r"minutes=75.*ignoré", main_text(pg))
    assert _params(pg.url)["minutes"] == ["45"]
    ctx.close()


def test_first_visit_of_a_fresh_server_by_a_shared_link(app_db, browser):
    """Found as a new user (session 4): on a server just (re)started, a shared link opened as
    the first visit showed Streamlit's English dialog "Page not found ... Running the app's main
    page" over the right page (Streamlit's legacy pages-directory mode on a process's first run;
    the test fixtures hid it by opening the home page first). ``make run`` and the test server
    start through ``ui/serve.py``, which turns that mode off before the first run."""
    from tests.appserver import AppServer

    with AppServer(app_db) as server:
        # the page shell is French before any script runs (RGAA 8.3, 8.5; issue 16 leftover)
        with urllib.request.urlopen(server.url + "/territoire?echelon=commune&code=61168", timeout=10) as r:
            shell = r.read().decode("utf-8")
        assert '<html lang="fr">' in shell and "<title>Observatoire des stages — Normandie</title>" in shell
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        open_page(pg, server.url + "/territoire?echelon=commune&code=61168")
        assert_no_exception(pg)
        pg.wait_for_timeout(1500)  # the dialog, when sent, comes with the first run
        dialogs = [d.inner_text() for d in pg.query_selector_all("[role='dialog']")]
        assert dialogs == [], dialogs
        assert "La Ferté Macé" in main_text(pg)
        assert "/territoire" in pg.url and "code=61168" in pg.url
        ctx.close()

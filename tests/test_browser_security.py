"""Browser test of hostile text (issue 12 item 1): no script from the data ever runs.

A temporary copy of the built database gets hostile values:

- through the import, into every text field of the three templates (offers, collective
  projects, mobility services): every row must be quarantined (markup refused), and the
  quarantine (which keeps the raw row) is shown on the Import and Données pages;
- directly in SQL, into the text columns that reach a page (offer towns, sectors, streets and
  sources, collective projects, lycées, communes, EPCI, départements, stops, provenance,
  mobility services), as a database built from hostile sources would hold them.

The app is started on that copy and every page is opened in headless Chromium with an init
script that, in every frame, renders the content of every Leaflet tooltip and popup bound on
the maps (as Leaflet does when a marker is hovered or clicked): the test fails if a dialog
opens (``alert``), if a script error occurs (a value breaking out of a JavaScript template
literal), or if the hostile value is not shown as plain text somewhere in the tooltips.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.appserver import CHROMIUM, AppServer, launch_chromium
from tests.test_browser import _has_travel_times, wait_idle

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")

#: An HTML payload (runs on insertion as HTML), a template-literal payload (runs if a value is
#: written inside backquotes unescaped) and a lone backquote (would break the map's script).
HOSTILE = "<img src=x onerror=\"alert('xss-html')\"> ${alert('xss-tpl')} `"
MARK = "onerror"

#: Every Leaflet tooltip / popup content is rendered into the frame's document as soon as it is
#: bound (hover and click on every marker, in effect); counts are kept in ``window.__obsTips``.
HOOK_JS = r"""
(() => {
  let realL;
  const render = (content) => {
    window.__obsTips = (window.__obsTips || 0) + 1;
    const box = document.createElement('div');
    box.style.display = 'none';
    box.className = 'obs-test-tip';
    if (typeof content === 'string') { box.innerHTML = content; }
    else if (content && content.nodeType) { box.appendChild(content.cloneNode(true)); }
    (document.body || document.documentElement).appendChild(box);
  };
  Object.defineProperty(window, 'L', {
    configurable: true,
    get() { return realL; },
    set(v) {
      realL = v;
      if (v && v.Layer && !v.Layer.prototype.__obsHooked) {
        const bt = v.Layer.prototype.bindTooltip, bp = v.Layer.prototype.bindPopup;
        v.Layer.prototype.bindTooltip = function (c, o) { render(c); return bt.call(this, c, o); };
        v.Layer.prototype.bindPopup = function (c, o) { render(c); return bp.call(this, c, o); };
        v.Layer.prototype.__obsHooked = true;
      }
    },
  });
})();
"""


def _hostile_rows() -> dict[str, str]:
    """One template file per import kind, every text field hostile (CSV ``;``, UTF-8)."""
    h = HOSTILE.replace('"', '""')
    q = f'"{h}"'
    return {
        "offers": "identifiant;employeur;siret;secteur;public;adresse;code_postal;commune;places;"
        "date_debut;date_fin;semaines;niveaux;accessible_handicap\n"
        f'{q};{q};;{q};;{q};14730;"Giberville {h}";2;;;;seconde;\n'
        f"x1;Acme;;Industrie;;{q};14730;Giberville;2;;;;seconde;\n",
        "collective": "project_id;name;kind;kind_basis;town;commune_code;location_basis;sectors;pupils;"
        "period;status;source;note\n"
        f"p1;{q};bi-entreprises;{q};{q};14301;{q};{q};;{q};{q};{q};{q}\n"
        f"p2;Projet;bi-entreprises;;Giberville;14301;;;;;;{q};\n",
        "mobility": "identifiant;siren_epci;type_service;nom;description;conditions;contact;source\n"
        f"s1;200065597;autre;{q};{q};{q};{q};{q}\n",
    }


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A copy of the built database with hostile text everywhere (see the module docstring)."""
    from analysis import config, db, imports

    src = config.default_db_path()
    if not src.exists() or not _has_travel_times(src):
        pytest.skip("base construite absente (python -m analysis.build)")
    out = tmp_path_factory.mktemp("hostile") / "observatoire.duckdb"
    shutil.copyfile(src, out)
    secret = "secret-de-test-assez-long"
    gate = imports.AdminGate(sleep=lambda s: None)
    results = {}
    for kind, text in _hostile_rows().items():
        res = imports.import_file(
            imports.ImportRequest(
                None, kind, data=text.encode("utf-8"), name=f"{kind}_hostile.csv", db_path=out, recompute=False
            ),
            secret=secret,
            secrets={imports.ENV_SECRET: secret},
            gate=gate,
        )
        results[kind] = res
    # every row holds markup in at least one field: all are refused, with the reason
    for kind, res in results.items():
        assert res.accepted == 0 and res.quarantined == res.rows_in > 0, (kind, res.summary())
        reasons = " ".join(res.quarantine["reason"])
        assert "balises HTML refusées" in reasons, (kind, reasons)
    con = db.connect(out)
    try:
        p = HOSTILE.replace("'", "''")
        for table, cols in {
            "offers": ["town", "sector", "street", "source"],
            "collective_projects": [
                "name",
                "kind_basis",
                "town",
                "sectors",
                "period",
                "status",
                "location_basis",
                "source",
                "note",
            ],
            "schools": ["name"],
            "communes": ["name"],
            "epci": ["name"],
            "departements": ["name"],
            "transit_stops": ["name"],
            "territory_indicators": ["name"],
            "accessibility": ["origin_name"],
            "provenance": ["description", "publisher", "path"],
        }.items():
            sets = ", ".join(f"{c} = coalesce({c}, '') || ' {p}'" for c in cols)
            con.execute(f"UPDATE {table} SET {sets}")
        con.execute(
            "INSERT INTO mobility_services SELECT 's-hostile', siren, name, 'autre', ?, ?, ?, ?, ?, "
            "'manual', now() FROM epci LIMIT 3",
            [HOSTILE] * 5,
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return out


@pytest.fixture(scope="module")
def hostile_url(hostile_db):
    """The app on the hostile copy (:class:`tests.appserver.AppServer`), import writing disabled."""
    with AppServer(hostile_db, unset=["OBSERVATOIRE_ADMIN_SECRET"]) as server:
        yield server.url


def _paths(db_path: Path) -> list[tuple[str, int]]:
    """Every page (with the URL parameters that draw all of its maps) and its number of maps."""
    from analysis import db

    con = db.connect(db_path, read_only=True)
    try:
        uai = con.execute(
            "SELECT origin_id FROM accessibility WHERE origin_kind = 'school' ORDER BY origin_id LIMIT 1"
        ).fetchone()[0]
        siren = con.execute("SELECT siren FROM epci ORDER BY siren LIMIT 1").fetchone()[0]
        # the planner's map needs the candidate sites' travel times (a build after issue 14)
        plan_maps = int(db.has_relation(con, "site_travel_times"))
    finally:
        con.close()
    return [
        ("/", 1),
        ("/couverture", 1),
        ("/couverture?niveau_carte=commune", 1),
        (f"/mobilite_rurale?depuis=school&origine_id={uai}", 3),
        ("/stages_collectifs", 1),
        (f"/territoire?niveau=epci&code={siren}", 1),
        ("/rapports", 0),
        ("/import", 0),
        ("/planification", plan_maps),
        ("/donnees", 0),
        ("/donnees?vue=quarantaine", 0),
    ]


def test_hostile_text_never_runs_on_any_page(hostile_db, hostile_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.add_init_script(HOOK_JS)
        dialogs: list[str] = []
        errors: list[str] = []
        pg = ctx.new_page()
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(hostile_url + "/")  # first session of a fresh server (streamlit issue #9992)
        wait_idle(pg)
        tips_seen = 0
        shown_as_text = 0
        for path, n_maps in _paths(hostile_db):
            pg.goto(hostile_url + path)
            wait_idle(pg)
            deadline = time.time() + 90
            frames = []
            while time.time() < deadline:
                frames = [h.content_frame() for h in pg.query_selector_all("iframe[src*='st_folium']")]
                frames = [f for f in frames if f is not None]
                drawn = [f for f in frames if f.evaluate("() => window.__obsTips || 0") > 0]
                if len(drawn) >= n_maps:
                    break
                time.sleep(0.5)
            else:
                pg.screenshot(path=str(hostile_db.parent / "echec.png"))
                raise AssertionError(
                    f"{path} : {n_maps} carte(s) attendue(s), tooltips rendus dans "
                    f"{len(drawn)} cadre(s) ; erreurs : {errors[:3]} ; page : "
                    f"{pg.inner_text('[data-testid=stMain]')[:800]}"
                )
            time.sleep(1.0)  # images of the rendered tooltips fail to load: onerror would run now
            for f in frames:
                tips_seen += f.evaluate("() => window.__obsTips || 0")
                shown_as_text += f.evaluate(
                    "(m) => Array.from(document.querySelectorAll('.obs-test-tip'))"
                    ".filter(d => d.textContent.includes(m)).length",
                    MARK,
                )
                # nothing from the data became an element with an event handler
                handlers = f.evaluate(
                    "() => Array.from(document.querySelectorAll('.obs-test-tip *'))"
                    ".filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length"
                )
                assert handlers == 0, f"{path} : {handlers} élément(s) avec gestionnaire d'événement"
            assert not pg.query_selector_all("[data-testid='stException']"), path
            assert not dialogs, f"{path} : script exécuté ({dialogs})"
            assert not errors, f"{path} : erreur JavaScript ({errors[:3]})"
        assert tips_seen > 100  # the oracle did run over the maps' tooltips and popups
        assert shown_as_text > 0  # the hostile value is shown, as text
        # the quarantine of the hostile imports is shown as text too
        pg.goto(hostile_url + "/import")
        wait_idle(pg)
        assert not dialogs and not errors
        browser.close()

"""Browser benchmark of the dashboard: page open time and filter re-render time, per page.

Starts ``streamlit run app.py`` on a free port (or uses ``--url``), opens every page in headless
Chromium (Playwright) and prints, per page:

- ``ouverture`` : time from navigation until Streamlit is idle and every map and chart is
  drawn, on the first visit in a fresh browser context (empty browser cache: Streamlit's
  scripts, Leaflet, plotly.js are downloaded and compiled); this is the figure judged against
  the target; ``(2e fois)`` : the same page reloaded (scripts in the browser cache);
- ``filtre`` : time from a filter click until the re-run is finished and the maps and charts
  are redrawn (a map layer updated in place reports when it is drawn);

against the targets (< 3 s open, < 1 s filter) and as a ratio to a baseline measured in the
same run (the Données page, no map, no indicator). The server is measured running: after a
first visit of the home page, the bench waits until its cache warm-up (``ui/warmup.py``) is
over; each page is then opened in a new browser context. Optionally saves screenshots of every page
(``--screenshots docs/screenshots``).

Every figure is the median of ``--runs`` passes over the pages (3 by default; the worst pass is
printed too): on a 2-core machine running both the browser and the server, one open varies by
±0.3–0.5 s from pass to pass.

Usage: ``python bench/browser.py [--url http://127.0.0.1:8501] [--runs 3] [--screenshots DIR]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.appserver import AppServer, ServerStartError, launch_chromium  # noqa: E402

OPEN_TARGET_S = 3.0
FILTER_TARGET_S = 1.0

STATE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
                      return a ? a.getAttribute('data-test-script-state') : null; }"""
#: Maps (st_folium iframes) and charts of the page. ``maps``: heights of the map iframes (a
#: map's iframe gets its height once Leaflet has run). ``stamps``: ``window.obsDrawn`` of each
#: component iframe (maps, sandboxed in an opaque origin: the ``data-obs-drawn`` their iframe gets) (epoch ms, set by the app's maps and charts just after drawing, including a
#: map layer updated in place). ``pending``: charts not drawn yet (Plotly or Vega-Lite without
#: their SVG/canvas, a plotly.js component iframe without its plot).
DRAWN_JS = """() => {
  const frames = Array.from(document.querySelectorAll(
      'iframe[src*="st_folium"], iframe[srcdoc]'));
  const maps = frames.filter(f => (f.getAttribute('src') || '').includes('st_folium'))
                     .map(f => f.offsetHeight);
  const stamps = [];
  let pending = 0;
  for (const f of frames) {
    let w = null, d = null, own = null;
    try { w = f.contentWindow; d = f.contentDocument; } catch (e) { continue; }
    // a map frame is sandboxed (opaque origin): its time comes on its iframe (ui.a11y)
    try { own = w && w.obsDrawn; } catch (e) { own = null; }
    if (!own && f.getAttribute('data-obs-drawn')) own = Number(f.getAttribute('data-obs-drawn'));
    if (own) stamps.push(own);
    if (f.hasAttribute('srcdoc') && (!d || d.readyState !== 'complete'
        || (d.querySelector('#chart') && !d.querySelector('#chart .main-svg')))) pending++;
  }
  for (const c of document.querySelectorAll(
      '[data-testid="stPlotlyChart"], [data-testid="stVegaLiteChart"]'))
    if (!c.querySelector('.main-svg, canvas, svg')) pending++;
  return {maps: maps, stamps: stamps, pending: pending};
}"""


def start_server() -> AppServer:
    """The app on a free port (:class:`tests.appserver.AppServer`, the browser tests' helper)."""
    try:
        return AppServer().start()
    except ServerStartError:
        raise SystemExit("Le serveur Streamlit n'a pas démarré.") from None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux ``/proc``), None if unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def wait_server_idle(proc: subprocess.Popen | None, timeout: float = 60.0) -> None:
    """Wait until the server has finished warming its caches (``ui/warmup.py``, a few seconds
    of CPU after the first visit): less than 0.05 s of CPU used during one second. Without the
    server's process (``--url``), wait 8 s."""
    if proc is None or _cpu_seconds(proc.pid) is None:
        time.sleep(8)
        return
    deadline = time.time() + timeout
    last = _cpu_seconds(proc.pid)
    while time.time() < deadline:
        time.sleep(1.0)
        now = _cpu_seconds(proc.pid)
        if now is None or last is None or now - last < 0.05:
            return
        last = now


def wait_done(
    pg, n_maps: int, started: float, timeout: float = 60.0, saw_running: bool = False, before: str | None = None
) -> float:
    """Seconds from ``started`` until the page is complete: the script is idle, ``n_maps`` maps
    and every chart are drawn, and this holds for 0.3 s.

    With ``before`` (the page text before a filter click), the page text must also have
    changed: a fragment re-run can be too quick for its "running" state to be seen. The time
    returned is the later of the first instant of the stable idle state and the last map or
    chart drawing reported by the page after ``started`` (a map layer updated in place is
    drawn after the script run ends), not the end of the wait.
    """
    deadline = started + timeout
    idle_since = None
    last = None
    while time.time() < deadline:
        state = pg.evaluate(STATE_JS)
        if state == "running":
            saw_running = True
        elif before is not None and not saw_running:
            saw_running = pg.inner_text("[data-testid='stMain']") != before
        drawn = pg.evaluate(DRAWN_JS)
        heights = drawn["maps"]
        ready = (
            state == "notRunning"
            and saw_running
            and pg.query_selector("h1") is not None
            and drawn["pending"] == 0
            and (len(heights) >= n_maps and all(h > 100 for h in heights[:n_maps]))
        )
        stamps = [x / 1000.0 for x in drawn["stamps"] if x / 1000.0 >= started]
        now = time.time()
        if ready and (last is None or stamps == last):
            idle_since = idle_since or now
            if now - idle_since >= 0.3:
                return max([idle_since] + stamps) - started
        else:
            idle_since = None
        last = stamps
        time.sleep(0.03)
    raise TimeoutError(
        f"page non terminée : état {pg.evaluate(STATE_JS)}, cartes et graphiques "
        f"{pg.evaluate(DRAWN_JS)}, titre {pg.query_selector('h1') is not None}"
    )


#: (path, title, number of maps, filter action description, (prepare, action)): the timer
#: starts after ``prepare`` (e.g. opening a drop-down list), just before the decisive click.
def _radio(label: str):
    return (lambda pg: None, lambda pg: pg.get_by_text(label, exact=True).first.click())


def _select(label: str, option: str):
    def prepare(pg):
        pg.locator("[data-testid='stSidebar']").get_by_role("combobox", name=label).click()
        pg.get_by_role("option", name=option, exact=True).wait_for()

    return (prepare, lambda pg: pg.get_by_role("option", name=option, exact=True).click())


PAGES = [
    ("/donnees", "Données (référence)", 0, "vue « Lignes rejetées »", _radio("Lignes rejetées")),
    ("/", "Accueil", 1, "indicateur « offres pour 100 élèves »", _radio("Offres situées pour 100 élèves")),
    ("/couverture", "Couverture", 1, "mode → voiture", _select("Mode de déplacement", "Voiture")),
    (
        "/couverture?niveau_carte=commune",
        "Couverture (communes)",
        1,
        "mode → vélo",
        _select("Mode de déplacement", "Vélo"),
    ),
    (
        "/mobilite_rurale",
        "Mobilité rurale",
        2,
        "classement des lycées → voiture",
        (
            lambda pg: None,
            lambda pg: (
                pg.get_by_role("radiogroup", name="Mode pour le classement").get_by_text("Voiture", exact=True).click()
            ),
        ),
    ),
    # section 4 drawn: a shared link with a chosen lycée (the largest of Caen, read from the base)
    (
        "/mobilite_rurale?depuis=school&origine_id={caen_lycee}",
        "Mobilité (lycée choisi)",
        3,
        "section 4 : mode → voiture",
        (
            lambda pg: None,
            lambda pg: pg.get_by_role("radiogroup", name="Mode", exact=True).get_by_text("Voiture", exact=True).click(),
        ),
    ),
    (
        "/stages_collectifs",
        "Stages collectifs",
        1,
        "fond → offres pour 100 élèves",
        _radio("Offres situées pour 100 élèves"),
    ),
    ("/territoire", "Territoire", 1, "mode → voiture", _select("Mode de déplacement", "Voiture")),
]


#: Pages only pictured (``--screenshots``), not timed.
SCREENSHOT_ONLY = ["/rapports", "/import"]


def save_screenshot(pg, url: str, path: str, n_maps: int, out: Path) -> None:
    """Full-page PNG of ``path`` under ``out`` (named after the page)."""
    out.mkdir(parents=True, exist_ok=True)
    pg.goto(url + path)
    wait_done(pg, n_maps, time.time())
    time.sleep(1.5)
    h = pg.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.scrollHeight : 1000; }"
    )
    pg.set_viewport_size({"width": 1400, "height": min(int(h) + 40, 8000)})
    time.sleep(1.5)
    name = path.strip("/") or "accueil"
    pg.screenshot(path=str(out / f"{name}.png"), full_page=True)


def _caen_lycee() -> str:
    """UAI of the lycée of Caen with the most seconde pupils (from the built database)."""
    from analysis import config, db

    con = db.connect(config.default_db_path(), read_only=True)
    try:
        return con.execute(
            "SELECT uai FROM schools WHERE commune_code = '14118' AND seconde_pupils "
            "IS NOT NULL ORDER BY seconde_pupils DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="application déjà lancée (sinon démarrée ici)")
    p.add_argument("--screenshots", help="dossier où enregistrer une capture de chaque page")
    p.add_argument(
        "--runs", type=int, default=3, help="passes sur toutes les pages ; chaque chiffre est la médiane des passes (3)"
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        help="ne mesurer que les pages dont le titre contient ce texte (répétable ; "
        "la page de référence est toujours mesurée)",
    )
    args = p.parse_args(argv)

    from playwright.sync_api import sync_playwright

    server = None
    url = args.url
    if not url:
        server = start_server()
        url = server.url
    runs: dict[str, tuple[str, list[tuple[float, float, float]]]] = {}
    try:
        with sync_playwright() as pw:
            b = launch_chromium(pw)
            warm = b.new_page()
            warm.goto(url + "/")  # first session of a fresh server (streamlit issue #9992)
            wait_done(warm, 1, time.time())
            warm.close()
            wait_server_idle(server.proc if server else None)  # measure a running server, not its start-up warm-up
            caen_lycee = _caen_lycee()
            pages = [
                (p[0].format(caen_lycee=caen_lycee), *p[1:])
                for k, p in enumerate(PAGES)
                if k == 0 or not args.only or any(o.lower() in p[1].lower() for o in args.only)
            ]
            for rnd, (path, title, n_maps, what, action) in [(r, page) for r in range(args.runs) for page in pages]:
                print(f"… {title} (passe {rnd + 1}/{args.runs})", file=sys.stderr, flush=True)
                ctx = b.new_context(viewport={"width": 1400, "height": 1000})
                pg = ctx.new_page()
                t0 = time.time()
                pg.goto(url + path)
                t_open = wait_done(pg, n_maps, t0)
                t0 = time.time()
                pg.goto(url + path)
                t_open2 = wait_done(pg, n_maps, t0)
                action[0](pg)
                before = pg.inner_text("[data-testid='stMain']")
                t0 = time.time()
                action[1](pg)
                t_filter = wait_done(pg, n_maps, t0, before=before)
                runs.setdefault(title, (what, []))[1].append((t_open, t_open2, t_filter))
                if args.screenshots and rnd == 0 and "?" not in path:
                    save_screenshot(pg, url, path, n_maps, Path(args.screenshots))
                ctx.close()
            if args.screenshots:  # pages without a timing target (no map), pictured too
                for path in SCREENSHOT_ONLY:
                    ctx = b.new_context(viewport={"width": 1400, "height": 1000})
                    save_screenshot(ctx.new_page(), url, path, 0, Path(args.screenshots))
                    ctx.close()
            b.close()
    finally:
        if server is not None:
            server.stop()

    # each figure is the median of the runs (pages measured in turn, run after run)
    rows = []
    for title, (what, values) in runs.items():
        cols = list(zip(*values))
        rows.append(
            (
                title,
                *(statistics.median(c) for c in cols[:2]),
                what,
                statistics.median(cols[2]),
                max(cols[0]),
                max(cols[2]),
            )
        )
    base_open, base_filter = rows[0][1], rows[0][4]
    print(f"{'page':<24} {'ouverture':>10} {'/réf':>6} {'(2e fois)':>10}  {'filtre':>7} {'/réf':>6}  action")
    for title, t_open, t_open2, what, t_filter, worst_open, worst_filter in rows:
        ok_o = "ok" if t_open < OPEN_TARGET_S else "LENT"
        ok_o2 = "ok" if t_open2 < OPEN_TARGET_S else "LENT"
        ok_f = "ok" if t_filter < FILTER_TARGET_S else "LENT"
        print(
            f"{title:<24} {t_open:>9.2f}s {t_open / base_open:>5.1f}x {t_open2:>9.2f}s  "
            f"{t_filter:>6.2f}s {t_filter / base_filter:>5.1f}x  {what} "
            f"[ouverture {ok_o} < {OPEN_TARGET_S:g} s (2e fois {ok_o2}), "
            f"filtre {ok_f} < {FILTER_TARGET_S:g} s] (pire passe : ouverture {worst_open:.2f} s, "
            f"filtre {worst_filter:.2f} s)"
        )
    print(
        f"Référence : page Données (sans carte), ouverture {base_open:.2f} s, "
        f"filtre {base_filter:.2f} s. Machine : {os.cpu_count()} cœurs, charge "
        f"{os.getloadavg()[0]:.2f} (1 min) à la fin."
    )
    print(
        "« ouverture » : première visite dans un navigateur neuf (cache vide), jugée par "
        "rapport à la cible ; « (2e fois) » : même page rechargée, scripts en cache."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Accessibility audit of the dashboard (issue 16, RGAA): axe-core in headless Chromium.

Every page of the navigation (read from ``app.PAGES``, so a page added later is audited too)
and a few views reached by the URL are opened in the real app (the server, browser and helpers
of ``tests/test_browser.py``); the axe-core engine shipped by the ``axe-playwright-python``
package is injected into the page *and* into each of its frames (maps, charts, components) and
run there. The test fails on any *serious* or *critical* finding, on a *moderate* finding of
the rules of ``ALWAYS_BLOCKING`` (``heading-order``: a heading level skipped), on a document or frame whose
``<html>`` is not ``lang="fr"`` (RGAA 8.3), and on a frame without a ``<title>`` or an
``<iframe>`` without a title (RGAA 2.1, 8.5).

The keyboard tests walk the page with ``Tab`` as a user would: the first stop is the skip link,
which moves the focus to the content; the focus is visible (an outline); the Tab key leaves a
map (no trap) after its layer toggles.

What axe cannot check is listed in ``docs/accessibility.md``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# the app server, browser and page fixtures and helpers of the browser suite (this module gets
# its own server: the fixtures are module-scoped)
import test_browser as _tb  # noqa: E402

CHROMIUM = _tb.CHROMIUM
open_page, wait_idle, assert_no_exception = _tb.open_page, _tb.wait_idle, _tb.assert_no_exception
app_db, app_url, browser, warm_app, page = _tb.app_db, _tb.app_url, _tb.browser, _tb.warm_app, _tb.page

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")

ROOT = HERE.parent
BLOCKING = ("serious", "critical")
#: Rules whose findings fail the audit whatever their impact (``heading-order`` is *moderate*:
#: a page going from its title, h1, to an h3 skips a level of the outline, RGAA 9.1).
ALWAYS_BLOCKING = ("heading-order",)


def _nav_paths() -> list[str]:
    """URL paths of every page of the navigation (``app.PAGES``), home first."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import app

    return ["/"] + ["/" + url for path, _t, url, _i in app.PAGES if (ROOT / path).exists()]


#: Views reached by the URL that show other content than the page's default one.
EXTRA_VIEWS = [
    "/donnees?vue=schema",
    "/donnees?vue=rejets",
    "/donnees?vue=quarantaine",
    "/territoire?niveau=commune&code=50129",
]
VIEWS = _nav_paths() + EXTRA_VIEWS


def _axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def frames_of(pg) -> list:
    """The page's main frame and the frames of its ``<iframe>`` elements (found in the DOM:
    Playwright's ``page.frames`` was seen to miss same-origin component frames until one of
    them was asked for by its element)."""
    out = [pg.main_frame]
    for el in pg.query_selector_all("iframe"):
        try:
            f = el.content_frame()
        except Exception:  # noqa: BLE001 - element detached meanwhile
            f = None
        if f is not None and f not in out:
            out.append(f)
    return out


def settle(pg, timeout: float = 30.0) -> None:
    """Wait until the script is idle and every frame has loaded and drawn (maps: Leaflet
    container present; charts: their SVG)."""
    wait_idle(pg)
    # the page's accessibility script (ui.a11y) comes as a lazily loaded chunk, seconds later on
    # a loaded machine: wait for it (up to the timeout; without it the checks below fail)
    try:
        pg.wait_for_function(
            "() => document.documentElement.lang === 'fr' && !!document.querySelector('a.obs-skip')",
            timeout=timeout * 1000,
        )
    except Exception:  # noqa: BLE001 - reported by the audit itself
        pass
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready = True
        for f in frames_of(pg)[1:]:
            try:
                state = f.evaluate(
                    "() => document.readyState === 'complete' && "
                    "(!document.querySelector('#chart') || !!document.querySelector('#chart .main-svg'))"
                    " && (!document.querySelector('#root') || !!document.querySelector("
                    "'.leaflet-container') || !document.querySelector('script[src*=leaflet]'))"
                )
            except Exception:  # noqa: BLE001 - frame detached while loading
                state = False
            ready = ready and bool(state)
        if ready:
            break
        time.sleep(0.3)
    time.sleep(0.5)


def audit(pg) -> list[str]:
    """axe-core on the page and on each of its frames: the serious and critical findings and
    those of :data:`ALWAYS_BLOCKING` (``where: rule (impact) × n — target``), plus the lang /
    title checks of each document."""
    axe = _axe()
    problems: list[str] = []
    options = {"resultTypes": ["violations"], "iframes": False}
    frames = frames_of(pg)
    n_iframes = pg.evaluate("() => document.querySelectorAll('iframe').length")
    if len(frames) - 1 != n_iframes:
        problems.append(f"page: {n_iframes} iframe(s) mais {len(frames) - 1} cadre(s) audité(s)")
    for k, frame in enumerate(frames):
        where = "page" if k == 0 else f"cadre {k} ({(frame.url or '')[:60]})"
        if frame.is_detached():
            continue
        res = axe.run(frame, options=options).response
        for v in res["violations"]:
            if v["impact"] in BLOCKING or v["id"] in ALWAYS_BLOCKING:
                targets = "; ".join(n["html"][:160] for n in v["nodes"][:3])
                problems.append(f"{where}: {v['id']} ({v['impact']}) × {len(v['nodes'])} — {targets}")
        lang, title = frame.evaluate("() => [document.documentElement.getAttribute('lang'), document.title]")
        if lang != "fr":
            problems.append(f"{where}: <html lang={lang!r}> (attendu « fr »)")
        if not (title or "").strip():
            problems.append(f"{where}: document sans <title>")
    untitled = pg.evaluate(
        "() => Array.from(document.querySelectorAll('iframe'))"
        ".filter(f => !(f.getAttribute('title') || '').trim()).length"
    )
    if untitled:
        problems.append(f"page: {untitled} iframe(s) sans attribut title")
    return problems


@pytest.mark.parametrize("path", VIEWS, ids=VIEWS)
def test_axe_no_serious_findings(page, app_url, path):
    open_page(page, app_url + path)
    assert_no_exception(page)
    settle(page)
    problems = audit(page)
    assert not problems, f"{path} :\n" + "\n".join(problems)


def test_axe_open_table_alternatives(page, app_url):
    """The table alternatives of the maps (expanders, interactive grids) are audited open."""
    open_page(page, app_url + "/mobilite_rurale")
    for exp in page.locator("[data-testid='stExpander'] summary").all()[:2]:
        exp.click()
        wait_idle(page)
    settle(page)
    problems = audit(page)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------
# keyboard
# ------------------------------------------------------------------------------------------

#: Description of the focused element, descending into same-origin frames: tag, role, name,
#: whether it is inside a frame (and which), and whether its focus is drawn (outline or ring).
FOCUS_JS = """() => {
  let doc = document, el = document.activeElement, frame = null;
  while (el && el.tagName === 'IFRAME') {
    frame = el.getAttribute('title') || '';
    // a sandboxed frame (maps: opaque origin) has no document for the page: see focused()
    let d = null;
    try { d = el.contentDocument; } catch (e) { d = null; }
    if (!d) break;
    doc = d; el = doc.activeElement;
  }
  if (!el) return null;
  const cs = doc.defaultView.getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
  const ring = cs.boxShadow && cs.boxShadow !== 'none';
  const name = (el.getAttribute('aria-label') || el.getAttribute('title')
                || (el.labels && el.labels[0] && el.labels[0].textContent)
                || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const r = el.getBoundingClientRect();
  return {tag: el.tagName.toLowerCase(), cls: (el.className && el.className.baseVal === undefined
          ? el.className : '').toString().slice(0, 60), role: el.getAttribute('role') || '',
          type: el.getAttribute('type') || '', name: name, frame: frame,
          visible: outline || !!ring, size: r.width * r.height};
}"""


#: Name of a map's folded layer control (``ui.mapping``): Enter opens it.
LAYERS_TOGGLE = "Couches de la carte"


def focused(pg) -> dict | None:
    """The focused element (``FOCUS_JS``), looking inside a sandboxed frame too: the map frames
    are in an opaque origin (``ui.serve``), which the page's script cannot enter."""
    stop = pg.evaluate(FOCUS_JS)
    if stop and stop["tag"] == "iframe":
        el = pg.evaluate_handle("() => document.activeElement").as_element()
        inner = el.content_frame() if el is not None else None
        sub = inner.evaluate(FOCUS_JS) if inner is not None else None
        if sub:
            sub["frame"] = stop["frame"]
            return sub
    return stop


def tab_walk(pg, steps: int, open_layers: bool = False) -> list[dict]:
    """Press Tab ``steps`` times; the focused element after each press (see ``FOCUS_JS``).
    ``open_layers``: on a map's folded layer control, press Enter (as a user would to open it;
    the stop is then marked ``entered``)."""
    out = []
    for _ in range(steps):
        pg.keyboard.press("Tab")
        time.sleep(0.08)
        stop = focused(pg)
        if open_layers and stop and stop["name"].startswith(LAYERS_TOGGLE):
            pg.keyboard.press("Enter")
            time.sleep(0.2)
            stop["entered"] = True
        out.append(stop)
    return out


def describe(stop: dict | None) -> str:
    if stop is None:
        return "(rien)"
    where = f" [cadre « {stop['frame']} »]" if stop["frame"] else ""
    kind = stop["role"] or stop["type"] or stop["tag"]
    return f"{kind} « {stop['name']} »{where}" + (" — Entrée" if stop.get("entered") else "")


def test_skip_link_first_and_moves_focus_to_content(page, app_url):
    open_page(page, app_url + "/couverture")
    settle(page)
    first = tab_walk(page, 1)[0]
    assert first["tag"] == "a" and first["name"] == "Aller au contenu", describe(first)
    assert first["visible"], "lien d'évitement sans focus visible"
    box = page.locator("a.obs-skip").bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 50, f"lien d'évitement hors de l'écran : {box}"
    page.keyboard.press("Enter")
    focused = page.evaluate(
        "() => [document.activeElement.tagName, "
        "!!document.activeElement.closest('[data-testid=\"stMain\"]'), "
        "document.activeElement.textContent]"
    )
    assert focused[0] == "H1" and focused[1], focused
    # the next Tab goes on inside the content, not back to the sidebar
    nxt = tab_walk(page, 1)[0]
    assert nxt is not None
    in_main = page.evaluate("() => !!document.activeElement.closest('[data-testid=\"stMain\"]')")
    assert in_main, describe(nxt)


def test_tab_reaches_layer_toggles_and_leaves_the_map(page, app_url):
    """Couverture: Tab goes into the map (zoom buttons, the layer control, opened with Enter,
    and its checkboxes), then out of it to the controls below (no trap); every stop on the
    page shows its focus."""
    open_page(page, app_url + "/couverture")
    settle(page)
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Enter")
    stops = tab_walk(page, 40, open_layers=True)
    log = "\n".join(f"{k + 1:2d}. {describe(s)}" for k, s in enumerate(stops))
    print("\nParcours clavier /couverture (après le lien d'évitement) :\n" + log)
    in_map = [k for k, s in enumerate(stops) if s and (s["frame"] or "").startswith("Carte")]
    assert in_map, "la carte n'est jamais atteinte au clavier :\n" + log
    toggles = [k for k in in_map if stops[k]["type"] == "checkbox"]
    assert toggles, "aucune case de couche atteinte :\n" + log
    after = [k for k, s in enumerate(stops) if k > in_map[0] and s and not s["frame"]]
    assert after, "le focus reste dans la carte (piège au clavier) :\n" + log
    stops_in_map = after[0] - in_map[0]
    assert stops_in_map <= 12, f"{stops_in_map} arrêts Tab dans la carte :\n" + log
    assert all(k < after[0] for k in toggles[:1]), log
    hidden = [describe(s) for s in stops if s and not s["frame"] and s["size"] > 0 and not s["visible"]]
    assert not hidden, "focus non visible sur : " + ", ".join(hidden)


def test_lang_fr_once_content_is_shown_and_kept(browser, warm_app):
    """What assistive technologies get at load. Streamlit's ``index.html`` says ``lang="en"``
    and the page's first element sets ``fr``: a MutationObserver in the page records the
    ``lang`` of the document when the content's first heading is inserted, when ``lang``
    becomes ``fr`` and any later change. ``fr`` must be set and never reverted, on a first
    visit (cold cache) and on the next one. The delays are printed, not asserted (timings belong
    to bench/); they are reported in docs/accessibility.md."""
    ctx = browser.new_context()
    ctx.add_init_script("""
      window.__obs = {changes: []};
      new MutationObserver(function () {
        var now = performance.now(), lang = document.documentElement.getAttribute('lang');
        if (window.__obs.title === undefined
            && document.querySelector('[data-testid="stMain"] h1')) {
          window.__obs.title = now;
          window.__obs.langAtTitle = lang;
        }
        var c = window.__obs.changes;
        if (!c.length || c[c.length - 1] !== lang) { c.push(lang); }
        if (window.__obs.fr === undefined && lang === 'fr') { window.__obs.fr = now; }
      }).observe(document, {childList: true, subtree: true, attributes: true,
                            attributeFilter: ['lang']});""")
    try:
        for visit in ("première visite", "visite suivante"):
            pg = ctx.new_page()
            open_page(pg, warm_app + "/donnees")
            settle(pg)
            obs = pg.evaluate("() => window.__obs")
            assert obs.get("fr") is not None, obs
            print(
                f"\n{visit} : lang={obs.get('langAtTitle')} à l'affichage du titre, "
                f"« fr » {obs['fr'] - obs['title']:.0f} ms après ; suite : {obs['changes']}"
            )
            # once French, the document stays French (no re-render puts "en" back)
            assert obs["changes"][obs["changes"].index("fr") :] == ["fr"], obs["changes"]
            assert pg.evaluate("() => document.documentElement.lang") == "fr"
            pg.close()
    finally:
        ctx.close()

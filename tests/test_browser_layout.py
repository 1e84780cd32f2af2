"""Layout checks in headless Chromium (issue 11 items 5 and 11): bounding boxes of the map
overlays against the projected positions of the coast, the scale bar and each other; popups
clear of the zoom buttons; tables and links not cut.

Uses the server and browser fixtures of ``tests/test_browser.py`` (real built database).
"""

from __future__ import annotations

import time

import pytest
from test_browser import (  # noqa: F401 - pytest fixtures
    CHROMIUM,
    app_db,
    app_url,
    browser,
    map_frames,
    open_page,
    page,
    warm_app,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")

#: Points of the coast and of the southern edge that no overlay may cover (lat, lon).
LANDMARKS = [
    ("Cap de la Hague", 49.715, -1.940),
    ("Barfleur", 49.671, -1.264),
    ("Le Tréport", 50.060, 1.373),
    ("Dieppe", 49.925, 1.078),
    ("Fécamp", 49.757, 0.374),
    ("Étretat", 49.707, 0.205),
    ("Alençon", 48.432, 0.091),
    ("Mortagne-au-Perche", 48.520, 0.547),
    ("Verneuil d'Avre et d'Iton", 48.739, 0.927),
    ("Mortain", 48.648, -0.940),
    ("Avranches", 48.684, -1.357),
    ("Vernon", 49.093, 1.485),
]
OVERLAYS = ".obs-legend, .leaflet-control-layers, .leaflet-control-zoom, .leaflet-control-scale"

GEOMETRY_JS = """([pts, sel]) => {
  const k = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  const map = window[k];
  const c = map.getContainer().getBoundingClientRect();
  const out = pts.map(([n, la, lo]) => {
    const p = map.latLngToContainerPoint([la, lo]); return [n, p.x + c.left, p.y + c.top]; });
  const rects = Array.from(document.querySelectorAll(sel)).map(e => {
    const r = e.getBoundingClientRect();
    return [e.className.split(' ')[0], r.left, r.top, r.right, r.bottom]; });
  return {pts: out, rects: rects, box: [c.left, c.top, c.right, c.bottom]};
}"""

OPEN_TOP_LEFT_POPUP_JS = """() => {
  const k = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
  const map = window[k];
  let best = null;
  map.eachLayer(l => {
    if (l instanceof L.CircleMarker && l.getPopup && l.getPopup()) {
      const a = l.getLatLng();
      if (!best || a.lat - a.lng > best.getLatLng().lat - best.getLatLng().lng) best = l;
    }
  });
  best.openPopup();
  return best.getLatLng().lng;
}"""


def _overlap(a, b, margin: float = 0.0) -> bool:
    return not (a[2] <= b[0] - margin or b[2] <= a[0] - margin or a[3] <= b[1] - margin or b[3] <= a[1] - margin)


def _geometry(frame):
    return frame.evaluate(GEOMETRY_JS, [[list(p) for p in LANDMARKS], OVERLAYS])


@pytest.mark.parametrize("path", ["/couverture", "/stages_collectifs", "/"])
def test_overlays_cover_no_coast_nor_each_other(page, app_url, path):  # noqa: F811
    open_page(page, app_url + path)
    frame = map_frames(page, 1)[0]
    time.sleep(1.0)
    g = _geometry(frame)
    rects = g["rects"]
    assert any(r[0] == "leaflet-control-scale" for r in rects)
    for name, x, y in g["pts"]:
        assert g["box"][0] <= x <= g["box"][2] and g["box"][1] <= y <= g["box"][3], name
        for r in rects:
            assert not (r[1] - 4 <= x <= r[3] + 4 and r[2] - 4 <= y <= r[4] + 4), (name, r[0])
    boxes = [r for r in rects]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not _overlap(a[1:], b[1:]), (a[0], b[0])  # e.g. legend over the scale bar
    # layer control folded into its button (open, it covered the Seine-Maritime coast)
    for r in rects:
        if r[0] == "leaflet-control-layers":
            assert r[3] - r[1] < 60 and r[4] - r[2] < 60
    # the scale bar is in kilometres only
    scale = frame.inner_text(".leaflet-control-scale")
    assert "km" in scale or " m" in scale
    assert "mi" not in scale and "ft" not in scale


def test_background_legend_matches_map_colours(page, app_url):  # noqa: F811
    """Stages collectifs: the background is opaque, so the legend's swatches are the colours
    seen on the map (at 55 % opacity the greys did not match); « non précisé » markers are
    dark (white ones vanished on white areas)."""
    open_page(page, app_url + "/stages_collectifs")
    frame = map_frames(page, 1)[0]
    time.sleep(1.0)
    swatches = frame.evaluate("""() => Array.from(document.querySelectorAll('.obs-legend'))
        .map(l => Array.from(l.querySelectorAll('span[style*="background"]'))
             .map(s => [getComputedStyle(s).backgroundColor, getComputedStyle(s).opacity,
                        s.nextElementSibling ? s.nextElementSibling.textContent : '']))""")
    flat = [s for legend in swatches for s in legend]
    greys = [s for s in flat if "%" in s[2]]
    assert len(greys) == 5 and all(float(s[1]) == 1.0 for s in greys)
    assert not any("sans donnée" in s[2] for s in flat)  # every EPCI has a value
    unspecified = [s for s in flat if s[2] == "non précisé"][0]
    r, g_, b = [int(x) for x in unspecified[0][4:-1].split(",")[:3]]
    assert max(r, g_, b) < 80  # dark on white and on the light greys


def test_popup_not_under_zoom_buttons(page, app_url):  # noqa: F811
    open_page(page, app_url + "/stages_collectifs")
    frame = map_frames(page, 1)[0]
    time.sleep(1.0)
    lng = frame.evaluate(OPEN_TOP_LEFT_POPUP_JS)
    assert lng < -1.5  # a project of the Cotentin, near the top-left corner
    time.sleep(1.5)  # auto-pan animation
    popup = frame.evaluate(
        "() => { const r = document.querySelector('.leaflet-popup')"
        ".getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
    )
    zoom = frame.evaluate(
        "() => { const r = document.querySelector('.leaflet-control-zoom')"
        ".getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
    )
    assert not _overlap(popup, zoom), (popup, zoom)


@pytest.mark.parametrize("path", ["/stages_collectifs", "/territoire"])
def test_statut_column_not_cut(page, app_url, path):  # noqa: F811
    open_page(page, app_url + path)
    res = page.evaluate("""() => {
        const th = Array.from(document.querySelectorAll('.obs-table-box th'))
            .find(t => t.textContent.trim() === 'Statut');
        const box = th.closest('.obs-table-box');
        const a = th.getBoundingClientRect(), b = box.getBoundingClientRect();
        return [a.right, b.right, box.scrollWidth, box.clientWidth]; }""")
    assert res[0] <= res[1] + 1, res
    assert res[2] <= res[3] + 1, res  # nothing to scroll to


def test_home_links_and_density_table_not_cut(page, app_url):  # noqa: F811
    open_page(page, app_url + "/")
    cut = page.evaluate("""() => Array.from(document.querySelectorAll(
            '[data-testid="stPageLink"] p, [data-testid="stPageLink"] span'))
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert cut == []
    assert page.locator("[data-testid='stPageLink']").count() >= 7
    open_page(page, app_url + "/mobilite_rurale")
    res = page.evaluate("""() => {
        const box = Array.from(document.querySelectorAll('.obs-table-box'))
            .find(b => b.textContent.includes('Classe de densité'));
        const main = document.querySelector('[data-testid="stMain"] .block-container, '
                                            + '[data-testid="stMainBlockContainer"]');
        return [box.scrollWidth, box.clientWidth, box.getBoundingClientRect().right,
                main.getBoundingClientRect().right]; }""")
    assert res[0] <= res[1] + 1, res  # the density table does not overflow its box
    assert res[2] <= res[3] + 1, res

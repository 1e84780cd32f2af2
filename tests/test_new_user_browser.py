"""Layout at 1,400 px as a new user saw it (issue 20 item 6): the last column of the Couverture and
Planification tables and the long labels of Rapports' key figures are fully visible.

Uses the server and browser fixtures of ``tests/test_browser.py`` (real built database,
viewport 1,400 x 1,000).
"""

from __future__ import annotations

import pytest
from test_browser import (  # noqa: F401 - pytest fixtures
    CHROMIUM,
    app_db,
    app_url,
    browser,
    open_page,
    page,
    warm_app,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium absent")

#: Every HTML table box of the page: [scrollWidth, clientWidth, right of its last header, right of the box,
#: right of the main column].
BOXES_JS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]')
            || document.querySelector('[data-testid="stMain"] .block-container');
  const m = main.getBoundingClientRect().right;
  return Array.from(document.querySelectorAll('.obs-table-box')).map(b => {
    const ths = b.querySelectorAll('th');
    const last = ths[ths.length - 1];
    return [b.scrollWidth, b.clientWidth, last.getBoundingClientRect().right,
            b.getBoundingClientRect().right, m, last.textContent];
  });
}"""


@pytest.mark.parametrize(
    "path, last_header",
    [
        ("/couverture", "Population de l'EPCI en Normandie (%)"),
        ("/planification", "Départs en transports en commun 7 h–8 h 30"),
    ],
)
def test_last_column_visible_at_1400px(page, app_url, path, last_header):  # noqa: F811
    assert page.viewport_size["width"] == 1400
    open_page(page, app_url + path)
    boxes = page.evaluate(BOXES_JS)
    assert any(b[5] == last_header for b in boxes), [b[5] for b in boxes]
    for scroll_w, client_w, th_right, box_right, main_right, head in boxes:
        assert scroll_w <= client_w + 1, (head, scroll_w, client_w)  # nothing hidden to scroll to
        assert th_right <= box_right + 1 <= main_right + 2, (head, th_right, box_right, main_right)


def test_rapports_key_figure_labels_not_cut(page, app_url):  # noqa: F811
    open_page(page, app_url + "/rapports?echelle=departement&code=61")
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('.obs-table-box td'))
        .filter(td => td.textContent.includes('ou à pied (min)'))
        .map(td => [td.textContent, td.scrollWidth, td.clientWidth, td.getBoundingClientRect().right,
                    td.closest('.obs-table-box').getBoundingClientRect().right])""")
    assert cells, "aucun libellé « … ou à pied (min) » dans les chiffres clés"
    for label, scroll_w, client_w, right, box_right in cells:
        assert label.endswith("ou à pied (min)")
        assert scroll_w <= client_w + 1 and right <= box_right + 1, (label, scroll_w, client_w, right, box_right)

"""Hostile input, second round (issue 24 items 2, 3, 7, 8): escaping helpers, the layer
control's labels, the offers' town matcher and the administrator gate's budgets.

The browser side (no script from a name, no link from the address bar) is in
``tests/test_browser_hostile.py``.
"""

from __future__ import annotations

import html
import re
import string
import threading
import time

import folium
import pandas as pd
import pytest

from analysis import imports
from analysis.imports import auth
from analysis.sanitize import WORD_JOINER, html_block_text, markdown_html_text, markdown_text
from analysis.sources import offers

XSS = '<img src=x onerror="window.__xss=1">'
LINK = "[Session expirée : reconnectez-vous ici](http://evil.example/login)"
IMAGE = "![x](http://evil.example/pixel.png)"


# --------------------------------------------------------------------------- item 3: Markdown


def _commonmark_unescape(text: str) -> str:
    """CommonMark's reading of backslash escapes: a backslash before ASCII punctuation is dropped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@pytest.mark.parametrize(
    "value", [LINK, IMAGE, XSS, "**gras** _x_ `code` $x$ :red[rouge] :material/home: www.evil.example a@b.fr # titre"]
)
def test_markdown_text_escapes_every_punctuation_and_reads_back_as_typed(value):
    out = markdown_text(value)
    # every ASCII punctuation character is preceded by a backslash (it then starts no construct)
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", out)
    assert not any(ch in string.punctuation for ch in unescaped), unescaped
    # shown exactly as typed (automatic links broken by an invisible word joiner)
    assert _commonmark_unescape(out).replace(WORD_JOINER, "") == value
    assert "http://" not in out and "www." not in out  # no autolink literal left


def test_markdown_text_breaks_automatic_links():
    """Streamlit's Markdown finds links in the text after reading escapes: « http\\://x » was
    still a link (found by the browser test)."""
    for value, joined in [
        ("http://evil.example/x", "http" + WORD_JOINER),
        ("(HTTPS://evil.example", "HTTPS" + WORD_JOINER),
        ("_www.evil.example", "www" + WORD_JOINER),
        ("contact@evil.example", "@" + WORD_JOINER),
    ]:
        assert joined in _commonmark_unescape(markdown_text(value))
        assert joined in html.unescape(markdown_html_text(value))
    assert WORD_JOINER not in markdown_text("Giberville xhttp://a")  # not a link start: left alone


def test_markdown_text_puts_a_value_on_one_line():
    assert markdown_text("a\n\n[x](http://e.fr)\r\tb") == "a  \\[x\\]\\(http\u2060\\:\\/\\/e\\.fr\\)  b"
    assert markdown_text(None) == "" and markdown_text(float("nan")) == ""


def test_markdown_html_text_uses_character_references():
    out = markdown_html_text(IMAGE + " " + XSS + "\n\nsuite")
    assert not re.search(r"[\[\]()!<>\"\n:]", out), out  # nothing left for Markdown or HTML to read
    assert out.startswith("&#33;&#91;x&#93;&#40;http\u2060&#58;//evil&#46;example")
    assert "&lt;img src&#61;x onerror&#61;&quot;window&#46;&#95;&#95;xss&#61;1&quot;&gt;" in out
    # the references resolve to the text as typed (line breaks as spaces)
    assert html.unescape(out).replace(WORD_JOINER, "") == (IMAGE + " " + XSS + "  suite")


def test_html_block_text_keeps_a_table_cell_on_one_line():
    assert html_block_text("a\n\n![x](http://e.fr)<b>") == "a  ![x](http://e.fr)&lt;b&gt;"
    from analysis.outputs.maps import table_html

    html = table_html(pd.DataFrame({"Commune": ["Caen\n\n" + IMAGE + XSS]}))
    assert "\n\n" not in html and "<img" not in html and "&lt;img" in html


# --------------------------------------------------------------------------- item 2: layer control


def test_layer_control_labels_are_escaped():
    """Old code: folium's LayerControl gave Leaflet the layer names as HTML (innerHTML)."""
    from ui import mapping

    m = folium.Map(tiles=None)
    mapping.FastGeoJson({"type": "FeatureCollection", "features": []}, f"Giberville {XSS}").add_to(m)
    folium.FeatureGroup(name=f"Projet {XSS}").add_to(m)
    ctl = mapping.EscapedLayerControl(collapsed=True)
    ctl.add_to(m)
    page = m.get_root().render()
    labels = list(ctl.overlays)
    assert labels == [
        "Giberville &lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;",
        "Projet &lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;",
    ]
    # the labels reach the page's script as JSON strings of the escaped text
    assert "\\u0026lt;img src=x onerror=\\u0026quot;window.__xss=1" in page
    assert "<img src=x" not in page


def test_every_layer_control_of_the_maps_is_the_escaped_one():
    """No page builds folium's own LayerControl (whose labels are HTML)."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in [root / "app.py", *sorted((root / "pages").glob("*.py")), *sorted((root / "ui").glob("*.py"))]:
        text = path.read_text("utf-8")
        assert "folium.LayerControl(" not in text, path.name


def test_estimate_badge_escapes_its_text(monkeypatch):
    from ui import core

    shown = []
    monkeypatch.setattr(core.st, "markdown", lambda body, **kw: shown.append((body, kw)))
    core.estimate_badge(f"structure {XSS} {IMAGE}")
    body, kw = shown[0]
    assert kw.get("unsafe_allow_html") is True
    assert "<img" not in body and "![" not in body and "](" not in body


# --------------------------------------------------------------------------- item 7: town matcher


def _locate(con, rows):
    df = pd.DataFrame(rows, columns=["town", "postcode"])
    df["source_row"] = range(1, len(df) + 1)
    df["source"] = "test"
    df["raw"] = ""
    located, rejects = offers.locate(con, df)
    return dict(zip(located["source_row"], located["town"])), dict(zip(rejects["row_number"], rejects["reason"]))


def test_town_matcher_refuses_a_town_with_more_than_a_name(base_con):
    """Old code: « Giberville alert(1) » and « Giberville" onmouseover="alert(1) » were placed at
    Giberville (partial rule) and the raw string stored as the offer's town."""
    got, rejected = _locate(
        base_con,
        [
            ("Giberville alert(1)", "14730"),
            ('Giberville" onmouseover="alert(1)', "14730"),
            ("Giberville", "14730"),
            ("Tourlaville - Cherbourg", "50110"),  # both are names of communes of the postcode
            ("Giberville = 1", "14730"),
        ],
    )
    assert got == {3: "Giberville", 4: "Tourlaville - Cherbourg"}
    assert "« alert » n'est dans le nom d'aucune commune de ce code postal" in rejected[1]
    assert 'caractère « " » inattendu dans un nom de commune' in rejected[2]
    assert "caractère « = » inattendu" in rejected[5]


def test_import_quarantines_the_hostile_towns_naming_the_field(base_db):
    data = (
        b"identifiant;employeur;secteur;adresse;code_postal;commune;niveaux\n"
        b"t1;Acme;Industrie;1 rue A;14730;Giberville alert(1);seconde\n"
        b't2;Acme;Industrie;1 rue A;14730;"Giberville"" onmouseover=""alert(1)";seconde\n'
        b"t3;Acme;Industrie;1 rue A;14730;Giberville;seconde\n"
    )
    res = imports.import_file(
        imports.ImportRequest(None, "offers", data=data, name="t.csv", db_path=base_db, dry_run=True)
    )
    assert (res.rows_in, res.accepted, res.quarantined) == (3, 1, 2)
    q = res.quarantine.set_index("row_number")
    assert set(q["field"]) == {"commune"}
    assert "alert" in q.loc[1, "reason"] and "inattendu" in q.loc[2, "reason"]


# --------------------------------------------------------------------------- item 8: admin gate


SECRET = "secret-de-l-administrateur"


class FakeClock:
    """A monotonic clock that ``sleep`` advances (no real waiting)."""

    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.waits.append(s)
        self.now += s


@pytest.fixture()
def admin_secret(monkeypatch, tmp_path):
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(tmp_path / "absent.toml"))
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)


def test_client_key_is_never_per_session():
    """Old code: no address (loopback, so a reverse proxy on the same host) gave a key per
    browser session: every session started afresh."""
    assert auth.client_key(None) == auth.client_key(None) == "ip:local"
    assert auth.client_key("203.0.113.9") == "ip:203.0.113.9"
    # X-Forwarded-For is ignored unless proxies are trusted (it can be forged)
    assert auth.client_key(None, "198.51.100.1") == "ip:local"
    # behind one trusted proxy: the entry it wrote (the rightmost), not what the client forged
    assert auth.client_key(None, "6.6.6.6, 198.51.100.1", proxies=1) == "ip:198.51.100.1"
    assert auth.client_key(None, "6.6.6.6, 198.51.100.1, 10.0.0.2", proxies=2) == "ip:198.51.100.1"
    assert auth.client_key(None, None, proxies=1) == "ip:proxy-sans-adresse"


def test_trusted_proxies_setting_is_checked():
    assert auth.trusted_proxies({}) == 0
    assert auth.trusted_proxies({imports.ENV_TRUSTED_PROXIES: " 1 "}) == 1
    for bad in ("oui", "-1", "9"):
        with pytest.raises(imports.WriteDisabled, match="OBSERVATOIRE_TRUSTED_PROXIES"):
            auth.trusted_proxies({imports.ENV_TRUSTED_PROXIES: bad})


def test_global_budget_slows_guessing_from_many_addresses(admin_secret):
    """Old code: one new address per guess (or a new session behind a local proxy) was never slowed."""
    clock = FakeClock()
    gate = imports.AdminGate(sleep=clock.sleep, clock=clock, global_after=20, global_window=3600, max_delay=60)
    for i in range(20):  # one guess per address: no client is slowed by its own failures
        with pytest.raises(imports.AuthError):
            gate.check("essai", key=f"ip:198.51.100.{i}")
    assert clock.waits == []
    assert gate.global_failures() == 20 and gate.delay_for("ip:192.0.2.77") == 1.0
    for i in range(20, 26):
        with pytest.raises(imports.AuthError):
            gate.check("essai", key=f"ip:198.51.100.{i}")
    # 2 ** (g - 20) seconds for g = 20 … 25 global failures
    assert clock.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    # the administrator is slowed as well (bounded), and gets in
    gate.check(SECRET, key="ip:192.0.2.77")
    assert clock.waits[-1] == 60.0
    # an hour after a failure, it no longer counts
    clock.now += 3600
    assert gate.global_failures() == 0 and gate.delay_for("ip:192.0.2.78") == 0.0


def test_per_client_budget_still_applies_and_locks_out(admin_secret):
    clock = FakeClock()
    gate = imports.AdminGate(sleep=clock.sleep, clock=clock, lockout_after=5, lockout_seconds=600, global_after=50)
    for _ in range(5):
        with pytest.raises(imports.AuthError):
            gate.check("essai", key="ip:local")
    assert clock.waits == [1.0, 2.0, 4.0, 8.0]
    with pytest.raises(imports.AuthError, match="Trop de tentatives"):
        gate.check(SECRET, key="ip:local")
    clock.now += 601
    gate.check(SECRET, key="ip:local")
    assert gate.delay_for("ip:local") == 0.0


def test_attempts_of_one_client_are_made_one_at_a_time(admin_secret):
    """Parallel requests (tabs) of one client queue: they cannot all wait the same delay at once."""
    active, peak = [0], [0]
    lock = threading.Lock()

    def sleep(s):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    gate = imports.AdminGate(base_delay=0.01, max_delay=0.01, sleep=sleep)
    with pytest.raises(imports.AuthError):
        gate.check("essai", key="ip:203.0.113.9")
    errors = []

    def attempt():
        try:
            gate.check("essai", key="ip:203.0.113.9")
        except imports.AuthError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4 and peak[0] == 1


def test_plotly_texts_are_escaped_in_the_chart_but_not_in_its_table():
    """Plotly draws ``<a href>`` in a category as a clickable link (checked in Chromium: the raw
    label gave an ``<a>`` on the axis, the escaped one the text as typed)."""
    import plotly.express as px

    from ui import charts

    label = '<a href="http://evil.example/x">Cliquez</a> & co'
    fig = px.bar(pd.DataFrame({"n": [3, 1], "sector": [label, "Commerce"]}), x="n", y="sector", orientation="h")
    shown = charts.plotly_text_escaped(fig)
    assert list(shown.data[0].y) == ['&lt;a href="http://evil.example/x"&gt;Cliquez&lt;/a&gt; &amp; co', "Commerce"]
    assert list(shown.data[0].x) == [3, 1]
    assert list(fig.data[0].y) == [label, "Commerce"]  # the figure given is unchanged
    assert charts.figure_table(fig).iloc[0, 0] == label  # its table alternative shows the name
    assert '<a href=\\"http' not in charts.figure_html(fig, 300)


def test_only_the_map_component_pages_are_sandboxed():
    from ui import serve

    assert serve.frame_policy("streamlit_folium.st_folium/index.html") == serve.MAP_FRAME_POLICY
    assert serve.frame_policy("streamlit_folium.st_folium/") == serve.MAP_FRAME_POLICY
    assert serve.frame_policy("streamlit_folium.st_folium/static/js/main.521860b0.js") is None
    assert serve.frame_policy("other.component/index.html") is None
    assert "allow-same-origin" not in serve.MAP_FRAME_POLICY and "allow-scripts" in serve.MAP_FRAME_POLICY

"""Pure helpers of the accessibility work (issue 16): WCAG contrast, frame titles and chart
tables. Expected values are hand-computed or published WCAG figures, not read from the code."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from ui import a11y, charts


@pytest.mark.parametrize(
    "fg,bg,expected",
    [
        ("#000000", "#ffffff", 21.0),  # the WCAG maximum
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey passing AA on white (widely cited)
        ("#777777", "#ffffff", 4.48),  # ... and the first one failing it
        ("#999ba1", "#ffffff", 2.77),  # Streamlit's captions as measured by axe-core
    ],
)
def test_contrast_ratio_matches_published_values(fg, bg, expected):
    assert a11y.contrast_ratio(fg, bg) == pytest.approx(expected, abs=0.01)
    assert a11y.contrast_ratio(bg, fg) == pytest.approx(expected, abs=0.01)  # symmetric


def test_colours_of_the_chrome_pass_aa():
    # captions on the page (white) and in the sidebar (#f0f2f6), focus outline on white
    assert a11y.contrast_ratio(a11y.CAPTION_COLOUR, "#ffffff") >= 4.5
    assert a11y.contrast_ratio(a11y.CAPTION_COLOUR, "#f0f2f6") >= 4.5
    assert a11y.contrast_ratio(a11y.FOCUS_COLOUR, "#ffffff") >= 3.0  # non-text contrast (1.4.11)


def test_cluster_label_colours():
    # by hand, #0072B2: G 114/255 -> 0.1683, B 178/255 -> 0.4452 (linearised);
    # L = 0.7152 * 0.1683 + 0.0722 * 0.4452 = 0.1525; white on it: 1.05 / 0.2025 = 5.19
    assert a11y.contrast_ratio("#ffffff", "#0072B2") == pytest.approx(5.19, abs=0.01)
    assert a11y.text_colour("#0072B2") == "#ffffff"
    # #E69F00 (230, 159, 0): L = 0.2126 * 0.7913 + 0.7152 * 0.3467 = 0.4162;
    # black on it: 0.4662 / 0.05 = 9.32, white: 1.05 / 0.4662 = 2.25
    assert a11y.contrast_ratio("#000000", "#E69F00") == pytest.approx(9.32, abs=0.02)
    assert a11y.text_colour("#E69F00") == "#000000"


def test_frame_script_escapes_the_title():
    js = a11y.frame_script('Carte : « A » </script><b>"x"')
    assert "</script>" not in js and "<b>" not in js
    literal = js.split("var t = ", 1)[1].split("; document", 1)[0]
    assert json.loads(literal) == 'Carte : « A » </script><b>"x"'


def test_chart_title_and_table_from_a_horizontal_bar_figure():
    fig = go.Figure(go.Bar(x=[3, 12, 7], y=["Santé", "Commerce", "Sport"], orientation="h"))
    fig.update_layout(xaxis_title="Offres situées (nombre)", yaxis_title="Secteur")
    assert charts.figure_title(fig) == "Graphique : Offres situées (nombre) par secteur"
    tab = charts.figure_table(fig)
    assert list(tab.columns) == ["Secteur", "Offres situées (nombre)"]
    assert tab.values.tolist() == [["Commerce", 12], ["Sport", 7], ["Santé", 3]]
    html = charts.figure_html(fig, 200)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    assert "<title>Graphique : Offres situées (nombre) par secteur</title>" in html


def test_chart_table_absent_for_other_traces():
    fig = go.Figure(go.Pie(labels=["a", "b"], values=[1, 2]))
    assert charts.figure_table(fig) is None
    assert charts.figure_title(fig) == "Graphique"


def test_chrome_script_survives_the_html_sanitiser():
    """st.html passes its HTML through DOMPurify, which removes a <script> whose text contains
    "<" + letter, "/" or "!" (a comment "<label>" once removed the whole script: every page
    stayed lang="en"). The script must have none, and chrome_html refuses one that has."""
    import re

    html = a11y.chrome_html()
    body = html.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    assert not re.search(r"<[/\w!]", body)
    assert "setAttribute('lang', 'fr')" in body


def test_chrome_html_refuses_markup_in_the_script(monkeypatch):
    monkeypatch.setattr(a11y, "_JS", a11y._JS.replace("var doc = document;", "var doc = document; // <b>"))
    with pytest.raises(ValueError):
        a11y.chrome_html()

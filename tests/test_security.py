"""Hostile input (issue 12): escaping, import refusals, spreadsheet formulas, limits, secrets.

Files written by these tests are SYNTHETIC fixtures (hostile names, made-up ids); the
database is the one built from the real mirror (``base_db`` of ``conftest.py``). Expected
values are written by hand from the rules (OWASP CSV injection, HTML escaping), not read
back from the code under test. ``docs/security.md`` maps each promise to its test here.
"""

from __future__ import annotations

import json

import folium
import pandas as pd
import pytest

from analysis import imports, sanitize

XSS = "<img src=x onerror=\"alert('x')\">"


# --------------------------------------------------------------------------- item 1: escaping


def test_html_text_escapes_markup_and_template_literal_characters():
    assert sanitize.html_text(f"Giberville {XSS}") == (
        "Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;")
    # folium writes tooltips and popups inside JavaScript backquotes: ${...} must not survive
    assert sanitize.html_text("a`${alert(1)}\\") == "a&#96;&#36;{alert(1)}&#92;"
    assert sanitize.html_text(None) == "" and sanitize.html_text(float("nan")) == ""
    assert sanitize.html_text(pd.NA) == "" and sanitize.html_text(12) == "12"


def test_js_literal_cannot_close_the_script_element():
    text = sanitize.js_literal({"tip": "</script><script>alert(1)</script>", "q": "l'a & b"})
    assert "<" not in text and ">" not in text and "'" not in text and "&" not in text
    assert json.loads(text) == {"tip": "</script><script>alert(1)</script>", "q": "l'a & b"}


def _cluster_rows(m: folium.Map) -> list[list]:
    from ui import mapping

    layers = [c for c in m._children.values() if isinstance(c, mapping._FastMarkerCluster)]
    assert len(layers) == 1
    return json.loads(layers[0].data_text)


def test_offer_and_school_markers_escape_tooltips_and_popups():
    """Old code: the offer tooltip (town) and the lycée tooltip (name) were raw HTML."""
    from ui import mapping

    pts = pd.DataFrame({"lat": [49.18], "lon": [-0.31], "n_offers": [2], "town": [f"Giberville {XSS}"],
                        "sectors": [XSS], "location_precision": ["commune"], "sources": ["${alert(2)}"]})
    m = folium.Map(tiles=None)
    mapping.offers_layer(m, pts)
    (_, _, popup, tip), = _cluster_rows(m)
    assert tip == "2 offre(s) — Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;"
    assert "<img" not in popup and "${" not in popup and "&lt;img" in popup
    sch = pd.DataFrame({"lat": [49.18], "lon": [-0.31], "name": [XSS], "commune": ["Caen"],
                        "is_public": [True], "seconde_pupils": [100]})
    m = folium.Map(tiles=None)
    mapping.schools_layer(m, sch)
    (_, _, popup, tip), = _cluster_rows(m)
    assert tip == sanitize.html_text(XSS) and "<img" not in popup


def test_html_table_and_legend_escape_cells():
    from analysis import maps

    html = maps.table_html(pd.DataFrame({XSS: [XSS, "${x}"], "n": [1, 2]}))
    assert "<img" not in html and "${" not in html and html.count("&lt;img") == 2
    legend = maps.legend_html(XSS, [("#fff", XSS)])
    assert "<img" not in legend and legend.count("&lt;img") == 2


def _template_csv(town: str, street: str = "1 rue de la Gare", employer: str = "Acme") -> bytes:
    return ("identifiant;employeur;secteur;adresse;code_postal;commune;niveaux\n"
            f"t1;{employer};Industrie;{street};14730;{town};seconde\n").encode()


@pytest.mark.parametrize("field,kwargs", [
    ("commune", {"town": f"Giberville {XSS}"}),
    ("adresse", {"town": "Giberville", "street": "1 rue <b>"}),
    ("employeur", {"town": "Giberville", "employer": "Acme >"}),
])
def test_import_quarantines_markup_naming_the_field(base_db, field, kwargs):
    """Old code: the commune matcher accepted « Giberville <img …> » as Giberville."""
    res = imports.import_file(None, "offers", data=_template_csv(**kwargs), name="h.csv", db_path=base_db,
                              dry_run=True)
    assert (res.rows_in, res.accepted, res.quarantined) == (1, 0, 1)
    q = res.quarantine.iloc[0]
    assert q["field"] == field and "balises HTML refusées" in q["reason"] and q["row_number"] == 1


def test_import_accepts_the_same_row_without_markup(base_db):
    res = imports.import_file(None, "offers", data=_template_csv("Giberville"), name="ok.csv", db_path=base_db,
                              dry_run=True)
    assert (res.accepted, res.quarantined) == (1, 0)


def test_import_refuses_markup_in_collective_and_mobility_fields(base_db):
    coll = ("project_id;name;kind;town;commune_code;source\n"
            f"p1;Projet {XSS};bi-entreprises;Caen;14118;CREFOP\n").encode()
    res = imports.import_file(None, "collective", data=coll, name="c.csv", db_path=base_db, dry_run=True)
    assert res.quarantine.iloc[0]["field"] == "name" and res.accepted == 0
    mob = (b"siren_epci;type_service;nom;description;source\n"
           b"200065597;autre;Navette;<script>alert(1)</script>;CU\n")
    res = imports.import_file(None, "mobility", data=mob, name="m.csv", db_path=base_db, dry_run=True)
    assert res.quarantine.iloc[0]["field"] == "description" and res.accepted == 0


def test_uploaded_file_name_and_source_name_are_cleaned(base_db):
    res = imports.import_file(None, "offers", data=_template_csv("Giberville"), db_path=base_db, dry_run=True,
                              name="../../<script>x</script>\x00.csv")
    assert res.file == "script_.csv"  # last path component, control char dropped, ">" replaced
    with pytest.raises(ValueError, match="nom de source refusé"):
        imports.import_file(None, "offers", data=_template_csv("Giberville"), name="ok.csv", db_path=base_db,
                            dry_run=True, source="<b>x</b>")

"""Rankings with deterministic ties, the EPCI mostly outside Normandie, and the territory
search (issue 11 items 3 and 6). Hand-written cases, then the real database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.outputs import ranking
from analysis.outputs.territory_search import search_territories


def _df(rows):
    return pd.DataFrame(rows, columns=["code", "name", "share_no_offer", "pupils_no_offer", "pupils"])


def test_ties_broken_by_pupils_concerned_then_name():
    # three territories at 100 %: most pupils concerned first; equal pupils: by name
    df = _df(
        [
            ("1", "CC Maine Saosnois", 1.0, 6.0, 6.0),
            ("2", "CC du Pays Fertois", 1.0, 53.0, 53.0),
            ("3", "Écouves", 1.0, 61.5, 61.5),
            ("4", "Argentan", 1.0, 61.5, 61.5),
            ("5", "Vire", 0.4, 900.0, 2250.0),
            ("6", "Sans élèves", np.nan, 0.0, 0.0),
        ]
    )
    r = ranking.rank_territories(df, "share_no_offer")
    assert r["name"].tolist() == [
        "Argentan",
        "Écouves",
        "CC du Pays Fertois",
        "CC Maine Saosnois",
        "Vire",
        "Sans élèves",
    ]
    assert r["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    # the same ranking whatever the input order
    shuffled = df.sample(frac=1.0, random_state=3)
    assert ranking.rank_territories(shuffled, "share_no_offer")["code"].tolist() == r["code"].tolist()


def test_lower_is_worse_indicator():
    df = _df([("a", "A", 0.2, 1.0, 10.0), ("b", "B", 0.2, 1.0, 30.0), ("c", "C", 0.1, 1.0, 5.0)])
    df["offers_per_100_pupils"] = [3.0, 3.0, 9.0]
    r = ranking.rank_territories(df, "offers_per_100_pupils", higher_is_worse=False)
    assert r["code"].tolist() == ["b", "a", "c"]  # 3 before 9; tie: 30 pupils before 10


def test_real_couverture_ranking_and_outside_epci(source_dir):
    """On the real data: the three EPCI at 100 % in 45 min by public transport are ordered by
    pupils concerned; CC Maine Saosnois (Sarthe) and CA du Pays de Dreux (Eure-et-Loir) are
    mostly outside Normandie (shares recomputed here from the DGCL file)."""
    import json

    from analysis import access, build, db
    from analysis.sources import registry as sources

    con = db.connect(build.ensure_database(), read_only=True)
    try:
        df = access.territory_indicators(con, "epci", access.Filters())
        r = ranking.rank_territories(df, "share_no_offer")
        top = r[r["share_no_offer"] >= 1.0 - 1e-12]
        assert len(top) >= 2
        assert top["pupils_no_offer"].is_monotonic_decreasing
        share = ranking.epci_region_share(con).set_index("code")
    finally:
        con.close()
    # independent oracle: the DGCL EPCI file of the mirror
    recs = json.loads(sources.resolve("epci_dgcl", source_dir).read_text("utf-8"))
    recs = recs if isinstance(recs, list) else recs.get("features", recs)
    by = {e["code"]: e for e in recs}
    for siren in ("200072676", "200040277"):  # CC Maine Saosnois, CA du Pays de Dreux
        e = by[siren]
        norman = sum(m["populationMunicipale"] for m in e["membres"] if m["code"][:2] in ("14", "27", "50", "61", "76"))
        assert share.loc[siren, "share_in_region"] == pytest.approx(norman / e["populationMunicipale"], rel=1e-9)
        assert share.loc[siren, "mostly_outside"]
    assert share["mostly_outside"].sum() == 2
    assert share.loc["200065597", "share_in_region"] == 1.0  # CU Caen la Mer


COMMUNES = pd.DataFrame(
    {
        "code": ["14220", "14754", "14118", "50129"],
        "name": ["Deauville", "Trouville-sur-Mer", "Caen", "Cherbourg-en-Cotentin"],
        "epci_siren": ["241400415", "241400415", "200065597", "200067205"],
    }
)
EPCIS = pd.DataFrame(
    {
        "siren": ["241400415", "200065597", "200067205"],
        "name": ["CC Coeur Côte Fleurie", "CU Caen la Mer", "CA du Cotentin"],
    }
)


@pytest.mark.parametrize("query", ["Coeur Cote", "Cœur", "cœur côte", "COEUR-CÔTE FLEURIE", "coeur  cote fleurie"])
def test_search_accent_ligature_case_insensitive(query):
    res = search_territories(query, COMMUNES, EPCIS)
    assert [(m.level, m.code) for m in res] == [("epci", "241400415")]


def test_search_epci_by_member_commune_and_siren():
    res = search_territories("Deauville", COMMUNES, EPCIS)
    assert [(m.level, m.code, m.reason) for m in res] == [
        ("commune", "14220", "nom"),
        ("epci", "241400415", "commune membre : Deauville"),
    ]
    res = search_territories("241400415", COMMUNES, EPCIS)
    assert [(m.level, m.code, m.reason) for m in res] == [("epci", "241400415", "SIREN")]
    res = search_territories("cherbourg", COMMUNES, EPCIS)
    assert ("epci", "200067205") in [(m.level, m.code) for m in res]
    assert search_territories("Astronautique", COMMUNES, EPCIS) == []
    assert search_territories("  ", COMMUNES, EPCIS) == []


def test_search_real_data(source_dir):
    from analysis import build, db

    con = db.connect(build.ensure_database(), read_only=True)
    try:
        com = con.execute("SELECT code, name, epci_siren FROM communes").df()
        epc = con.execute("SELECT siren, name FROM epci").df()
    finally:
        con.close()
    res = search_territories("Deauville", com, epc)
    assert any(m.level == "epci" and m.name == "CC Coeur Côte Fleurie" for m in res)
    assert search_territories("Cœur Côte", com, epc)[0].name == "CC Coeur Côte Fleurie"

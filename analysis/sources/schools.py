"""Lycées of Normandie and their seconde headcounts.

- Lycées: the official *Annuaire de l'éducation* extract (UAI, nature, public/private,
  commune, coordinates). Commune codes are harmonised to COG 2025.
- Seconde pupils: declared class sizes of the seconde classes (platform "1 élève, 1 stage"),
  de-duplicated on (UAI, class) because the former Rouen academy lists its lycées twice.
- Split general/technological vs vocational: from the nature of the establishment when it
  teaches only one track (LP/SEP -> vocational; LEGT/LEG/LET/SGT -> GT). For a lycée
  polyvalent the official rentrée-2022 ``2ndes_gt`` (DEPP) is used when available, and the
  rest of the declared pupils is counted as vocational; otherwise the split stays NULL.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from analysis.config import DEPARTEMENTS
from analysis.errors import DataError
from analysis.sources import registry as sources
from analysis.sources.geography import harmonise_code, load_crosswalk
from analysis.sources.readers import check_pattern, first_dangling, read_csv, to_float

UAI_RE = r"\d{7}[A-Z]"

#: Short kind per ``libelle_nature`` of the annuaire.
KIND_BY_NATURE = {
    "LYCEE PROFESSIONNEL": "LP",
    "LYCEE ENSEIGNT GENERAL ET TECHNOLOGIQUE": "LEGT",
    "LYCEE POLYVALENT": "LPO",
    "SECTION D ENSEIGNEMENT PROFESSIONNEL": "SEP",
    "LYCEE D ENSEIGNEMENT GENERAL": "LEG",
    "SECTION ENSEIGT GENERAL ET TECHNOLOGIQUE": "SGT",
    "LYCEE D ENSEIGNEMENT TECHNOLOGIQUE": "LET",
    "LYCEE EXPERIMENTAL": "EXP",
    "LYCEE ENS GENERAL TECHNO PROF AGRICOLE": "LEGTPA",
}
GT_ONLY = {"LEGT", "LEG", "LET", "SGT"}
PRO_ONLY = {"LP", "SEP"}

ANNUAIRE_COLUMNS = [
    "Identifiant_de_l_etablissement",
    "Nom_etablissement",
    "Type_etablissement",
    "Statut_public_prive",
    "Code_commune",
    "Code_departement",
    "latitude",
    "longitude",
    "libelle_nature",
]
CLASSES_COLUMNS = ["ACADEMIE", "CODE_RNE (UAI)", "DIVISION (CLASSE)", "EFFECTIF DECLARE"]


def read_annuaire(path: Path) -> pd.DataFrame:
    """Read the annuaire file (Normandie extract or full national file) keeping Normandie lycées."""
    df = read_csv(path, ANNUAIRE_COLUMNS, sep=";")
    df = df[df["Type_etablissement"].str.strip().str.lower() == "lycée"]
    dep = df["Code_departement"].str.strip().str.lstrip("0").str.zfill(2)
    df = df[dep.isin(DEPARTEMENTS)].copy()
    if df.empty:
        raise DataError(str(path), "aucun lycée des départements normands", field="Code_departement")
    check_pattern(df, path, "Identifiant_de_l_etablissement", UAI_RE, "code UAI (7 chiffres + lettre)")
    df["lat_f"] = to_float(df, path, "latitude")
    df["lon_f"] = to_float(df, path, "longitude")
    # One UAI may be listed once per site (e.g. 0761735Y, two sites at the same coordinates):
    # keep one row per UAI and join the site names.
    uai = df["Identifiant_de_l_etablissement"].str.strip()
    names = df.groupby(uai)["Nom_etablissement"].agg(lambda s: " / ".join(dict.fromkeys(s.str.strip())))
    df = df.loc[~uai.duplicated()].copy()
    df["Nom_etablissement"] = names.reindex(df["Identifiant_de_l_etablissement"].str.strip()).to_numpy()
    return df


def seconde_headcounts(path: Path) -> pd.DataFrame:
    """Seconde pupils per UAI from the class list, de-duplicated on (UAI, class).

    Returns
    -------
    pandas.DataFrame
        Columns ``uai``, ``seconde_pupils``, ``seconde_classes``.
    """
    df = read_csv(path, CLASSES_COLUMNS, sep=";")
    check_pattern(df, path, "CODE_RNE (UAI)", UAI_RE, "code UAI")
    df["pupils"] = to_float(df, path, "EFFECTIF DECLARE", allow_empty=False)
    bad = (df["pupils"] < 0) | (df["pupils"] > 500)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(str(path), "effectif de classe hors de 0–500", row=i + 1, field="EFFECTIF DECLARE")
    df["class_key"] = df["DIVISION (CLASSE)"].str.strip().str.upper()
    dedup = df.drop_duplicates(["CODE_RNE (UAI)", "class_key"])
    out = dedup.groupby("CODE_RNE (UAI)").agg(seconde_pupils=("pupils", "sum"), seconde_classes=("class_key", "count"))
    out.index.name = "uai"
    return out.reset_index().astype({"seconde_pupils": "int64"})


def official_gt(path: Path | None) -> pd.Series:
    """Official rentrée-2022 ``2ndes_gt`` per UAI (empty Series when the file is absent)."""
    if path is None:
        return pd.Series(dtype="float64")
    df = read_csv(path, ["uai", "2ndes_gt", "_merge"], sep=";")
    df = df[df["_merge"] == "both"]  # left_only rows carry platform defaults, not data
    vals = to_float(df, path, "2ndes_gt")
    return pd.Series(vals.to_numpy(), index=df["uai"].to_numpy()).dropna()


def load(con: duckdb.DuckDBPyConnection, source_dir: Path, progress=None) -> dict[str, int]:
    """Create the ``schools`` table.

    Returns
    -------
    dict
        ``{"schools": n}``.
    """
    crosswalk = load_crosswalk(source_dir)
    p_ann = sources.resolve("lycees_annuaire", source_dir)
    ann = read_annuaire(p_ann)
    sources.record_provenance(con, "lycees_annuaire", p_ann, len(ann), source_dir)
    p_cls = sources.resolve("lycees_classes", source_dir)
    heads = seconde_headcounts(p_cls)
    sources.record_provenance(con, "lycees_classes", p_cls, int(heads["seconde_classes"].sum()), source_dir)
    p_gt = sources.resolve("lycees_effectifs_gt", source_dir)
    gt = official_gt(p_gt)
    if p_gt is not None:
        sources.record_provenance(con, "lycees_effectifs_gt", p_gt, len(gt), source_dir)

    out = pd.DataFrame(
        {
            "uai": ann["Identifiant_de_l_etablissement"].str.strip(),
            "name": ann["Nom_etablissement"].str.strip(),
            "nature": ann["libelle_nature"].str.strip(),
            "is_public": ann["Statut_public_prive"].str.strip().str.lower().eq("public"),
            "commune_code_source": ann["Code_commune"].str.strip(),
            "lon": ann["lon_f"],
            "lat": ann["lat_f"],
            "parent_uai": ann.get("etablissement_mere", pd.Series("", index=ann.index)).str.strip(),
            "ministry": ann.get("ministere_tutelle", pd.Series("", index=ann.index)).str.strip(),
            "bassin_code": ann.get("code_bassin_formation", pd.Series("", index=ann.index)).str.strip(),
            "bassin_name": ann.get("libelle_bassin_formation", pd.Series("", index=ann.index)).str.strip(),
            "location_precision": ann.get("precision_localisation", pd.Series("", index=ann.index)).str.strip(),
        }
    )
    out["kind"] = out["nature"].map(KIND_BY_NATURE).fillna("AUTRE")
    out["commune_code"] = [harmonise_code(c, crosswalk) for c in out["commune_code_source"]]
    out = out.merge(heads, on="uai", how="left")
    out["seconde_gt"] = pd.NA
    out["seconde_pro"] = pd.NA
    has = out["seconde_pupils"].notna()
    gt_only = has & out["kind"].isin(GT_ONLY)
    pro_only = has & out["kind"].isin(PRO_ONLY)
    out.loc[gt_only, "seconde_gt"] = out.loc[gt_only, "seconde_pupils"]
    out.loc[gt_only, "seconde_pro"] = 0
    out.loc[pro_only, "seconde_pro"] = out.loc[pro_only, "seconde_pupils"]
    out.loc[pro_only, "seconde_gt"] = 0
    mixed = has & ~gt_only & ~pro_only & out["uai"].isin(gt.index)
    gt_vals = gt.reindex(out.loc[mixed, "uai"]).to_numpy()
    tot = out.loc[mixed, "seconde_pupils"].to_numpy()
    out.loc[mixed, "seconde_gt"] = [min(int(g), int(t)) for g, t in zip(gt_vals, tot)]
    out.loc[mixed, "seconde_pro"] = [int(t) - min(int(g), int(t)) for g, t in zip(gt_vals, tot)]
    out["split_source"] = None
    out.loc[gt_only | pro_only, "split_source"] = "nature de l'établissement"
    out.loc[mixed, "split_source"] = "DEPP 2ndes_gt rentrée 2022 (estimation)"
    out["headcount_source"] = "absent"
    out.loc[has, "headcount_source"] = "classes de seconde déclarées 2023-24 (plateforme 1 élève 1 stage)"
    out["parent_uai"] = out["parent_uai"].replace("", None)
    for c in ("seconde_pupils", "seconde_classes", "seconde_gt", "seconde_pro"):
        out[c] = out[c].astype("Int64")

    con.register("schools_df", out)
    con.execute(
        """
        CREATE OR REPLACE TABLE schools AS
        SELECT uai, name, kind, nature, is_public, commune_code, commune_code_source, lon, lat,
               seconde_pupils::INTEGER AS seconde_pupils, seconde_gt::INTEGER AS seconde_gt,
               seconde_pro::INTEGER AS seconde_pro, seconde_classes::INTEGER AS seconde_classes,
               headcount_source, split_source, NULLIF(parent_uai, '') AS parent_uai, ministry,
               bassin_code, bassin_name, location_precision,
               ST_Point(lon, lat) AS geom
        FROM schools_df ORDER BY uai
        """
    )
    con.unregister("schools_df")
    bad = first_dangling(con, "schools", "uai", "commune_code", "communes", "code")
    if bad:
        raise DataError(str(p_ann), f"lycée {bad[0]} : commune {bad[1]} inconnue en COG 2025", field="Code_commune")
    missing_xy = con.execute("SELECT uai FROM schools WHERE lon IS NULL OR lat IS NULL LIMIT 1").fetchone()
    if missing_xy:
        raise DataError(str(p_ann), f"lycée {missing_xy[0]} sans coordonnées", field="latitude")
    return {"schools": con.execute("SELECT COUNT(*) FROM schools").fetchone()[0]}

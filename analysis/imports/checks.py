"""Row checks of each import kind: every row accepted or quarantined with its field and reason.

Owns the header mapping (:func:`map_columns`, :func:`detect_offer_format`),
:class:`Checked` and the checks :func:`check_platform`, :func:`check_offer_template`,
:func:`check_collective`, :func:`check_mobility`. Field rules come from
:mod:`analysis.sources.validation` (shared with the build's loaders).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from analysis.config import NORMANDIE_BBOX
from analysis.imports.reading import RawTable
from analysis.imports.schema import LINE_FIELD, MAX_PROJECT_PUPILS, MOBILITY_TYPES
from analysis.imports.templates import (
    COLLECTIVE_TEMPLATE,
    MOBILITY_TEMPLATE,
    OFFER_TEMPLATE,
    PLATFORM_REQUIRED,
    Column,
    header_key,
)
from analysis.sources import offers, validation
from analysis.sources.collective import KINDS as COLLECTIVE_KINDS
from analysis.sources.validation import FieldError


def map_columns(raw: RawTable, spec: tuple[Column, ...]) -> tuple[dict[str, int], list[str]]:
    """Map template keys to column positions (aliases, case and accents ignored); list missing required keys."""
    pos: dict[str, int] = {}
    by_alias = {a: c.key for c in spec for a in c.aliases}
    for i, name in enumerate(raw.columns):
        k = by_alias.get(header_key(name))
        if k is not None and k not in pos:
            pos[k] = i
    missing = [c.header for c in spec if c.required and c.key not in pos]
    return pos, missing


def detect_offer_format(raw: RawTable) -> str:
    """``platform`` when the header has the platform's columns, else ``template``."""
    cols = set(raw.columns)
    return "platform" if {"id", "Code postal", "Filière", "Ville"} <= cols else "template"


# --------------------------------------------------------------------------- row validation


@dataclass
class Checked:
    """The outcome of checking a file: accepted rows, quarantine rows and warnings."""

    accepted: pd.DataFrame
    quarantine: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, field, reason, raw
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason


def _raw_json(columns: list[str], rec: list[str]) -> str:
    return json.dumps(dict(zip(columns, rec)), ensure_ascii=False)


def _start(raw: RawTable) -> Checked:
    ch = Checked(pd.DataFrame())
    for n, reason, rawtext in raw.bad:
        ch.quarantine.append((n, LINE_FIELD, reason, rawtext))
    return ch


def _reject_all_missing(raw: RawTable, ch: Checked, missing: list[str]) -> Checked:
    reason = f"colonne obligatoire absente du fichier : {', '.join(missing)} (colonnes lues : {', '.join(raw.columns)})"
    for n, rec in raw.rows:
        ch.quarantine.append((n, missing[0], reason, _raw_json(raw.columns, rec)))
    return ch


def check_platform(raw: RawTable, source: str, strict_siret: bool = False) -> Checked:
    """Check platform-export records like :func:`analysis.sources.offers.parse_platform` (plus lengths, SIRET).

    Each row goes through :func:`_platform_row` (text, identifier, postcode, town, filière,
    public flag, duplicate identifier, SIRET, in this order: the first failure names the field).

    Returns
    -------
    Checked
        ``accepted`` has :data:`analysis.sources.offers.OFFER_COLUMNS` plus ``raw``.
    """
    ch = _start(raw)
    missing = [c for c in PLATFORM_REQUIRED if c not in raw.columns]
    if missing:
        return _reject_all_missing(raw, ch, missing)
    idx = {c: raw.columns.index(c) for c in raw.columns[::-1]}
    out: list[dict] = []
    seen: set[str] = set()
    for n, rec in raw.rows:
        rawtext = _raw_json(raw.columns, rec)
        try:
            row, warning = _platform_row(raw.columns, idx, rec, seen, strict_siret)
        except _Reject as rej:
            ch.quarantine.append((n, rej.field, rej.reason, rawtext))
            continue
        if warning is not None:
            ch.warnings.append((n, "SIRET", warning))
        seen.add(row["offer_id"])
        out.append({**row, "source": source, "source_row": n, "raw": rawtext})
    ch.accepted = _offer_frame(out)
    return ch


class _Reject(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _platform_row(
    columns: list[str], idx: dict[str, int], rec: list[str], seen: set[str], strict_siret: bool
) -> tuple[dict, str | None]:
    """The offer fields of one platform record and the SIRET warning (None when none).

    Raises
    ------
    _Reject
        The first field that fails, with its reason.
    """
    g = lambda c: rec[idx[c]]  # noqa: E731
    _check_texts(columns, rec)
    oid, pc, town = g("id").strip(), g("Code postal").strip(), g("Ville").strip()
    if not oid:
        raise _Reject("id", "identifiant d'offre manquant")
    _check_platform_postcode(pc)
    if not town:
        raise _Reject("Ville", "ville manquante")
    grades = _platform_grades(g("Filière"))
    is_public = _platform_public(g("public"))
    if oid in seen:
        raise _Reject("id", f"identifiant d'offre en double « {oid} »")
    siret, warning = _platform_siret(g("SIRET"), strict_siret)
    pet = idx.get("public_employer_type")
    row = {
        "offer_id": oid,
        "siret": siret,
        "sector": g("secteur").strip() or None,
        "is_public": is_public,
        "public_employer_type": (rec[pet].strip() or None) if pet is not None else None,
        "street": g("Rue").strip() or None,
        "town": town,
        "postcode": pc,
        "grades": grades,
        "capacity": pd.NA,
    }
    return row, warning


def _check_texts(columns: list[str], rec: list[str]) -> None:
    """Every value of the record passes :func:`analysis.sources.validation.check_text` (length, markup)."""
    for c, v in zip(columns, rec):
        try:
            validation.check_text(v)
        except FieldError as exc:
            raise _Reject(c, str(exc)) from None


def _check_platform_postcode(pc: str) -> None:
    """Five digits, and a postcode :func:`analysis.sources.validation.clean_postcode` accepts."""
    if not pc.isdigit() or len(pc) != 5:
        raise _Reject("Code postal", f"code postal invalide « {pc} »")
    try:
        validation.clean_postcode(pc)
    except FieldError as exc:
        raise _Reject("Code postal", str(exc)) from None


def _platform_grades(value: str) -> str:
    """The grades of a platform « Filière » code (:data:`analysis.sources.offers.GRADES`)."""
    grades = offers.GRADES.get(value.strip())
    if grades is None:
        raise _Reject("Filière", f"filière inconnue « {value} »")
    return grades


def _platform_public(value: str) -> bool | None:
    """The « public » flag (VRAI/FAUX…, :data:`analysis.sources.offers.BOOLEANS`); None when empty."""
    pub = value.strip().lower()
    is_public = offers.BOOLEANS.get(pub)
    if is_public is None and pub:
        raise _Reject("public", f"booléen attendu (VRAI/FAUX), trouvé « {value} »")
    return is_public


def _platform_siret(value: str, strict: bool) -> tuple[str | None, str | None]:
    """The SIRET without spaces (None when empty) and the warning of an invalid one kept as is
    (rejected instead when ``strict``)."""
    siret = re.sub(r"\s", "", value) or None
    if siret is None:
        return None, None
    try:
        validation.clean_siret(siret)
    except FieldError as exc:
        if strict:
            raise _Reject("SIRET", str(exc)) from None
        return siret, str(exc) + " (offre gardée, SIRET conservé tel quel)"
    return siret, None


def _offer_frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    cols = offers.OFFER_COLUMNS + ["raw", *extra]
    df = pd.DataFrame(rows, columns=cols)
    df["capacity"] = pd.array(df["capacity"].tolist(), dtype="Int64")
    df["source_row"] = df["source_row"].astype("int64")
    df["is_public"] = df["is_public"].astype("boolean")
    return df


#: Fields of the offer template checked in this order after the identifier (key, cleaner); the
#: period, weeks, accessibility and coordinates follow (:func:`check_offer_template`).
_OFFER_FIELDS: tuple[tuple[str, Callable[[str], Any]], ...] = (
    ("employer", partial(validation.clean_required, what="employeur")),
    ("siret", validation.clean_siret),
    ("sector", partial(validation.clean_required, what="secteur")),
    ("is_public", validation.clean_bool),
    ("postcode", validation.clean_postcode),
    ("town", partial(validation.clean_required, what="commune")),
    ("grades", validation.clean_grades),
    ("capacity", validation.clean_capacity),
    ("start_date", validation.clean_date),
    ("end_date", validation.clean_date),
)
#: Columns of accepted template offers after :data:`analysis.sources.offers.OFFER_COLUMNS` and ``raw``.
_OFFER_DETAIL_COLUMNS = ("employer", "start_date", "end_date", "weeks", "disability_access", "given_lon", "given_lat")


def _clean_fields(v: dict[str, str], st: dict, fields: tuple[tuple[str, Callable[[str], Any]], ...]) -> dict:
    """Each field cleaned in turn, ``st["key"]`` naming the one being checked (for the quarantine)."""
    out = {}
    for key, clean in fields:
        st["key"] = key
        out[key] = clean(v[key])
    return out


def check_offer_template(raw: RawTable, source: str, bbox=NORMANDIE_BBOX) -> Checked:
    """Check generic-template offer records (see :data:`OFFER_TEMPLATE`)."""
    seen: set[str] = set()

    def row(n, v, st):
        st["key"] = "offer_id"
        oid = v["offer_id"].strip() or f"{source}:{n}"
        if oid in seen:
            raise FieldError(f"identifiant d'offre en double « {oid} »")
        c = _clean_fields(v, st, _OFFER_FIELDS)
        validation.check_period(c["start_date"], c["end_date"])  # named after end_date
        c |= _clean_fields(v, st, (("weeks", validation.clean_weeks), ("disability_access", validation.clean_bool)))
        st["key"] = "lon"
        lonlat = validation.clean_lonlat(v["lon"], v["lat"], bbox)
        seen.add(oid)
        return {
            "offer_id": oid,
            "siret": c["siret"],
            "sector": c["sector"],
            "is_public": c["is_public"],
            "public_employer_type": None,
            "street": validation.clean_text(v["street"]),
            "town": c["town"],
            "postcode": c["postcode"],
            "grades": c["grades"],
            "capacity": c["capacity"] if c["capacity"] is not None else pd.NA,
            "source": source,
            "employer": c["employer"],
            "start_date": c["start_date"],
            "end_date": c["end_date"],
            "weeks": c["weeks"],
            "disability_access": c["disability_access"],
            "given_lon": lonlat[0] if lonlat else None,
            "given_lat": lonlat[1] if lonlat else None,
        }

    return _check_generic(raw, OFFER_TEMPLATE, row, lambda rows: _offer_frame(rows, _OFFER_DETAIL_COLUMNS))


def _check_generic(
    raw: RawTable, spec: tuple[Column, ...], row_fn, frame: Callable[[list[dict]], pd.DataFrame] = pd.DataFrame
) -> Checked:
    """Check each record: its texts, then ``row_fn(n, values, state)`` (which sets ``state["key"]``
    to the field it checks and raises :class:`FieldError`); accepted rows (plus ``source_row``
    and ``raw``) made into a frame by ``frame``, failures quarantined with the field's header."""
    ch = _start(raw)
    pos, missing = map_columns(raw, spec)
    if missing:
        return _reject_all_missing(raw, ch, missing)
    header = {c.key: raw.columns[pos[c.key]] if c.key in pos else c.header for c in spec}
    out = []
    for n, rec in raw.rows:
        vals = {c.key: (rec[pos[c.key]] if c.key in pos else "") for c in spec}
        rawtext = _raw_json(raw.columns, rec)
        state = {"key": None}
        try:
            for c, v in zip(raw.columns, rec):
                state["key"] = c
                validation.check_text(v)
            out.append({**row_fn(n, vals, state), "source_row": n, "raw": rawtext})
        except FieldError as exc:
            ch.quarantine.append((n, header.get(state["key"], state["key"]), str(exc), rawtext))
    ch.accepted = frame(out)
    return ch


def check_collective(raw: RawTable) -> Checked:
    """Check collective-project records (format of ``data/collective_projects.csv``)."""
    seen: set[str] = set()

    def row(n, v, st):
        st["key"] = "project_id"
        pid = validation.clean_required(v["project_id"], "identifiant de projet")
        if pid in seen:
            raise FieldError(f"identifiant de projet en double « {pid} »")
        st["key"] = "name"
        name = validation.clean_required(v["name"], "nom")
        st["key"] = "kind"
        kind = v["kind"].strip()
        if kind not in COLLECTIVE_KINDS:
            raise FieldError(f"type « {validation.shorten(kind)} » inconnu (attendu : {' | '.join(COLLECTIVE_KINDS)})")
        st["key"] = "town"
        town = validation.clean_required(v["town"], "commune")
        st["key"] = "commune_code"
        code = v["commune_code"].strip()
        if not re.fullmatch(r"\d[\dAB]\d{3}", code):
            raise FieldError(f"code commune INSEE invalide « {validation.shorten(code)} »")
        st["key"] = "pupils"
        pupils = None
        if v["pupils"].strip():
            p = v["pupils"].strip()
            if not re.fullmatch(r"[0-9]{1,4}", p) or not 1 <= int(p) <= MAX_PROJECT_PUPILS:
                raise FieldError(
                    f"nombre d'élèves entier de 1 à {MAX_PROJECT_PUPILS} attendu, "
                    f"trouvé « {validation.shorten(v['pupils'])} »"
                )
            pupils = int(p)
        st["key"] = "source"
        src = validation.clean_required(v["source"], "source")
        seen.add(pid)
        return {
            "project_id": pid,
            "name": name,
            "kind": kind,
            "kind_basis": v["kind_basis"].strip(),
            "town": town,
            "commune_code": code,
            "location_basis": v["location_basis"].strip(),
            "sectors": v["sectors"].strip(),
            "pupils": pupils,
            "period": v["period"].strip(),
            "status": v["status"].strip(),
            "source": src,
            "note": v["note"].strip(),
        }

    return _check_generic(raw, COLLECTIVE_TEMPLATE, row)


def check_mobility(raw: RawTable, source: str) -> Checked:
    """Check EPCI mobility-service records (see :data:`MOBILITY_TEMPLATE`)."""
    seen: set[str] = set()
    by_label = {header_key(lbl): code for code, lbl in MOBILITY_TYPES.items()} | {
        header_key(c): c for c in MOBILITY_TYPES
    }

    def row(n, v, st):
        st["key"] = "service_id"
        sid = v["service_id"].strip() or f"{source}:{n}"
        if sid in seen:
            raise FieldError(f"identifiant de service en double « {sid} »")
        st["key"] = "epci_siren"
        siren = validation.clean_siren(v["epci_siren"])
        st["key"] = "service_type"
        stype = by_label.get(header_key(v["service_type"]))
        if stype is None:
            raise FieldError(
                f"type de service inconnu « {validation.shorten(v['service_type'])} » "
                f"(attendu : {' | '.join(MOBILITY_TYPES)})"
            )
        st["key"] = "name"
        name = validation.clean_required(v["name"], "nom du service")
        st["key"] = "source"
        src = validation.clean_required(v["source"], "source")
        seen.add(sid)
        return {
            "service_id": sid,
            "epci_siren": siren,
            "service_type": stype,
            "name": name,
            "description": validation.clean_text(v["description"]),
            "conditions": validation.clean_text(v["conditions"]),
            "contact": validation.clean_text(v["contact"]),
            "source": src,
        }

    return _check_generic(raw, MOBILITY_TEMPLATE, row)


# --------------------------------------------------------------------------- database-dependent checks


def move_to_quarantine(ch: Checked, mask: pd.Series, field_of, reason_of) -> None:
    """Move accepted rows selected by ``mask`` to the quarantine."""
    if not mask.any():
        return
    bad = ch.accepted[mask]
    for _, r in bad.iterrows():
        ch.quarantine.append((int(r["source_row"]), field_of(r), reason_of(r), r["raw"]))
    ch.accepted = ch.accepted[~mask].reset_index(drop=True)

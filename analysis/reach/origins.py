"""Where each pupil starts from: coordinates, an address (geocoded), or a commune.

Owns :class:`CommuneIndex` (communes by INSEE code, current or former name, postcode, read from
the database) and :func:`resolve` (rows -> :class:`analysis.reach.model.PupilOrigin`). An
address is sent to the Base Adresse Nationale only when geocoding is asked for (``geocode``),
in one request and without any cache; if the service cannot be reached or does not find the
address in the stated commune, the pupil is placed at the commune's origin point (its town hall)
and flagged. A bad row is refused with a French reason; it never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from analysis import catalogue, config
from analysis.reach.model import PRECISION_ADDRESS, PRECISION_COMMUNE, PRECISION_COORDS, PupilOrigin
from analysis.reach.pupils_file import PupilRow
from analysis.text import normalize_name
from analysis.validate_args import ArgumentError, check_budget, check_choice, check_point, close_matches


@dataclass
class CommuneIndex:
    """The communes a pupil may live in, with their origin point (town hall).

    Attributes
    ----------
    communes : pandas.DataFrame
        ``code``, ``name``, ``lon``, ``lat`` indexed by code.
    names : dict
        Normalised name (current, delegated, former) -> list of current codes.
    postcodes : dict
        Postcode -> set of current codes.
    """

    communes: pd.DataFrame
    names: dict[str, list[str]]
    postcodes: dict[str, set[str]]

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> CommuneIndex:
        com = con.execute("SELECT code, name, lon, lat FROM communes ORDER BY code").df().set_index("code", drop=False)
        names: dict[str, list[str]] = {}
        for code, norm in con.execute("SELECT DISTINCT code, name_norm FROM commune_names ORDER BY 1, 2").fetchall():
            if code in com.index and code not in names.setdefault(norm, []):
                names[norm].append(code)
        for code, name in zip(com["code"], com["name"]):
            key = normalize_name(name)
            if code not in names.setdefault(key, []):
                names[key].append(code)
        postcodes: dict[str, set[str]] = {}
        for code, pc in con.execute("SELECT code, postcode FROM commune_postcodes").fetchall():
            postcodes.setdefault(str(pc), set()).add(str(code))
        return cls(com, names, postcodes)

    def find(self, text: str, postcode: str = "") -> tuple[str | None, str | None]:
        """The current INSEE code of a commune given by code or name: ``(code, None)`` or
        ``(None, French reason)``."""
        value = text.strip()
        compact = value.replace(" ", "")
        if len(compact) == 5 and (compact.isdigit() or compact[:2].upper() in ("2A", "2B")):
            if compact.upper() in self.communes.index:
                return compact.upper(), None
            return None, f"code INSEE inconnu : « {value} » (attendu : une commune de {config.REGION_NAME})"
        codes = self.names.get(normalize_name(value), [])
        if len(codes) > 1 and postcode.strip():
            pc = postcode.strip()
            narrowed = [c for c in codes if c in self.postcodes.get(pc, set())] or [c for c in codes if c[:2] == pc[:2]]
            codes = narrowed or codes
        if len(codes) == 1:
            return codes[0], None
        if len(codes) > 1:
            shown = ", ".join(f"{self.communes.at[c, 'name']} ({c})" for c in codes[:4])
            return None, f"commune ambiguë : « {value} » ({shown}) ; donnez le code postal ou le code INSEE"
        near = close_matches(value, self.communes["name"].tolist())
        hint = f" ; communes proches : {', '.join(near)}" if near else ""
        return None, f"commune inconnue : « {value} »{hint}"

    def point(self, code: str) -> tuple[float, float, str]:
        r = self.communes.loc[code]
        return float(r["lon"]), float(r["lat"]), str(r["name"])


def _number(text: str) -> float:
    return float(text.strip().replace(",", ".").replace("\u00a0", "").replace(" ", ""))


def _overrides(origin: PupilOrigin, row: PupilRow, mode: str, minutes: int) -> None:
    """The row's own mode and budget, else the command's."""
    origin.mode, origin.minutes = mode, minutes
    m = row.values.get("mode", "")
    if m:
        try:
            origin.mode = check_choice(m, catalogue.mode_labels(), "le mode de déplacement")
        except ArgumentError as exc:
            origin.refuse(f"mode invalide : {exc}")
    b = row.values.get("minutes", "")
    if b:
        try:
            origin.minutes = check_budget(b)
        except ArgumentError as exc:
            origin.refuse(f"nombre de minutes invalide : {exc}")


def _place_by_coordinates(origin: PupilOrigin, lon_text: str, lat_text: str) -> None:
    if not (lon_text and lat_text):
        origin.refuse("coordonnées incomplètes : il faut « longitude » et « latitude »")
        return
    try:
        lon, lat = _number(lon_text), _number(lat_text)
    except ValueError:
        origin.refuse(f"nombre invalide dans les coordonnées : « {lon_text} », « {lat_text} »")
        return
    try:
        origin.lon, origin.lat = check_point(lon, lat)
    except ArgumentError as exc:
        origin.refuse(str(exc))
        return
    origin.precision = PRECISION_COORDS


def resolve_row(row: PupilRow, communes: CommuneIndex, mode: str, minutes: int) -> PupilOrigin:
    """One row -> a :class:`PupilOrigin` (placed at coordinates or at its commune; an address is
    geocoded later by :func:`geocode_addresses`)."""
    origin = PupilOrigin(eleve=row.eleve, row=row.row)
    if row.problem:
        return origin.refuse(row.problem)
    if not row.values.get("eleve"):
        origin.refuse("identifiant « eleve » vide")
    _overrides(origin, row, mode, minutes)
    v = row.values
    if v.get("longitude") or v.get("latitude"):
        _place_by_coordinates(origin, v.get("longitude", ""), v.get("latitude", ""))
        return origin
    if not v.get("commune"):
        return origin.refuse("ni coordonnées ni commune : l'élève ne peut pas être placé")
    code, reason = communes.find(v["commune"], v.get("code_postal", ""))
    if code is None:
        return origin.refuse(reason or "commune inconnue")
    origin.lon, origin.lat, origin.commune_name = communes.point(code)
    origin.commune_code, origin.precision = code, PRECISION_COMMUNE
    if v.get("adresse"):
        origin.note = "adresse non géocodée : départ à la mairie de la commune"
    return origin


Fetch = Callable[..., pd.DataFrame]


def geocode_addresses(
    origins: Sequence[PupilOrigin],
    rows: Sequence[PupilRow],
    base_url: str | None = None,
    fetch: Fetch | None = None,
    timeout: float = 10.0,
) -> str | None:
    """Move the pupils given by address to their geocoded point (Base Adresse Nationale).

    One request for all addresses, no cache, nothing stored. A result is used when its score is
    at least :data:`analysis.sources.geocode.DEFAULT_MIN_SCORE` and it lies in the commune already
    found; otherwise the pupil stays at the commune's point, flagged in ``note``.

    Returns
    -------
    str or None
        A French remark when the service could not be reached.
    """
    from analysis.sources import geocode as gc

    todo = [
        (o, r) for o, r in zip(origins, rows) if o.ok and o.precision == PRECISION_COMMUNE and r.values.get("adresse")
    ]
    if not todo:
        return None
    frame = pd.DataFrame(
        {
            "query": [str(i) for i in range(len(todo))],
            "street": [r.values["adresse"] for _, r in todo],
            "postcode": [r.values.get("code_postal", "") for _, r in todo],
            "town": [o.commune_name or r.values.get("commune", "") for o, r in todo],
        }
    )
    fetch = fetch or gc.ban_search_csv
    try:
        found = fetch(frame, base_url=base_url or gc.DEFAULT_BASE_URL, timeout=timeout)
    except gc.GeocoderUnavailable:
        return "géocodeur de la Base Adresse Nationale injoignable : élèves donnés par adresse placés à la mairie"
    by_query = found.set_index("query") if len(found) else pd.DataFrame()
    for i, (o, _r) in enumerate(todo):
        if str(i) not in by_query.index:
            continue
        hit = by_query.loc[str(i)]
        ok = pd.notna(hit["lon"]) and pd.notna(hit["score"]) and float(hit["score"]) >= gc.DEFAULT_MIN_SCORE
        if ok and str(hit["citycode"]) == o.commune_code:
            o.lon, o.lat, o.precision, o.note = float(hit["lon"]), float(hit["lat"]), PRECISION_ADDRESS, None
        else:
            o.note = "adresse introuvable dans cette commune : départ à la mairie de la commune"
    return None


def resolve(
    rows: Sequence[PupilRow],
    con: duckdb.DuckDBPyConnection,
    mode: str,
    minutes: int,
    geocode: bool = False,
    geocoder_url: str | None = None,
    fetch: Fetch | None = None,
) -> tuple[list[PupilOrigin], list[str]]:
    """Every row's :class:`PupilOrigin` (file order) and remarks on the whole run."""
    communes = CommuneIndex.from_db(con)
    origins = [resolve_row(r, communes, mode, minutes) for r in rows]
    notes: list[str] = []
    if geocode:
        note = geocode_addresses(origins, rows, geocoder_url, fetch)
        if note:
            notes.append(note)
    return origins, notes

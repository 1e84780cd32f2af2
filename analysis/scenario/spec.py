"""The scenario document: parsing and checking a JSON mobility scenario.

A scenario (issue 23) changes what pupils can reach, never the baseline tables:

- ``lines``: new public-transport lines (a morning shuttle), each with ordered ``stops``
  (``{"commune": "INSEE"}``, placed at the commune's origin point, or ``{"lon": …, "lat": …}``),
  ``departures`` (``"HH:MM"`` at the first stop) and either ``speed_kph`` (stop-to-stop times
  from the road distance at that speed) or ``minutes`` between consecutive stops; optional
  ``return`` (the same stops backwards at ``return_departures``) and ``days`` (ISO dates the line
  runs; default: every weekday of the June internship fortnight);
- ``bike``: communes (INSEE codes) or EPCI (SIREN) whose pupils get a bike (``kph``);
- ``hosts``: new offers at a commune or a point, with ``sector`` and ``places``.

Every error is a :class:`ScenarioError` naming the field (``lines[0].departures[1]``) in French.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from analysis.sources import validation

#: Most lines, stops per line, departures per line, bike communes and hosts one scenario may hold.
MAX_LINES = 20
MAX_STOPS = 50
MAX_DEPARTURES = 100
MAX_BIKE_AREAS = 500
MAX_HOSTS = 200
#: Slowest and fastest shuttle and bike speeds accepted (km/h).
SPEED_RANGE_KPH = (5.0, 130.0)
BIKE_RANGE_KPH = (5.0, 45.0)
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class ScenarioError(ValueError):
    """A scenario that cannot be evaluated: ``field`` names the faulty entry, ``message`` says why (French)."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        self.message = message
        super().__init__(f"scénario, champ « {field_name} » : {message}")


@dataclass(frozen=True)
class Stop:
    """A stop of a new line: a commune (placed at its origin point) or a point."""

    commune: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class Line:
    """A new transit line: stops in order, departures at the first stop, stop-to-stop timing."""

    name: str
    stops: tuple[Stop, ...]
    departures: tuple[int, ...]  # seconds after midnight at the first stop
    speed_kph: float | None = None
    minutes: tuple[float, ...] | None = None  # between consecutive stops
    return_departures: tuple[int, ...] = ()
    days: tuple[date, ...] = ()


@dataclass(frozen=True)
class BikeGrant:
    """Pupils of these communes (INSEE codes) or EPCI (SIREN) get a bike at ``kph``."""

    communes: tuple[str, ...] = ()
    epci: tuple[str, ...] = ()
    kph: float | None = None


@dataclass(frozen=True)
class Host:
    """A new host: at a commune's origin point or at a point, with a sector and places."""

    sector: str
    places: int
    commune: str | None = None
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A mobility scenario: new lines, bikes, new hosts. The empty scenario changes nothing."""

    name: str = "scénario"
    lines: tuple[Line, ...] = ()
    bike: BikeGrant | None = None
    hosts: tuple[Host, ...] = ()
    description: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_empty(self) -> bool:
        return not self.lines and self.bike is None and not self.hosts


def parse_hhmm(value: Any, where: str) -> int:
    """``"07:30"`` -> 27,000 seconds; ScenarioError for « 25:99 », « 7h30 », a number."""
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        raise ScenarioError(where, f"heure « {value} » invalide : attendu HH:MM, par exemple 07:30")
    h, m = (int(x) for x in value.strip().split(":"))
    if h > 23 or m > 59:
        raise ScenarioError(where, f"heure « {value} » invalide : heures de 00 à 23, minutes de 00 à 59")
    return h * 3600 + m * 60


def _number(value: Any, where: str, lo: float, hi: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(where, f"{what} : nombre attendu, reçu « {value} »")
    if not lo <= value <= hi:
        raise ScenarioError(where, f"{what} {value} hors limites ({lo:g} à {hi:g})")
    return float(value)


def _text(value: Any, where: str, default: str = "", limit: int = 200) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ScenarioError(where, f"texte attendu, reçu « {value} »")
    text = " ".join(value.split())
    try:  # markup, control, bidirectional and non-characters: refused as in imports
        validation.check_text(text)
    except validation.FieldError as exc:
        raise ScenarioError(where, str(exc)) from None
    if len(text) > limit:
        raise ScenarioError(where, f"texte trop long ({len(text)} caractères, au plus {limit})")
    return text


def _list(doc: dict, key: str, where: str, limit: int) -> list:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(where, "liste attendue")
    if len(value) > limit:
        raise ScenarioError(where, f"{len(value)} éléments : au plus {limit}")
    return value


def _place(item: Any, where: str) -> tuple[str | None, float | None, float | None]:
    """A commune code or a lon/lat point."""
    if not isinstance(item, dict):
        raise ScenarioError(where, 'attendu {"commune": "code INSEE"} ou {"lon": …, "lat": …}')
    if item.get("commune") is not None:
        code = item["commune"]
        if not isinstance(code, str) or not re.fullmatch(r"\d[0-9AB]\d{3}", code.strip()):
            raise ScenarioError(f"{where}.commune", f"code commune INSEE invalide : « {code} » (5 caractères)")
        return code.strip(), None, None
    if "lon" in item or "lat" in item:
        lon = _number(item.get("lon"), f"{where}.lon", -180, 180, "longitude")
        lat = _number(item.get("lat"), f"{where}.lat", -90, 90, "latitude")
        return None, lon, lat
    raise ScenarioError(where, 'attendu {"commune": "code INSEE"} ou {"lon": …, "lat": …}')


def _times(values: list, where: str) -> tuple[int, ...]:
    out = tuple(parse_hhmm(v, f"{where}[{k}]") for k, v in enumerate(values))
    for k in range(1, len(out)):
        if out[k] <= out[k - 1]:
            raise ScenarioError(f"{where}[{k}]", "les départs doivent être en ordre croissant, sans doublon")
    return out


def _days(line: dict, where: str) -> tuple[date, ...]:
    out = []
    for k, v in enumerate(_list(line, "days", f"{where}.days", 366)):
        try:
            out.append(date.fromisoformat(str(v)))
        except ValueError:
            raise ScenarioError(f"{where}.days[{k}]", f"date « {v} » invalide : attendu AAAA-MM-JJ") from None
    return tuple(out)


def _timing(line: dict, where: str, n_stops: int) -> tuple[float | None, tuple[float, ...] | None]:
    has_speed, has_minutes = line.get("speed_kph") is not None, line.get("minutes") is not None
    if has_speed == has_minutes:
        raise ScenarioError(where, "donner soit « speed_kph » (vitesse), soit « minutes » (entre arrêts), pas les deux")
    if has_speed:
        return _number(line["speed_kph"], f"{where}.speed_kph", *SPEED_RANGE_KPH, "vitesse (km/h)"), None
    minutes = line["minutes"]
    if not isinstance(minutes, list) or len(minutes) != n_stops - 1:
        raise ScenarioError(f"{where}.minutes", f"liste de {n_stops - 1} durées attendue (une entre deux arrêts)")
    return None, tuple(_number(m, f"{where}.minutes[{k}]", 0.5, 240, "durée (min)") for k, m in enumerate(minutes))


def _line(item: Any, k: int) -> Line:
    where = f"lines[{k}]"
    if not isinstance(item, dict):
        raise ScenarioError(where, "objet attendu (stops, departures, speed_kph ou minutes)")
    raw_stops = _list(item, "stops", f"{where}.stops", MAX_STOPS)
    if len(raw_stops) < 2:
        raise ScenarioError(f"{where}.stops", f"au moins deux arrêts, reçu {len(raw_stops)}")
    stops = tuple(Stop(*_place(s, f"{where}.stops[{j}]")) for j, s in enumerate(raw_stops))
    departures = _times(_list(item, "departures", f"{where}.departures", MAX_DEPARTURES), f"{where}.departures")
    if not departures:
        raise ScenarioError(f"{where}.departures", "au moins un départ (HH:MM)")
    back = _times(
        _list(item, "return_departures", f"{where}.return_departures", MAX_DEPARTURES), f"{where}.return_departures"
    )
    speed, minutes = _timing(item, where, len(stops))
    name = _text(item.get("name"), f"{where}.name", default=f"Navette {k + 1}", limit=80)
    return Line(name, stops, departures, speed, minutes, back, _days(item, where))


def _bike(item: Any) -> BikeGrant | None:
    if item is None:
        return None
    if isinstance(item, list):
        item = {"communes": item}
    if not isinstance(item, dict):
        raise ScenarioError("bike", 'attendu {"communes": [...], "epci": [...], "kph": 20}')
    communes = tuple(
        _place({"commune": c}, f"bike.communes[{j}]")[0]
        for j, c in enumerate(_list(item, "communes", "bike.communes", MAX_BIKE_AREAS))
    )
    epci = []
    for j, e in enumerate(_list(item, "epci", "bike.epci", MAX_BIKE_AREAS)):
        if not isinstance(e, str) or not re.fullmatch(r"\d{9}", e.strip()):
            raise ScenarioError(f"bike.epci[{j}]", f"SIREN d'EPCI invalide : « {e} » (9 chiffres)")
        epci.append(e.strip())
    kph = None if item.get("kph") is None else _number(item["kph"], "bike.kph", *BIKE_RANGE_KPH, "vitesse (km/h)")
    if not communes and not epci:
        raise ScenarioError("bike", "aucune commune ni EPCI")
    return BikeGrant(communes, tuple(epci), kph)


def _host(item: Any, k: int) -> Host:
    where = f"hosts[{k}]"
    commune, lon, lat = _place(item, where)
    sector = _text(item.get("sector"), f"{where}.sector", default="Non précisé", limit=120)
    places = _number(item.get("places", 1), f"{where}.places", 1, 1000, "nombre de places")
    if places != int(places):
        raise ScenarioError(f"{where}.places", f"nombre entier de places attendu, reçu {places:g}")
    return Host(sector or "Non précisé", int(places), commune, lon, lat)


def parse(doc: Any) -> Scenario:
    """Check a scenario document (already decoded JSON) and return a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        With the faulty field and a French message.
    """
    if not isinstance(doc, dict):
        raise ScenarioError("(document)", 'un objet JSON est attendu : {"name": …, "lines": [...], …}')
    known = {"name", "description", "lines", "bike", "hosts"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ScenarioError(unknown[0], f"champ inconnu (champs possibles : {', '.join(sorted(known))})")
    lines = tuple(_line(x, k) for k, x in enumerate(_list(doc, "lines", "lines", MAX_LINES)))
    hosts = tuple(_host(x, k) for k, x in enumerate(_list(doc, "hosts", "hosts", MAX_HOSTS)))
    return Scenario(
        name=_text(doc.get("name"), "name", default="scénario", limit=120) or "scénario",
        lines=lines,
        bike=_bike(doc.get("bike")),
        hosts=hosts,
        description=_text(doc.get("description"), "description", limit=1000),
        raw=doc,
    )


def loads(text: str | bytes, source: str = "scénario") -> Scenario:
    """Parse a JSON text; a JSON syntax error names the line and column."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            "(document)", f"{source} : JSON invalide ligne {exc.lineno}, colonne {exc.colno} ({exc.msg})"
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError("(document)", f"{source} : encodage non reconnu (UTF-8 attendu)") from None
    return parse(doc)

"""The domain objects of the per-pupil reach: :class:`PupilOrigin`, :class:`PupilReach`, :class:`ReachResult`.

A pupil is known only by the pseudonym the school chose (``eleve``); nothing here is ever
written to the database or to a file other than the export the user asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: ``status`` of a pupil whose offers were computed.
OK = "ok"
#: ``status`` of a pupil that could not be placed or computed (``reason`` says why).
REFUSED = "refusé"

#: ``origin_precision`` values, from the most to the least precise.
PRECISION_COORDS = "coordonnées"
PRECISION_ADDRESS = "adresse"
PRECISION_COMMUNE = "commune"


@dataclass(frozen=True)
class ReachRequest:
    """What a class run asks for (defaults for pupils whose row gives no ``mode`` / ``minutes``).

    Attributes
    ----------
    mode, minutes : str, int
        Default travel mode and time budget.
    date, depart : str or None
        Transit service date ``YYYY-MM-DD`` and departure ``HH:MM`` (default: the morning window).
    sectors : tuple of str
        Keep the offers of these sectors only (canonical names; empty: every sector).
    geocode : bool
        Send the addresses to the Base Adresse Nationale (online).
    geocoder_url : str or None
        Another geocoder with the same API (tests, a local instance).
    """

    mode: str
    minutes: int
    date: str | None = None
    depart: str | None = None
    sectors: tuple[str, ...] = ()
    geocode: bool = False
    geocoder_url: str | None = None


@dataclass
class PupilOrigin:
    """Where one pupil starts from, as resolved from one row of the class file.

    Attributes
    ----------
    eleve : str
        Pseudonymous id chosen by the school.
    row : int
        1-based data row of the file (header excluded).
    lon, lat : float or None
        The point the trips start from (None when refused).
    precision : str or None
        ``coordonnées``, ``adresse`` or ``commune``.
    commune_code, commune_name : str or None
        The commune the point was found in or placed at.
    mode : str or None
        The pupil's mode (the row's ``mode`` column, else the command's).
    minutes : int or None
        The pupil's time budget (the row's ``minutes`` column, else the command's).
    reason : str or None
        Why the row is refused (French), None when usable.
    note : str or None
        A remark for a usable row (address not found: placed at the commune's point).
    """

    eleve: str
    row: int
    lon: float | None = None
    lat: float | None = None
    precision: str | None = None
    commune_code: str | None = None
    commune_name: str | None = None
    mode: str | None = None
    minutes: int | None = None
    reason: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None and self.lon is not None and self.lat is not None

    def refuse(self, reason: str) -> PupilOrigin:
        """Mark the row refused (keeps the first reason)."""
        if self.reason is None:
            self.reason = reason
        return self


@dataclass
class PupilReach:
    """The offers one pupil reaches.

    Attributes
    ----------
    origin : PupilOrigin
    offers : list of dict
        Sorted by minutes: ``offer_id``, ``minutes``, ``sector``, ``employer``, ``commune``,
        ``commune_code``, ``address``, ``location_precision``, ``is_estimate`` and, by transit,
        ``departure`` (``{"line", "stop", "time", "headsign"}``, None when walking the whole way).
    """

    origin: PupilOrigin
    offers: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return OK if self.origin.ok else REFUSED

    @property
    def nearest_minutes(self) -> float | None:
        return self.offers[0]["minutes"] if self.offers else None

    @property
    def sectors(self) -> list[str]:
        """Sectors within reach, alphabetical."""
        return sorted({str(o["sector"]) for o in self.offers if o.get("sector")})

    def to_dict(self) -> dict[str, Any]:
        o = self.origin
        return {
            "eleve": o.eleve,
            "status": self.status,
            "reason": o.reason,
            "origin_precision": o.precision,
            "note": o.note,
            "commune": o.commune_name,
            "mode": o.mode,
            "minutes": o.minutes,
            "offers": self.offers,
        }


@dataclass
class ReachResult:
    """Every pupil's reachable offers for one class file.

    Attributes
    ----------
    mode : str
        Default mode of the run.
    minutes : int
        Default time budget.
    pupils : list of PupilReach
        In the order of the file.
    date, depart : str or None
        Transit service date and departure time when given.
    sectors : tuple of str
        Sector filter (empty: every sector).
    service_date : str or None
        The transit service date actually used.
    notes : list of str
        Remarks on the whole file (lines skipped before the header...).
    """

    mode: str
    minutes: int
    pupils: list[PupilReach]
    date: str | None = None
    depart: str | None = None
    sectors: tuple[str, ...] = ()
    service_date: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "minutes": self.minutes,
            "date": self.date,
            "service_date": self.service_date,
            "depart": self.depart,
            "sectors": list(self.sectors),
            "notes": self.notes,
            "pupils": [p.to_dict() for p in self.pupils],
        }

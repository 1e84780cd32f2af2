"""Field checks for imported rows: SIRET / SIREN check digits, postcodes, dates, weeks, capacities.

Every check is a pure function returning the cleaned value or raising :class:`FieldError`
with a French reason; the importers (:mod:`analysis.imports`) turn a ``FieldError`` into a
quarantine row naming the file, row and field.

SIRET / SIREN
    A SIREN (9 digits) and a SIRET (14 digits = SIREN + 5-digit NIC) carry a Luhn check digit.
    La Poste is the documented exception: its SIREN 356 000 000 has thousands of
    establishments, more than the Luhn scheme allows, so a La Poste SIRET is valid when the sum
    of its 14 digits is a multiple of 5 (INSEE rule); its head office (356 000 000 00048) keeps
    the Luhn key.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from analysis.config import DEPARTEMENTS
from analysis.sanitize import REFUSED_CHARS as _REFUSED
from analysis.sanitize import text_problem

#: SIREN of La Poste, the exception to the SIRET Luhn rule.
LA_POSTE_SIREN = "356000000"
#: SIRET of La Poste's head office, which keeps the Luhn key.
LA_POSTE_HEAD_OFFICE = "35600000000048"
#: Largest number of places accepted for one offer (a larger value is taken as a typing error).
MAX_CAPACITY = 200
#: Longest text accepted in a field (longer values are quarantined, not truncated).
MAX_FIELD_CHARS = 2000
#: Dates outside this range are "impossible" for an internship offer.
MIN_YEAR, MAX_YEAR = 2020, 2040

_YES = {"oui", "o", "vrai", "true", "1", "yes", "y", "x"}
_NO = {"non", "n", "faux", "false", "0", "no", ""}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


class FieldError(ValueError):
    """A field value is invalid; ``str(exc)`` is the French reason."""


def luhn_ok(digits: str) -> bool:
    """Return True when a digit string passes the Luhn (mod 10) check.

    Examples
    --------
    >>> luhn_ok("732829320")
    True
    >>> luhn_ok("732829321")
    False
    """
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def siret_ok(siret: str) -> bool:
    """Return True for a valid SIRET (14 digits, Luhn, or La Poste's sum-of-digits rule)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_HEAD_OFFICE:
        return sum(ord(c) - 48 for c in siret) % 5 == 0
    return luhn_ok(siret)


def siren_ok(siren: str) -> bool:
    """Return True for a valid SIREN (9 digits, Luhn)."""
    return len(siren) == 9 and siren.isdigit() and luhn_ok(siren)


def clean_siret(value: str) -> str | None:
    """Strip spaces and dots; return None when empty.

    Raises
    ------
    FieldError
        Not 14 digits, or wrong check digit.
    """
    s = re.sub(r"[\s.]", "", value or "")
    if not s:
        return None
    if len(s) != 14 or not s.isdigit():
        raise FieldError(f"SIRET invalide « {shorten(value)} » : 14 chiffres attendus")
    if not siret_ok(s):
        raise FieldError(f"SIRET invalide « {s} » : clé de contrôle (Luhn) incorrecte")
    return s


def clean_siren(value: str) -> str:
    """A required SIREN (EPCI, company). Raises FieldError when missing or invalid."""
    s = re.sub(r"\s", "", value or "")
    if not s:
        raise FieldError("SIREN manquant")
    if not siren_ok(s):
        raise FieldError(f"SIREN invalide « {shorten(value)} » : 9 chiffres avec clé de Luhn attendus")
    return s


def clean_postcode(value: str) -> str:
    """A 5-digit postcode of a Normandie département.

    Raises
    ------
    FieldError
        Missing, not 5 digits, or outside Normandie (14, 27, 50, 61, 76).
    """
    s = re.sub(r"\s", "", value or "")
    if not s:
        raise FieldError("code postal manquant")
    if len(s) != 5 or not s.isdigit():
        raise FieldError(f"code postal invalide « {shorten(value)} » : 5 chiffres attendus")
    if s[:2] not in DEPARTEMENTS:
        raise FieldError(f"code postal hors Normandie « {s} » (départements {', '.join(DEPARTEMENTS)})")
    return s


def clean_required(value: str, what: str) -> str:
    """A non-empty text field (stripped)."""
    s = (value or "").strip()
    if not s:
        raise FieldError(f"{what} manquant(e)")
    return s


def clean_text(value: str) -> str | None:
    """An optional text field: stripped, None when empty."""
    s = (value or "").strip()
    return s or None


def clean_bool(value: str) -> bool | None:
    """oui/non, vrai/faux, true/false, 1/0, x; None when empty."""
    s = (value or "").strip().lower()
    if not s:
        return None
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise FieldError(f"oui ou non attendu, trouvé « {shorten(value)} »")


def clean_capacity(value: str) -> int | None:
    """Number of places: a whole number from 1 to :data:`MAX_CAPACITY`; None when empty (unknown)."""
    s = (value or "").strip()
    if not s:
        return None
    try:
        f = float(s.replace(",", "."))
    except ValueError:
        raise FieldError(f"nombre de places attendu, trouvé « {shorten(value)} »") from None
    if not math.isfinite(f) or f != int(f):
        raise FieldError(f"nombre de places entier attendu, trouvé « {shorten(value)} »")
    n = int(f)
    if n < 1 or n > MAX_CAPACITY:
        raise FieldError(f"nombre de places impossible : {n} (attendu de 1 à {MAX_CAPACITY})")
    return n


def clean_date(value: str) -> dt.date | None:
    """A date (AAAA-MM-JJ or JJ/MM/AAAA) between 2020 and 2040; None when empty."""
    s = (value or "").strip()
    if not s:
        return None
    for fmt in _DATE_FORMATS:
        try:
            d = dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        if not MIN_YEAR <= d.year <= MAX_YEAR:
            raise FieldError(f"date impossible « {s} » (année hors {MIN_YEAR}-{MAX_YEAR})")
        return d
    raise FieldError(f"date invalide « {shorten(value)} » (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")


def check_period(start: dt.date | None, end: dt.date | None) -> None:
    """Raise FieldError when the end date is before the start date."""
    if start is not None and end is not None and end < start:
        raise FieldError(f"date de fin {end.isoformat()} antérieure à la date de début {start.isoformat()}")


_WEEK_ITEM = re.compile(r"^(?:(\d{4})-?)?[sSwW]?(\d{1,2})(?:\s*-\s*[sSwW]?(\d{1,2}))?$")


def clean_weeks(value: str) -> str | None:
    """ISO week numbers: "25", "S25-S26", "24, 26", "2026-W25"; normalised to "25,26"; None when empty."""
    s = (value or "").strip()
    if not s:
        return None
    weeks: list[int] = []
    for item in re.split(r"[;,/ ]+(?=[\dsSwW])", s):
        m = _WEEK_ITEM.match(item.strip())
        if not m:
            raise FieldError(f"semaines invalides « {shorten(value)} » (ex. « 25 », « S25-S26 », « 24, 26 »)")
        a = int(m.group(2))
        b = int(m.group(3)) if m.group(3) else a
        if not (1 <= a <= 53 and 1 <= b <= 53) or b < a:
            raise FieldError(f"numéro de semaine impossible dans « {shorten(value)} » (1 à 53)")
        weeks.extend(range(a, b + 1))
    return ",".join(str(w) for w in sorted(set(weeks)))


def clean_grades(value: str) -> str:
    """Grades of an offer: "seconde", "3e" or "seconde,3e" (platform codes accepted too)."""
    s = (value or "").strip().lower()
    platform = {
        "seconde_only": "seconde",
        "seconde_troisieme_or_quatrieme": "seconde,3e",
        "troisieme_or_quatrieme": "3e",
    }
    if s in platform:
        return platform[s]
    if not s:
        raise FieldError("niveau manquant (seconde, 3e ou seconde,3e)")
    found = set()
    for part in re.split(r"[,;/+ ]+|\bet\b", s):
        part = part.strip().replace("è", "e")
        if not part:
            continue
        if part in {"seconde", "2nde", "2de", "2nd", "2e"}:
            found.add("seconde")
        elif part in {"3e", "3eme", "troisieme", "3"}:
            found.add("3e")
        else:
            raise FieldError(f"niveau inconnu « {shorten(value)} » (attendu : seconde, 3e ou seconde,3e)")
    return ",".join(g for g in ("seconde", "3e") if g in found)


def clean_lonlat(lon: str, lat: str, bbox: tuple[float, float, float, float]) -> tuple[float, float] | None:
    """Optional WGS84 coordinates, both or none, inside ``bbox`` (lon_min, lat_min, lon_max, lat_max)."""
    a, b = (lon or "").strip(), (lat or "").strip()
    if not a and not b:
        return None
    if not a or not b:
        raise FieldError("longitude et latitude doivent être données ensemble")
    try:
        x, y = float(a.replace(",", ".")), float(b.replace(",", "."))
    except ValueError:
        raise FieldError(f"coordonnées non numériques « {shorten(a)} ; {shorten(b)} »") from None
    if not (bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]):
        raise FieldError(f"coordonnées hors de Normandie ({x}, {y}) : longitude puis latitude en degrés WGS84")
    return x, y


def check_length(value: str) -> None:
    """Raise FieldError for a value longer than :data:`MAX_FIELD_CHARS`."""
    if value is not None and len(value) > MAX_FIELD_CHARS:
        raise FieldError(f"valeur trop longue ({len(value)} caractères, maximum {MAX_FIELD_CHARS})")


#: Bidirectional embedding / override / isolate controls: invisible, they reorder the text shown
#: (« U+202E » makes « exe.pdf » read « fdp.exe »).
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
#: Unicode noncharacters (U+FDD0–U+FDEF and U+xxFFFE / U+xxFFFF of every plane) and lone
#: surrogates: never text; U+FFFE and U+FFFF also make an XLSX file unreadable.
NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff" + "".join(
    f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17)
)
_INVISIBLE = re.compile(f"[{BIDI_CONTROLS}{NONCHARACTERS}]")


def invisible_problem(value: str | None) -> str | None:
    """Why ``value`` is refused for an invisible or invalid character (French reason naming
    the character and its position), or None: bidirectional controls (:data:`BIDI_CONTROLS`)
    and noncharacters (:data:`NONCHARACTERS`)."""
    m = _INVISIBLE.search(value) if value else None
    if m is None:
        return None
    code, pos = ord(m.group()), m.start() + 1
    if re.fullmatch(f"[{BIDI_CONTROLS}]", m.group()):
        return (
            f"caractère invisible de sens d'écriture (U+{code:04X}) en position {pos} : il peut inverser ou "
            "masquer le texte affiché ; retirez-le"
        )
    return (
        f"caractère non valide (U+{code:04X}, « non-caractère » Unicode) en position {pos} : fichier corrompu "
        "ou mal converti ?"
    )


def strip_invisible(value: str) -> str:
    """``value`` without bidirectional controls and noncharacters (for a name only recorded or
    shown, like an uploaded file name)."""
    return _INVISIBLE.sub("", value)


def check_text(value: str) -> None:
    """Raise FieldError for a text field that is too long, holds markup (``<``, ``>``),
    control characters (NUL, other C0/C1 codes, line breaks: see :mod:`analysis.sanitize`),
    bidirectional controls or noncharacters (:func:`invisible_problem`)."""
    if value is not None and len(value) > MAX_FIELD_CHARS:
        check_length(value)
    if value and _REFUSED.search(value):
        raise FieldError(text_problem(value))
    reason = invisible_problem(value)
    if reason:
        raise FieldError(reason)


def shorten(value: Any, n: int = 40) -> str:
    """``value`` as text cut to ``n`` characters (an ellipsis ends a cut one), for French messages."""
    s = str(value if value is not None else "")
    return s if len(s) <= n else s[: n - 1] + "…"

"""French text: numbers as shown on screen and in reports, and place names for matching.

Numbers (the one formatter of the project, for pages, maps, charts and reports): thousands
separated by a narrow no-break space (U+202F, the French typographic rule; it never breaks a
number across lines and DejaVu Sans, the PDF font, has it), a decimal comma, the same narrow
no-break space before ``%``, and an em dash ``—`` for a missing value.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

#: Narrow no-break space: thousands separator and space before "%".
NNBSP = "\u202f"
#: Shown for a missing (None, NaN, NA) value.
MISSING = "\u2014"


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    try:  # numbers, numpy scalars, numeric text ("12.5")
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def format_number(value: Any, decimals: int = 0) -> str:
    """A number in French: ``36780`` -> ``'36 780'``, ``1234.5`` -> ``'1 234,5'``
    (narrow no-break spaces); :data:`MISSING` for None, NaN, NA or text that is not a number.

    Examples
    --------
    >>> format_number(1234567.891, 2) == "1\u202f234\u202f567,89"
    True
    >>> format_number(None)
    '—'
    """
    v = _as_float(value)
    if v is None:
        return MISSING
    text = f"{v:,.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # -0,0 -> 0,0
    return text.replace(",", NNBSP).replace(".", ",")


def format_percent(share: Any, decimals: int = 1) -> str:
    """A share 0–1 as a French percentage: ``0.125`` -> ``'12,5 %'`` (narrow no-break space)."""
    v = _as_float(share)
    return MISSING if v is None else format_number(100 * v, decimals) + NNBSP + "%"

_ARTICLE_SUFFIX = re.compile(r"^(?P<name>.+?)\s*\((?P<art>le|la|les|l')\)$", re.IGNORECASE)
_CEDEX = re.compile(r"\bcedex\b(\s*\d+)?", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def strip_accents(text: str) -> str:
    """Remove diacritics (``"Évreux"`` -> ``"Evreux"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("œ", "oe").replace(
        "Œ", "OE"
    ).replace("æ", "ae").replace("Æ", "AE")


def normalize_name(text: str | None) -> str:
    """Normalise a town name for comparison.

    Lower-cases, removes accents, turns hyphens, apostrophes and punctuation into single
    spaces, drops "CEDEX" suffixes and trailing digits, expands "St"/"Ste", and moves a
    trailing article in brackets to the front ("Havre (Le)" -> "le havre").

    Parameters
    ----------
    text : str or None

    Returns
    -------
    str
        The normalised name ("" for empty input).

    Examples
    --------
    >>> normalize_name("Cherbourg-en-Cotentin") == normalize_name("cherbourg en cotentin")
    True
    >>> normalize_name("ST-LO CEDEX 2")
    'saint lo'
    """
    if text is None:
        return ""
    s = str(text).strip()
    if not s:
        return ""
    m = _ARTICLE_SUFFIX.match(s)
    if m:
        s = f"{m.group('art')} {m.group('name')}"
    s = strip_accents(s).lower()
    s = _CEDEX.sub(" ", s)
    s = _NON_ALNUM.sub(" ", s)
    words = [_ABBREVIATIONS.get(w, w) for w in s.split()]
    while words and words[-1].isdigit():
        words.pop()
    return " ".join(words)

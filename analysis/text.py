"""Normalisation of French place names for matching (case-, accent-, hyphen-insensitive)."""

from __future__ import annotations

import re
import unicodedata

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

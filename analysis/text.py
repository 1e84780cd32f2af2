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
    return (
        "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        .replace("œ", "oe")
        .replace("Œ", "OE")
        .replace("æ", "ae")
        .replace("Æ", "AE")
    )


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


# --------------------------------------------------------------------------------------------
# French grammar for territory names, counts and ranges (UI text; no Streamlit)
# --------------------------------------------------------------------------------------------

#: Article of each Normandie département name (``le``, ``la``, ``l'``) by INSEE code.
DEPARTEMENT_ARTICLES: dict[str, str] = {"14": "le", "27": "l'", "50": "la", "61": "l'", "76": "la"}
#: Départements whose names are said with « en » (« en Seine-Maritime »), not « dans la ».
_DEPARTEMENTS_EN = frozenset({"76"})
_NAME_ARTICLES = {"le": "le", "la": "la", "les": "les", "l'": "l'", "l’": "l'"}
_VOWELS = frozenset("aeiouyhàâäéèêëîïôöùûüœæ")
#: Thin no-break space between thousands (as :func:`analysis.outputs.maps.format_number`).
THOUSANDS = "\u202f"


def _starts_with_vowel(text: str) -> bool:
    return bool(text) and text[0].lower() in _VOWELS


def _split_article(name: str) -> tuple[str | None, str]:
    """(« le », « Havre ») for « Le Havre »; (None, name) when the name has no article."""
    m = re.match(r"^(Le|La|Les)\s+(.+)$|^(L['’])\s*(.+)$", name)
    if not m:
        return None, name
    if m.group(1):
        return m.group(1).lower(), m.group(2)
    return "l'", m.group(4)


def _article(name: str, level: str, code: str | None) -> str | None:
    """The article a territory takes before its name (None: none, e.g. a commune)."""
    if level == "region":
        return "la"
    if level == "departement":
        if code in DEPARTEMENT_ARTICLES:
            return DEPARTEMENT_ARTICLES[code]
        return "l'" if _starts_with_vowel(name) else "le"
    if level == "epci":  # communauté (CC, CA, CU) or métropole: feminine
        return "la"
    return None


def _join(article: str, name: str) -> str:
    return f"{article}{name}" if article.endswith("'") else f"{article} {name}"


def with_article(name: str, level: str, code: str | None = None) -> str:
    """« le Calvados », « la CU Caen la Mer », « la Normandie », « Caen ».

    Parameters
    ----------
    name : str
        Territory name as stored (« Orne », « CC du Pays Fertois », « Le Havre »).
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str, optional
        INSEE code of a département (its article is known by code).
    """
    art = _article(name, level, code)
    return name if art is None else _join(art, name)


def of_territory(name: str, level: str, code: str | None = None) -> str:
    """« de » + territory: « du Calvados », « de l'Orne », « de la Manche », « de Normandie »,
    « de la CU Caen la Mer », « de Vire Normandie », « du Havre », « d'Évreux ».

    Examples
    --------
    >>> of_territory("Orne", "departement", "61")
    "de l'Orne"
    >>> of_territory("Normandie", "region")
    'de Normandie'
    """
    if level == "region":
        return ("d'" if _starts_with_vowel(name) else "de ") + name
    art = _article(name, level, code)
    if art is None:  # a commune: its own article contracts (« du Havre », « des Andelys »)
        own, rest = _split_article(name)
        if own == "le":
            return f"du {rest}"
        if own == "les":
            return f"des {rest}"
        if own is not None:  # La, L' stay: « de La Ferté-Macé », « de L'Aigle »
            return f"de {name}"
        return ("d'" if _starts_with_vowel(name) else "de ") + name
    if art == "le":
        return f"du {name}"
    if art == "les":
        return f"des {name}"
    return "de " + _join(art, name)


def in_territory(name: str, level: str, code: str | None = None) -> str:
    """Location: « en Normandie », « dans le Calvados », « dans l'Orne », « en Seine-Maritime »,
    « dans la CU Caen la Mer », « à Vire Normandie », « au Havre », « aux Andelys »."""
    if level == "region":
        return f"en {name}"
    if level == "departement" and code in _DEPARTEMENTS_EN:
        return f"en {name}"
    art = _article(name, level, code)
    if art is None:
        own, rest = _split_article(name)
        if own == "le":
            return f"au {rest}"
        if own == "les":
            return f"aux {rest}"
        return f"à {name}"
    return "dans " + _join(art, name)


def format_count(n: float | int) -> str:
    """A whole number with thin-space thousands (« 2 644 »)."""
    return f"{int(round(float(n))):,d}".replace(",", THOUSANDS)


def plural(n: float | int, singular: str, plural_form: str | None = None) -> str:
    """The noun phrase agreeing with ``n`` (French rule: plural from 2): « départ » for 1,
    « départs » for 2. ``plural_form`` defaults to each word + « s »."""
    if abs(float(n)) < 2:
        return singular
    if plural_form is not None:
        return plural_form
    return " ".join(w if w.endswith(("s", "x", "z")) else w + "s" for w in singular.split(" "))


def count(n: float | int, singular: str, plural_form: str | None = None) -> str:
    """« 1 départ », « 2 644 communes renseignées » (number and agreeing noun phrase).

    Examples
    --------
    >>> count(1, "départ")
    '1 départ'
    >>> count(2644, "commune renseignée")
    '2\\u202f644 communes renseignées'
    """
    return f"{format_count(n)} {plural(n, singular, plural_form)}"


def value_range(low: str, high: str, prefix: str = "de ", middle: str = " à ") -> str:
    """« de 12 % à 100 % », or one value when both ends are the same text (« 100 % »)."""
    if low == high:
        return low
    return f"{prefix}{low}{middle}{high}"


def lower_first(label: str) -> str:
    """A label inside a sentence: first letter lowered only (« TER » stays in capitals)."""
    return label[:1].lower() + label[1:]


#: Plural units and their singular (French: singular below 2, « 1 départ », « 1,5 offre »).
_UNIT_SINGULAR: dict[str, str] = {
    "départs": "départ",
    "arrêts": "arrêt",
    "offres": "offre",
    "élèves": "élève",
    "projets": "projet",
    "communes": "commune",
    "origines": "origine",
    "places": "place",
    "secteurs": "secteur",
    "habitants": "habitant",
    "lignes": "ligne",
    "lycées": "lycée",
}


def agree_unit(value: float, unit: str) -> str:
    """``unit`` agreeing with ``value``: « départ » for 1, « départs » for 2 (plural units of
    :data:`_UNIT_SINGULAR` only; compound units such as « offres/100 élèves » unchanged)."""
    try:
        small = abs(float(value)) < 2
    except (TypeError, ValueError):
        return unit
    return _UNIT_SINGULAR.get(unit, unit) if small else unit


def end_sentence(text: str) -> str:
    """``text`` ending with one full stop (« …, etc. » is not given a second one).

    Examples
    --------
    >>> end_sentence("capacité inconnue : A, B, etc.")
    'capacité inconnue : A, B, etc.'
    >>> end_sentence("il manque 2 places")
    'il manque 2 places.'
    """
    text = text.rstrip()
    return text if text.endswith((".", "…", "!", "?")) else text + "."


def of_noun(noun: str) -> str:
    """« de » before a noun, elided before a vowel: « d'EPCI », « de commune », « d'établissement »."""
    return ("d'" if _starts_with_vowel(noun) else "de ") + noun

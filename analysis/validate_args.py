"""Checks of user-given arguments, shared by the pages (URL parameters) and the command lines.

One function per kind of argument: territory codes, sectors, time budgets, travel modes,
choices among a few values and geographic points. Each returns the canonical value or raises
:class:`ArgumentError` whose message is one French line saying what was given, why it is
refused and what is accepted (close matches for a sector, the corrected order for a point
whose latitude and longitude look swapped).

The pages show that message in a visible notice and then use their default value
(:func:`ui.core.qp_get`); the command lines print it on one line of stderr and exit with
code 2 (:class:`ArgParser`, :func:`fail`).

This module is UI-free; only :func:`known_territories` reads the database.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from analysis import catalogue, config
from analysis.text import of_noun, strip_accents

#: Territory levels whose codes can be given (region, départements, EPCI, communes).
TERRITORY_LEVELS: tuple[str, ...] = ("commune", "epci", "departement", "region")
#: French names of the levels, for messages.
LEVEL_NAMES: dict[str, str] = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}
_CODE_SHAPES: dict[str, str] = {
    "commune": "un code INSEE de commune à 5 caractères (ex. 14118)",
    "epci": "un SIREN d'EPCI à 9 chiffres (ex. 200065597)",
    "departement": "un code de département normand (" + ", ".join(config.DEPARTEMENTS) + ")",
    "region": f"le code de la région ({config.REGION_CODE})",
}
_UNKNOWN: dict[str, str] = {
    "commune": "Commune inconnue",
    "epci": "EPCI inconnu",
    "departement": "Département inconnu",
    "region": "Région inconnue",
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


class ArgumentError(ValueError):
    """A user-given argument is unknown or out of range (message: one French line)."""


# --------------------------------------------------------------------------------------------
# text matching
# --------------------------------------------------------------------------------------------


def match_key(text: Any) -> str:
    """Case-, accent-, ligature- and punctuation-insensitive key of a label.

    Examples
    --------
    >>> match_key("Cœur Côte-Fleurie") == match_key("coeur cote fleurie")
    True
    >>> match_key("  ÉNERGIE ")
    'energie'
    """
    s = strip_accents(str(text or "")).casefold()
    return " ".join(_NON_ALNUM.sub(" ", s).split())


def close_matches(value: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` choices resembling ``value`` (same key prefix, or similar spelling)."""
    choices = list(choices)
    key = match_key(value)
    if not key:
        return []
    by_key: dict[str, str] = {}
    for c in choices:
        by_key.setdefault(match_key(c), c)
    found = [by_key[k] for k in by_key if key in k or (len(k) >= 3 and k in key)]
    for k in difflib.get_close_matches(key, list(by_key), n=n, cutoff=0.6):
        if by_key[k] not in found:
            found.append(by_key[k])
    return found[:n]


def _quote(value: Any) -> str:
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "…"
    return f"« {text} »"


def _list(values: Iterable[Any], last: str = "ou") -> str:
    values = [str(v) for v in values]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + f" {last} " + values[-1]


# --------------------------------------------------------------------------------------------
# choices: modes, grades, levels, hosts…
# --------------------------------------------------------------------------------------------


def check_choice(value: Any, choices: Sequence[str] | Mapping[str, str], what: str) -> str:
    """``value`` as one of ``choices`` (exact, else case/accent-insensitive on the value or,
    for a mapping, on its French label).

    Parameters
    ----------
    value : str
    choices : sequence of str or mapping value -> French label
    what : str
        French name of the argument with its article ("le mode de déplacement").

    Raises
    ------
    ArgumentError
    """
    text = "" if value is None else str(value).strip()
    if text in choices:
        return text
    key = match_key(text)
    labels = dict(choices) if isinstance(choices, Mapping) else {c: c for c in choices}
    for c, label in labels.items():
        if key and key in (match_key(c), match_key(label)):
            return c
    # "code « label »": a label may hold its own parentheses ("Lycées (effectifs réels)")
    shown = [f"{c} « {labels[c]} »" if labels[c] != c and c else (c or "vide") for c in labels]
    if len(shown) > 12:
        raise ArgumentError(f"Valeur inconnue pour {what} : {_quote(text)} (aucune des {len(shown)} valeurs possibles)")
    raise ArgumentError(f"Valeur inconnue pour {what} : {_quote(text)} (valeurs possibles : {_list(shown)})")


def check_mode(value: Any, modes: Sequence[str] | Mapping[str, str] | None = None) -> str:
    """A travel mode among ``modes`` (default: the catalogue's modes, :data:`analysis.catalogue.MODES`)."""
    if modes is None:  # the refusal names each mode with its label, not only its code
        modes = {m: catalogue.mode_label(m) for m in catalogue.MODES}
    return check_choice(value, modes, "le mode de déplacement")


def check_budget(value: Any, allowed: Collection[int] | None = None, horizon: float | None = None) -> int:
    """A time budget in whole minutes.

    Parameters
    ----------
    value : str or int
    allowed : collection of int, optional
        The only accepted budgets (the pages: those of the budget slider).
    horizon : float, optional
        Without ``allowed``: any whole number of minutes from 1 to ``horizon`` (the horizon
        of the computed travel times; default ``config.DEFAULT_MAX_MINUTES``).

    Raises
    ------
    ArgumentError
    """
    text = str(value).strip().lower().removesuffix("min").strip()
    try:
        minutes = int(text)
    except ValueError:
        try:
            f = float(text.replace(",", "."))
        except ValueError:
            raise ArgumentError(
                f"Budget-temps invalide : {_quote(value)} (attendu : un nombre entier de minutes)"
            ) from None
        if not f.is_integer():
            raise ArgumentError(
                f"Budget-temps invalide : {_quote(value)} (attendu : un nombre entier de minutes)"
            ) from None
        minutes = int(f)
    if allowed is not None:
        if minutes not in allowed:
            raise ArgumentError(
                f"Budget-temps de {minutes} min non disponible (valeurs possibles : {_list(sorted(allowed))} min)"
            )
        return minutes
    top = int(horizon if horizon is not None else config.DEFAULT_MAX_MINUTES)
    if not 1 <= minutes <= top:
        raise ArgumentError(
            f"Budget-temps de {minutes} min hors limites (attendu : de 1 à "
            f"{top} min, horizon des temps de trajet calculés)"
        )
    return minutes


# --------------------------------------------------------------------------------------------
# sectors
# --------------------------------------------------------------------------------------------


def check_sector(value: Any, sectors: Sequence[str]) -> str:
    """The canonical sector matching ``value`` (exact, else case- and accent-insensitive).

    Raises
    ------
    ArgumentError
        Unknown sector; the message lists close matches when there are some.

    Examples
    --------
    >>> check_sector("enseignement", ["Enseignement", "Énergie"])
    'Enseignement'
    >>> check_sector("energie", ["Enseignement", "Énergie"])
    'Énergie'
    """
    text = "" if value is None else str(value).strip()
    if text in sectors:
        return text
    key = match_key(text)
    for s in sectors:
        if key and match_key(s) == key:
            return s
    near = close_matches(text, sectors)
    hint = (
        f" ; secteurs proches : {_list([_quote(s) for s in near])}"
        if near
        else f" ; aucun secteur proche parmi les {len(sectors)} secteurs connus (ex. "
        f"{_list([_quote(s) for s in list(sectors)[:3]], 'et')})"
    )
    raise ArgumentError(f"Secteur d'activité inconnu : {_quote(text)}{hint}")


def check_sectors(values: Iterable[Any], sectors: Sequence[str]) -> tuple[str, ...]:
    """:func:`check_sector` for each value (canonical, duplicates removed, order kept)."""
    out: list[str] = []
    for v in values:
        s = check_sector(v, sectors)
        if s not in out:
            out.append(s)
    return tuple(out)


# --------------------------------------------------------------------------------------------
# territories
# --------------------------------------------------------------------------------------------


def infer_level(code: str) -> str | None:
    """Territory level a code's shape implies (None when it fits none).

    ``28`` is the region, a two-character code a département, five characters a commune
    (INSEE code, ``2A``/``2B`` included), nine digits an EPCI (SIREN).
    """
    code = str(code).strip()
    if code == config.REGION_CODE:
        return "region"
    if re.fullmatch(r"\d{2}", code):
        return "departement"
    if re.fullmatch(r"(\d{2}|2[AB])\d{3}", code, flags=re.IGNORECASE):
        return "commune"
    if re.fullmatch(r"\d{9}", code):
        return "epci"
    return None


def check_territory(
    code: Any, level: str | None, known: Mapping[str, Mapping[str, str] | Collection[str]]
) -> tuple[str, str]:
    """The (level, code) of a known territory.

    Parameters
    ----------
    code : str
        INSEE commune code, EPCI SIREN, département code or ``28``.
    level : str, optional
        Expected level; None: implied by the code's shape (:func:`infer_level`).
    known : mapping level -> codes (or code -> name)
        The territories that exist, per level (only the levels offered by the caller).

    Raises
    ------
    ArgumentError
        Unknown level, a code of the wrong shape, or a code that is not in ``known``.
    """
    raw = "" if code is None else str(code).strip()
    text = raw.upper()
    if level is not None and level not in known:
        raise ArgumentError(f"Niveau territorial inconnu : {_quote(level)} (valeurs possibles : {_list(known)})")
    if not text:
        raise ArgumentError("Code de territoire manquant")
    shape = infer_level(text)
    lv = level or shape
    if lv is None or lv not in known:
        expected = _list([_CODE_SHAPES[x] for x in known if x in _CODE_SHAPES])
        raise ArgumentError(f"Code de territoire non reconnu : {_quote(raw)} (attendu : {expected})")
    if text in known[lv]:
        return lv, text
    if shape != lv:
        raise ArgumentError(
            f"Code {of_noun(LEVEL_NAMES.get(lv, lv))} invalide : {_quote(raw)} "
            f"(attendu : {_CODE_SHAPES.get(lv, 'un code connu')})"
        )
    raise ArgumentError(
        f"{_UNKNOWN.get(lv, 'Territoire inconnu')} : {_quote(raw)} (aucun "
        f"territoire de ce code en {config.REGION_NAME} dans la base)"
    )


def known_territories(con, levels: Iterable[str] = TERRITORY_LEVELS) -> dict[str, dict[str, str]]:
    """Codes and names of the territories of the database, per level."""
    sql = {
        "commune": "SELECT code, name FROM communes",
        "epci": "SELECT siren, name FROM epci",
        "departement": "SELECT code, name FROM departements",
    }
    out: dict[str, dict[str, str]] = {}
    for lv in levels:
        if lv == "region":
            out[lv] = {config.REGION_CODE: config.REGION_NAME}
        else:
            out[lv] = {str(c): str(n) for c, n in con.execute(sql[lv]).fetchall()}
    return out


# --------------------------------------------------------------------------------------------
# points
# --------------------------------------------------------------------------------------------


def _inside(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def check_point(
    lon: float,
    lat: float,
    bbox: tuple[float, float, float, float] = config.NORMANDIE_BBOX,
    margin: float = config.BBOX_MARGIN_DEG,
) -> tuple[float, float]:
    """A (lon, lat) point in Normandie (its bounding box widened by ``margin`` degrees).

    Raises
    ------
    ArgumentError
        Point outside the area; when the point with latitude and longitude exchanged is
        inside, the message says the order looks swapped and gives the corrected point.

    Examples
    --------
    >>> check_point(-0.36, 49.179)
    (-0.36, 49.179)
    """
    box = (bbox[0] - margin, bbox[1] - margin, bbox[2] + margin, bbox[3] + margin)
    lon, lat = float(lon), float(lat)
    if _inside(lon, lat, box):
        return lon, lat
    given = f"{_num(lon)},{_num(lat)}"
    if _inside(lat, lon, box):
        raise ArgumentError(
            f"Point {given} hors de {config.REGION_NAME} : longitude et latitude "
            f"semblent inversées (ordre attendu LON,LAT, soit "
            f"{_num(lat)},{_num(lon)})"
        )
    raise ArgumentError(
        f"Point {given} hors de {config.REGION_NAME} (attendu LON,LAT avec une "
        f"longitude de {_num(box[0])} à {_num(box[2])} et une latitude de "
        f"{_num(box[1])} à {_num(box[3])})"
    )


def _num(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".")


def parse_point(text: str, **kw: Any) -> tuple[float, float]:
    """A ``"LON,LAT"`` text as a checked point (:func:`check_point`)."""
    try:
        lon, lat = (float(x) for x in str(text).split(","))
    except ValueError:
        raise ArgumentError(f"Coordonnées attendues « LON,LAT » (ex. -0.36,49.18), reçu {_quote(text)}") from None
    return check_point(lon, lat, **kw)


# --------------------------------------------------------------------------------------------
# command lines
# --------------------------------------------------------------------------------------------

_ARGPARSE_FR = (
    (re.compile(r"the following arguments are required: (.*)"), r"arguments obligatoires manquants : \1"),
    (re.compile(r"unrecognized arguments: (.*)"), r"arguments inconnus : \1"),
    (re.compile(r"argument (\S+): expected one argument"), r"l'argument \1 attend une valeur"),
    (
        re.compile(r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)"),
        r"argument \1 : valeur \2 inconnue (valeurs possibles : \3)",
    ),
    (re.compile(r"argument (\S+): invalid (\w+) value: (.*)"), r"argument \1 : valeur \3 invalide"),
    (re.compile(r"argument (\S+): not allowed with argument (.*)"), r"argument \1 : incompatible avec \2"),
    (re.compile(r"argument (\S+): (.*)"), r"argument \1 : \2"),
)


def french_argparse_message(message: str) -> str:
    """argparse's English error message in French (the usual cases)."""
    for pattern, repl in _ARGPARSE_FR:
        if pattern.fullmatch(message):
            return pattern.sub(repl, message)
    return message


def fail(message: str | BaseException, prog: str | None = None) -> int:
    """Print one French error line on stderr and return exit code 2."""
    text = " ".join(str(message).split())
    print(f"Erreur{f' ({prog})' if prog else ''} : {text}", file=sys.stderr)
    return 2


class ArgParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one French line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse API
        fail(french_argparse_message(message), self.prog)
        raise SystemExit(2)


def point_type(text: str) -> tuple[float, float]:
    """argparse ``type=`` for a ``LON,LAT`` point in Normandie."""
    try:
        return parse_point(text)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

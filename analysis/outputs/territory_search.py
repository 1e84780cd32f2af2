"""Search of territories (EPCI and communes) by name, member commune, SIREN or INSEE code.

Matching ignores case, accents, ligatures and punctuation ("Coeur Cote", "cœur" and
"COEUR-CÔTE" all find CC Cœur Côte Fleurie); every word of the query must start a word of the
name. An EPCI is also found through one of its communes ("Deauville" finds CC Cœur Côte
Fleurie) and by its SIREN; a commune by its INSEE code. Pure function of two tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.validate_args import match_key


@dataclass(frozen=True)
class Match:
    """One search result.

    Parameters
    ----------
    level : str
        ``'epci'`` or ``'commune'``.
    code : str
        SIREN of the EPCI or INSEE code of the commune.
    name : str
        Name of the territory.
    reason : str
        Why it matched, in French (``"nom"``, ``"commune membre : Deauville"``, ``"SIREN"``,
        ``"code INSEE"``).
    """

    level: str
    code: str
    name: str
    reason: str


def _name_score(query_words: list[str], query_key: str, name_key: str) -> int | None:
    """0 exact, 1 prefix, 2 every query word starts a word of the name; None: no match."""
    if not query_words:
        return None
    if name_key == query_key:
        return 0
    if name_key.startswith(query_key):
        return 1
    words = name_key.split()
    if all(any(w.startswith(q) for w in words) for q in query_words):
        return 2
    return None


def search_territories(query: str, communes: pd.DataFrame, epcis: pd.DataFrame, limit: int = 12) -> list[Match]:
    """Territories matching ``query``, best first.

    Parameters
    ----------
    query : str
        Part of a name (any case, with or without accents), a SIREN or an INSEE code.
    communes : pandas.DataFrame
        Columns ``code``, ``name``, ``epci_siren``.
    epcis : pandas.DataFrame
        Columns ``siren``, ``name``.
    limit : int
        Largest number of results.

    Returns
    -------
    list of Match
        EPCI found by name, then by member commune, and communes; empty when nothing matches.

    Examples
    --------
    >>> com = pd.DataFrame({"code": ["14220"], "name": ["Deauville"], "epci_siren": ["241400415"]})
    >>> epc = pd.DataFrame({"siren": ["241400415"], "name": ["CC Coeur Côte Fleurie"]})
    >>> [(m.level, m.reason) for m in search_territories("deauville", com, epc)]
    [('commune', 'nom'), ('epci', 'commune membre : Deauville')]
    >>> search_territories("Cœur", com, epc)[0].name
    'CC Coeur Côte Fleurie'
    """
    text = str(query or "").strip()
    key = match_key(text)
    words = key.split()
    if not key:
        return []
    epci_names = dict(zip(epcis["siren"].astype(str), epcis["name"].astype(str)))
    compact = text.replace(" ", "")
    # (score, level order, sort name, match); the order of the steps decides between equal keys
    scored = _siren_matches(compact, epci_names) + _insee_matches(compact, communes)
    scored += _epci_name_matches(words, key, epci_names)
    found_epci = {m.code for *_, m in scored if m.level == "epci"}
    scored += _commune_name_matches(words, key, communes, epci_names, found_epci)
    return _best_first(scored, limit)


_Scored = tuple[int, int, str, Match]


def _siren_matches(compact: str, epci_names: dict[str, str]) -> list[_Scored]:
    """EPCI whose SIREN starts with the query (three digits at least)."""
    scored: list[_Scored] = []
    if compact.isdigit() and len(compact) >= 3:
        for siren, name in epci_names.items():
            if siren.startswith(compact):
                scored.append((0 if siren == compact else 1, 0, match_key(name), Match("epci", siren, name, "SIREN")))
    return scored


def _insee_matches(compact: str, communes: pd.DataFrame) -> list[_Scored]:
    """Communes whose INSEE code starts with the query (two characters at least, Corsica's 2A/2B)."""
    scored: list[_Scored] = []
    if len(compact) >= 2 and (compact[:2].isdigit() or compact[:2].upper() in ("2A", "2B")):
        for code, name in zip(communes["code"].astype(str), communes["name"].astype(str)):
            if code.upper().startswith(compact.upper()):
                scored.append(
                    (
                        0 if code == compact.upper() else 1,
                        1,
                        match_key(name),
                        Match("commune", code, name, "code INSEE"),
                    )
                )
    return scored


def _epci_name_matches(words: list[str], key: str, epci_names: dict[str, str]) -> list[_Scored]:
    """EPCI found by their name."""
    scored: list[_Scored] = []
    for siren, name in epci_names.items():
        s = _name_score(words, key, match_key(name))
        if s is not None:
            scored.append((s, 0, match_key(name), Match("epci", siren, name, "nom")))
    return scored


def _commune_name_matches(
    words: list[str], key: str, communes: pd.DataFrame, epci_names: dict[str, str], found_epci: set[str]
) -> list[_Scored]:
    """Communes found by their name, then the EPCI of those communes not already in ``found_epci``
    (each with its best-scored member)."""
    scored: list[_Scored] = []
    by_member: dict[str, tuple[int, str]] = {}
    for code, name, siren in zip(communes["code"].astype(str), communes["name"].astype(str), communes["epci_siren"]):
        s = _name_score(words, key, match_key(name))
        if s is None:
            continue
        scored.append((s, 1, match_key(name), Match("commune", code, name, "nom")))
        siren = None if pd.isna(siren) else str(siren)
        if siren in epci_names and siren not in found_epci:
            if siren not in by_member or s < by_member[siren][0]:
                by_member[siren] = (s, name)
    for siren, (s, member) in by_member.items():
        # after the communes of the same score: the member itself is the closer answer
        scored.append(
            (s, 2, match_key(epci_names[siren]), Match("epci", siren, epci_names[siren], f"commune membre : {member}"))
        )
    return scored


def _best_first(scored: list[_Scored], limit: int) -> list[Match]:
    """Matches sorted by score, level and name, each territory once (its best reason), at most ``limit``."""
    scored = sorted(scored, key=lambda t: (t[0], t[1], t[2], t[3].code))
    out: list[Match] = []
    seen: set[tuple[str, str]] = set()
    for *_, m in scored:
        if (m.level, m.code) not in seen:
            seen.add((m.level, m.code))
            out.append(m)
    return out[:limit]

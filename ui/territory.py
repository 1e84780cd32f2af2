"""Territoire page helpers: the territory given by a shared link, and the territory search."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from analysis import validate_args as va
from analysis.outputs.territory_search import search_territories
from analysis.text import count as count_of

LEVEL_WORDS = {"epci": "EPCI", "commune": "commune"}

#: The territory list is browsed, not typed into: its type-ahead is accent-sensitive and
#: answers "No results" in English; the search field above replaces it (``filter_mode``
#: exists in recent Streamlit versions only).
NO_TYPING: dict = {"filter_mode": None} if "filter_mode" in inspect.signature(st.selectbox).parameters else {}


def from_url(
    level: str | None, code: str | None, known: Mapping[str, Mapping[str, str]], defaults: Mapping[str, str]
) -> tuple[str, str, str | None]:
    """The (level, code) a link asks for, and a French notice when it cannot be honoured.

    Parameters
    ----------
    level : str, optional
        ``echelon`` parameter (``epci`` or ``commune``); None: implied by the code's shape.
    code : str, optional
        ``code`` parameter (SIREN or INSEE code).
    known : mapping level -> (code -> name)
    defaults : mapping level -> default code

    Returns
    -------
    (level, code, notice)
        ``notice`` is None when the link was used as is.
    """
    fallback = "epci"
    notice = None
    if level is not None:
        try:
            level = va.check_choice(level, {k: LEVEL_WORDS[k] for k in known}, "l'échelon territorial")
        except va.ArgumentError as exc:
            notice = f"Lien de la page : paramètre « echelon={level} » ignoré. {exc}."
            level = None
    if code is None:
        lv = level or fallback
        return lv, defaults[lv], notice
    try:
        lv, c = va.check_territory(code, level, known)
        return lv, c, notice
    except va.ArgumentError as exc:
        lv = level or fallback
        name = known[lv].get(defaults[lv], defaults[lv])
        return (
            lv,
            defaults[lv],
            (f"Lien de la page : paramètre « code={code} » ignoré. {exc}. Fiche affichée par défaut : {name}."),
        )


def _choose(level: str, code: str) -> None:
    st.session_state["ter_level"] = level
    st.session_state[f"ter_code_{level}"] = code


def search_box(
    container, communes: pd.DataFrame, epcis: pd.DataFrame, known: Mapping[str, Mapping[str, str]], limit: int = 8
) -> None:
    """A search field (name, member commune, SIREN, INSEE code; accents and case ignored)
    and one button per result, which opens that territory's sheet."""
    q = container.text_input(
        "Rechercher un territoire",
        key="ter_search",
        placeholder="Nom, commune membre, SIREN ou code INSEE",
        help="Majuscules, accents et tirets indifférents ; une commune trouve aussi son EPCI.",
    )
    if not q.strip():
        return
    results = search_territories(q, communes, epcis, limit=limit)
    if not results:
        container.info(f"Aucun résultat pour « {q.strip()} ».")
        return
    container.caption(f"{count_of(len(results), 'résultat')} ; choisissez un territoire :")
    for m in results:
        if m.code not in known.get(m.level, {}):
            continue
        label = f"{LEVEL_WORDS[m.level]} : {m.name}"
        if m.reason != "nom":
            label += f" ({m.reason})"
        container.button(
            label, key=f"ter_pick_{m.level}_{m.code}", on_click=_choose, args=(m.level, m.code), width="stretch"
        )

"""Sidebar filter widgets shared by the pages, seeded from and written back to the URL.

URL parameters of the views (one meaning per name on a page; audited for issue 11):

=================  ===========================================================================
``mode``           travel mode (filters; Mobilité rurale section 4)
``minutes``        time budget (filters; Mobilité rurale)
``secteur``        offer sectors, repeated (filters; Stages collectifs: project sectors)
``niveau``         grade targeted by the offers (seconde, 3e), never a territory level
``accueil``        public / private hosts
``origine``        origin kind (commune of residence or lycée)
``echelon``        Territoire: territory level (epci, commune); ``niveau=epci|commune`` is
                   still read there when ``echelon`` is absent (older documented links)
``code``           Territoire, Rapports: territory code (its level implied when alone)
``niveau_carte``   Couverture: map level; ``echelle``: Rapports: report level
``masquer_hors``   Couverture: hide the EPCI mostly outside Normandie (``1``)
``indicateur``     Accueil, Couverture: map indicator (each page checks its own list)
``depuis``         Mobilité rurale: origin kind of section 4; ``origine_id``: that origin;
                   ``mode_lycees``: mode of the lycées table
``type``           Stages collectifs: project types; ``epci``: EPCI name; ``statut``:
                   statuses; ``fond``: background indicator
``vue``            Données: tab
=================  ===========================================================================

No page reads one name with two meanings (the Territoire page read ``niveau`` as both the
territory level and the grade until issue 11; the Mobilité rurale ``mode`` is its only mode).

Every value read from the URL is checked with :mod:`analysis.validate_args`; a refused value
gives a visible French notice and the default (:func:`ui.core.qp_get`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from analysis import access
from analysis import validate_args as va
from ui import core, data


@dataclass
class View:
    """The filter values of a page (plain values: hashable cache keys)."""

    mode: str = "transit"
    minutes: int = 45
    sectors: tuple[str, ...] = ()
    grade: str = ""
    host: str = ""
    origin_kind: str = "commune"
    extra: dict = field(default_factory=dict)

    def filters(self) -> access.Filters:
        """The frozen :class:`analysis.access.Filters` of this view (for :func:`ui.data.indicators`,
        :func:`ui.data.origins`, :func:`ui.data.offers_at`)."""
        return data.filters_of(self.mode, self.minutes, self.sectors, self.grade, self.host, self.origin_kind)

    def query(self) -> dict:
        """The URL parameters of this view."""
        return {
            "mode": self.mode,
            "minutes": self.minutes,
            "secteur": list(self.sectors),
            "niveau": self.grade,
            "accueil": self.host,
            "origine": None if self.origin_kind == "commune" else self.origin_kind,
            **self.extra,
        }

    def describe(self) -> str:
        """One French line describing the filters."""
        parts = [core.mode_label(self.mode, "lower"), f"{self.minutes} min"]
        parts.append(", ".join(self.sectors) if self.sectors else "tous secteurs")
        if self.grade:
            parts.append(core.GRADE_LABELS[self.grade].lower())
        if self.host:
            parts.append("accueil " + core.HOST_LABELS[self.host].lower())
        return " · ".join(parts)


def _choice_radio(
    key: str,
    param: str,
    labels: dict[str, str],
    default: str,
    what: str,
    shown_default: str,
    *,
    label: str,
    horizontal: bool = False,
    url_default: str | None = core.SAME_AS_DEFAULT,
) -> str:
    """A sidebar radio over the codes of ``labels`` (shown by their label), kept in the session
    under ``key`` and seeded from the URL parameter ``param``: a value not in ``labels`` gives
    the French notice naming ``what`` and ``shown_default`` (the default ``default``, written to
    the URL as ``url_default`` when that differs: see :func:`ui.core.qp_get`). Returns the chosen
    code."""
    k = core.state(
        key,
        core.qp_get(
            param,
            default,
            check=lambda r: va.check_choice(r, labels, what),
            shown_default=shown_default,
            url_default=url_default,
        ),
    )
    st.sidebar.radio(label, list(labels), key=k, format_func=labels.get, horizontal=horizontal)
    return st.session_state[k]


def sidebar(
    prefix: str, *, offers: bool = True, origin: bool = True, default_mode: str = "transit", default_minutes: int = 45
) -> View:
    """Mode, budget, sector, grade, host and origin widgets in the sidebar.

    The initial values come from the URL query string; the caller writes the view back with
    :func:`ui.core.sync_query` (``view.query()`` plus its own parameters).
    """
    v = core.db_version()
    modes = data.modes_available(v)
    sectors = data.sector_list(v)
    sb = st.sidebar
    sb.header("Filtres")
    mode0 = default_mode if default_mode in modes else modes[0]
    k_mode = core.state(
        f"{prefix}_mode",
        core.qp_get(
            "mode",
            mode0,
            check=lambda r: va.check_mode(r, {m: core.mode_label(m) for m in modes}),
            shown_default=core.mode_label(mode0, "lower"),
        ),
    )
    sb.selectbox("Mode de déplacement", modes, key=k_mode, format_func=core.mode_label)
    k_min = core.state(
        f"{prefix}_minutes",
        core.qp_get(
            "minutes",
            default_minutes,
            check=lambda r: va.check_budget(r, core.BUDGETS),
            shown_default=f"{default_minutes} min",
        ),
    )
    sb.select_slider("Budget-temps (minutes)", options=list(core.BUDGETS), key=k_min, format_func=lambda x: f"{x} min")
    view = View(mode=st.session_state[k_mode], minutes=int(st.session_state[k_min]))
    if offers:
        k_sec = core.state(
            f"{prefix}_sectors", core.qp_get_list("secteur", check=lambda r: va.check_sector(r, sectors))
        )
        sb.multiselect("Secteurs d'activité (vide : tous)", sectors, key=k_sec, placeholder="Tous les secteurs")
        view.sectors = tuple(st.session_state[k_sec])
        view.grade = _choice_radio(
            f"{prefix}_grade", "niveau", core.GRADE_LABELS, "", "le niveau visé par l'offre", "tous niveaux",
            label="Niveau visé par l'offre", horizontal=True,
        )  # fmt: skip
        view.host = _choice_radio(
            f"{prefix}_host", "accueil", core.HOST_LABELS, "", "l'accueil", "public et privé",
            label="Accueil", horizontal=True,
        )  # fmt: skip
    if origin:
        view.origin_kind = _choice_radio(
            f"{prefix}_origin", "origine", core.ORIGIN_LABELS, "commune", "l'origine des élèves",
            "communes de résidence", label="Origine des élèves", url_default=None,
        )  # fmt: skip
    sb.caption("Le lien de la page (barre d'adresse) conserve ces choix.")
    return view

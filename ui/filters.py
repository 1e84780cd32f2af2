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

The view is one object from the widgets to the SQL: :func:`sidebar` returns a :class:`View`
holding the frozen :class:`analysis.access.Filters` chosen, which the pages pass whole to
:mod:`ui.data` (cache key) and on to :mod:`analysis.access`. Its defaults are the default view of
:mod:`analysis.config` (``DEFAULT_MODE``, ``DEFAULT_BUDGET_MIN``), written nowhere else; every
mode picker of the pages is :func:`mode_choice` and every budget slider :func:`budget_choice`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from analysis import access, config
from analysis import validate_args as va
from ui import core, data

#: Host code of the ``accueil`` parameter -> :attr:`analysis.access.Filters.public`.
PUBLIC_OF_HOST: dict[str, bool | None] = {"": None, "public": True, "prive": False}


@dataclass(frozen=True)
class View:
    """The view of a page: the frozen :class:`analysis.access.Filters` chosen in the sidebar
    (passed whole to :mod:`ui.data`, whose caches hash it) and the page's own URL parameters
    (``extra``). The filter values are read through it (``view.mode``, ``view.host``…)."""

    filters: access.Filters = field(default_factory=access.Filters)
    extra: dict = field(default_factory=dict)

    @property
    def mode(self) -> str:
        """Travel mode."""
        return self.filters.mode

    @property
    def minutes(self) -> int:
        """Time budget (minutes)."""
        return int(self.filters.minutes)

    @property
    def sectors(self) -> tuple[str, ...]:
        """Offer sectors (empty: all)."""
        return self.filters.sectors

    @property
    def grade(self) -> str:
        """Grade targeted by the offers as the ``niveau`` parameter writes it (``""``: all)."""
        return self.filters.grade or ""

    @property
    def host(self) -> str:
        """Hosts as the ``accueil`` parameter writes them: ``public``, ``prive`` or ``""`` (both)."""
        return next(code for code, public in PUBLIC_OF_HOST.items() if public is self.filters.public)

    @property
    def origin_kind(self) -> str:
        """Origins: ``commune`` or ``school``."""
        return self.filters.origin_kind

    def for_origin(self, origin_kind: str) -> access.Filters:
        """The filters of this view counted from other origins (``commune`` or ``school``)."""
        return dataclasses.replace(self.filters, origin_kind=origin_kind)

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


def mode_choice(
    key: str,
    modes: Sequence[str],
    *,
    param: str = "mode",
    label: str = "Mode de déplacement",
    where: Any = None,
    radio: bool = False,
) -> str:
    """The one mode picker of the pages: a choice among ``modes`` kept in the session under
    ``key`` and seeded from the URL parameter ``param``, checked by
    :func:`analysis.validate_args.check_mode` (a refused value gives the French notice and the
    default: the default view's mode, :data:`analysis.config.DEFAULT_MODE`, else the first mode).

    Parameters
    ----------
    key : str
        Session-state key of the widget.
    modes : sequence of str
        The modes offered (codes of :data:`analysis.catalogue.MODES`), in display order.
    param : str
        URL parameter read (``mode``; ``mode_lycees`` for the Mobilité rurale lycées table).
    label : str
        French label of the widget.
    where : streamlit container, optional
        Where to draw it (default: the sidebar; a column or a form's column otherwise).
    radio : bool
        A horizontal radio instead of a select box.

    Returns
    -------
    str
        The chosen mode.
    """
    modes = list(modes)
    default = config.DEFAULT_MODE if config.DEFAULT_MODE in modes else modes[0]
    labels = {m: core.mode_label(m) for m in modes}
    k = core.state(
        key,
        core.qp_get(
            param, default, check=lambda r: va.check_mode(r, labels), shown_default=core.mode_label(default, "lower")
        ),
    )
    box = st.sidebar if where is None else where
    if radio:
        box.radio(label, modes, key=k, format_func=core.mode_label, horizontal=True)
    else:
        box.selectbox(label, modes, key=k, format_func=core.mode_label)
    return st.session_state[k]


def budget_choice(key: str, *, param: str = "minutes", label: str = "Budget-temps (minutes)", where: Any = None) -> int:
    """The time-budget slider over :data:`ui.core.BUDGETS`, kept in the session under ``key`` and
    seeded from the URL parameter ``param`` (checked by
    :func:`analysis.validate_args.check_budget`; default :data:`analysis.config.DEFAULT_BUDGET_MIN`),
    drawn in ``where`` (default: the sidebar). Returns the chosen budget in minutes."""
    default = config.DEFAULT_BUDGET_MIN
    k = core.state(
        key,
        core.qp_get(param, default, check=lambda r: va.check_budget(r, core.BUDGETS), shown_default=f"{default} min"),
    )
    box = st.sidebar if where is None else where
    box.select_slider(label, options=list(core.BUDGETS), key=k, format_func=lambda x: f"{x} min")
    return int(st.session_state[k])


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


def _offer_choices(prefix: str, sectors: list[str]) -> tuple[tuple[str, ...], str, str]:
    """The sector, grade and host widgets of the sidebar: (sectors, grade code, host code)."""
    k_sec = core.state(f"{prefix}_sectors", core.qp_get_list("secteur", check=lambda r: va.check_sector(r, sectors)))
    st.sidebar.multiselect("Secteurs d'activité (vide : tous)", sectors, key=k_sec, placeholder="Tous les secteurs")
    grade = _choice_radio(
        f"{prefix}_grade", "niveau", core.GRADE_LABELS, "", "le niveau visé par l'offre", "tous niveaux",
        label="Niveau visé par l'offre", horizontal=True,
    )  # fmt: skip
    host = _choice_radio(
        f"{prefix}_host", "accueil", core.HOST_LABELS, "", "l'accueil", "public et privé",
        label="Accueil", horizontal=True,
    )  # fmt: skip
    return tuple(st.session_state[k_sec]), grade, host


def sidebar(prefix: str, *, offers: bool = True, origin: bool = True) -> View:
    """Mode, budget, sector, grade, host and origin widgets in the sidebar.

    The initial values come from the URL query string (defaults: the default view of
    :mod:`analysis.config`); the caller writes the view back with :func:`ui.core.sync_query`
    (``view.query()`` plus its own parameters). Without ``offers`` (``origin``) the offer
    filters (the origin kind) keep their defaults: all offers (communes of residence).
    """
    v = core.db_version()
    st.sidebar.header("Filtres")
    mode = mode_choice(f"{prefix}_mode", data.modes_available(v))
    minutes = budget_choice(f"{prefix}_minutes")
    sectors, grade, host = _offer_choices(prefix, data.sector_list(v)) if offers else ((), "", "")
    origin_kind = "commune"
    if origin:
        origin_kind = _choice_radio(
            f"{prefix}_origin", "origine", core.ORIGIN_LABELS, "commune", "l'origine des élèves",
            "communes de résidence", label="Origine des élèves", url_default=None,
        )  # fmt: skip
    st.sidebar.caption("Le lien de la page (barre d'adresse) conserve ces choix.")
    filters = access.Filters(
        mode=mode, minutes=minutes, sectors=sectors, grade=grade or None, public=PUBLIC_OF_HOST[host],
        origin_kind=origin_kind,
    )  # fmt: skip
    return View(filters)

"""The one vocabulary of the project: travel modes and indicators, with their French labels.

Everything that names a mode or an indicator reads it from here: the SQL column lists of
:mod:`analysis.access` (``nearest_walk`` … ``nearest_car``, ``median_minutes_<mode>``), the
road and travel-time modes, the report columns (CSV, XLSX, PDF), the pages' selectors, map
legends and tables.

Main objects
------------
- :class:`Mode`: the travel modes (a string enum: ``Mode.TRANSIT == "transit"``), each with
  its French labels, speed, display order and whether its label must say which networks are
  loaded (public transport: « transports en commun (TER seulement) » offline).
- :class:`Indicator`: a territory indicator (a column of ``territory_indicators``) with its
  French label, short label, unit, display scale and decimals, palette and direction.
- :data:`INDICATORS` / :func:`register` / :func:`indicator`: the registry of indicators.
- :func:`transit_networks`: the public-transport networks loaded in a database (read from
  ``transit_feeds``), and :func:`mode_label` / :func:`transit_phrase` that put them in labels.

Labels may hold the placeholder ``{tc}``: it is replaced by :func:`transit_phrase` (e.g.
« transports en commun (TER seulement) ») so that no label claims more than the loaded data.
Indicators whose value depends on the chosen mode use ``{mode}`` (« à pied », « en voiture »…)
and their column is ``<key>_<mode>`` (:meth:`Indicator.column`).

Adding an indicator or a mode is a change here plus its computation: see
``docs/architecture.md`` (worked examples). A mode's entry (:class:`ModeInfo`) also carries what
the travel-time stage needs (speeds, detour, closed road classes, one-way rule) and
:func:`register_mode` adds one (the SQL mode lists and per-mode columns are generated from
:data:`MODES`).

Size: the one vocabulary (modes with their parameters, indicators with their labels) is read by
every layer; split, it would be two places to update for one mode or one indicator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: Name of the TER network in labels.
TER = "TER"
#: Caveat of a large commune whose pupils all start at its town hall (``communes.single_origin_large``).
SINGLE_ORIGIN = "origine unique : la mairie"
#: The same caveat when the commune's origin is its centre point (town hall unknown).
SINGLE_ORIGIN_CENTRE = "origine unique : le centre de la commune"


@dataclass(frozen=True)
class ModeInfo:
    """French wording and parameters of a :class:`Mode`.

    Attributes
    ----------
    label : str
        Capitalised label of a selector (« Vélo »); may hold ``{tc}``.
    phrase : str
        Adverbial phrase after a verb or a noun (« à vélo », « en voiture »); may hold ``{tc}``.
    short : str
        Short form for narrow columns (« à vélo », « en TER ou à pied »); may hold ``{tcs}``.
    speed_kmh : float or None
        Default speed on the network / in straight-line estimates (None: timetable-based).
    order : int
        Display order in selectors (smallest first).
    on_roads : bool
        Computed on a road graph (``analysis.network.roads``); else by the timetable engine.
    names_networks : bool
        The label must say which networks are loaded (public transport).
    falls_back_to : str or None
        Mode whose times also count for this one (transit counts walking: the shorter of the
        two for each pair).
    access_kph : float or None
        Speed on the access legs (point <-> snapped network node) and on very short direct
        trips (``analysis.traveltime``); None: :attr:`speed_kmh`.
    fallback_kph : float or None
        Speed of the straight-line estimates where no network covers a pair; None:
        :attr:`access_kph`.
    detour : float or None
        Straight-line detour factor; None: measured on real streets (``analysis.network.detour``), or
        for a mode with :attr:`legs_mode`, that of its legs.
    legs_mode : str or None
        Mode of the legs to and from the network (transit: walking).
    closed_highway : frozenset of str
        OSM ``highway`` values the mode may not use (OSMnx's ``network_type`` filters).
    both_ways : bool
        The mode ignores one-way restrictions (walking: the reverse of every one-way edge is
        added); else it follows them.
    edge_speeds : bool
        Network time from each edge's own speed (car: OSM ``maxspeed``, else the class speeds
        of ``analysis.network.roads_osm`` / ``analysis.network.roads_layers``); else ``length / speed``.
    """

    label: str
    phrase: str
    short: str
    speed_kmh: float | None
    order: int
    on_roads: bool
    names_networks: bool = False
    falls_back_to: str | None = None
    access_kph: float | None = None
    fallback_kph: float | None = None
    detour: float | None = None
    legs_mode: str | None = None
    closed_highway: frozenset[str] = frozenset()
    both_ways: bool = False
    edge_speeds: bool = False

    @property
    def access_speed(self) -> float | None:
        """Speed of the access legs (km/h): :attr:`access_kph`, else :attr:`speed_kmh`."""
        return self.access_kph if self.access_kph is not None else self.speed_kmh

    @property
    def fallback_speed(self) -> float | None:
        """Speed of straight-line estimates (km/h): :attr:`fallback_kph`, else :attr:`access_speed`."""
        return self.fallback_kph if self.fallback_kph is not None else self.access_speed


class Mode(StrEnum):
    """Travel modes, in the order of the indicator columns (``nearest_walk`` … ``nearest_car``)."""

    WALK = "walk"
    BIKE = "bike"
    TRANSIT = "transit"
    CAR = "car"

    @property
    def info(self) -> ModeInfo:
        return MODE_INFO[self]

    def label(self, networks: Sequence[str] | None = None) -> str:
        """Capitalised French label (« Transports en commun (TER seulement) + marche »)."""
        return _fill(self.info.label, networks)

    def phrase(self, networks: Sequence[str] | None = None) -> str:
        """French phrase (« en transports en commun (TER seulement) ou à pied »)."""
        return _fill(self.info.phrase, networks)

    @property
    def speed_kmh(self) -> float | None:
        return self.info.speed_kmh


#: Highway values each road mode may not use, from OSMnx's ``network_type`` filters
#: (``walk``, ``bike``, ``drive``), applied to the loaded graph (:data:`analysis.network.roads.EXCLUDED_HIGHWAY`).
_CLOSED_WALK = frozenset(
    "abandoned bus_guideway construction cycleway motor motorway motorway_link no planned "
    "platform proposed raceway razed".split()
)
_CLOSED_BIKE = frozenset(
    "abandoned bus_guideway construction corridor elevator escalator footway motor motorway "
    "motorway_link no planned platform proposed raceway razed steps".split()
)
_CLOSED_CAR = frozenset(
    "abandoned bridleway bus_guideway construction corridor cycleway elevator escalator "
    "footway no path pedestrian planned platform proposed raceway razed steps track".split()
)

MODE_INFO: dict[str, ModeInfo] = {
    Mode.WALK: ModeInfo("Marche", "à pied", "à pied", 4.5, 3, True, closed_highway=_CLOSED_WALK, both_ways=True),
    Mode.BIKE: ModeInfo("Vélo", "à vélo", "à vélo", 15.0, 2, True, closed_highway=_CLOSED_BIKE),
    Mode.TRANSIT: ModeInfo(
        "{Tc} + marche",
        "en {tc} ou à pied",
        "en {tcs} ou à pied",
        None,
        0,
        False,
        names_networks=True,
        falls_back_to="walk",
        legs_mode="walk",
    ),
    # car: 30 km/h on the access legs (local streets), 40 km/h where no network covers a pair,
    # straight-line detour 1.3 (not calibrated), network times from the edges' speeds
    Mode.CAR: ModeInfo(
        "Voiture",
        "en voiture",
        "en voiture",
        None,
        1,
        True,
        access_kph=40.0,  # fitted with the skeleton's car model on OSRM (analysis.network.roads_layers)
        fallback_kph=40.0,
        detour=1.3,
        closed_highway=_CLOSED_CAR,
        edge_speeds=True,
    ),
}

#: Mode keys in column order (the SQL spells ``nearest_<mode>`` in this order).
MODES: tuple[str, ...] = tuple(m.value for m in Mode)
#: Modes computed on road graphs.
ROAD_MODES: tuple[str, ...] = tuple(m.value for m in Mode if m.info.on_roads)
#: Modes in display order (selectors).
DISPLAY_ORDER: tuple[str, ...] = tuple(sorted(MODES, key=lambda m: MODE_INFO[m].order))


def mode_info(mode: str) -> ModeInfo:
    """The :class:`ModeInfo` of a mode key; ``ValueError`` naming the known modes otherwise."""
    try:
        return MODE_INFO[mode]
    except KeyError:
        raise ValueError(f"mode inconnu : {mode!r} (attendu : {', '.join(MODES)})") from None


def _refresh_modes() -> None:
    global MODES, ROAD_MODES, DISPLAY_ORDER
    MODES = tuple(MODE_INFO)
    ROAD_MODES = tuple(m for m in MODES if MODE_INFO[m].on_roads)
    DISPLAY_ORDER = tuple(sorted(MODES, key=lambda m: MODE_INFO[m].order))


def register_mode(key: str, info: ModeInfo) -> None:
    """Add a travel mode (after the others in column order): the travel-time stage, the
    indicator tables and their columns (``nearest_<key>``, ``median_minutes_<key>``) and the
    selectors then include it. Read :data:`MODES` / :data:`ROAD_MODES` through this module (not a
    copy made at import) to see it."""
    if key in MODE_INFO:
        raise ValueError(f"mode déjà défini : {key!r}")
    MODE_INFO[key] = info
    _refresh_modes()


def unregister_mode(key: str) -> None:
    """Remove a mode added by :func:`register_mode` (the four built-in modes stay)."""
    if key in {m.value for m in Mode}:
        raise ValueError(f"mode intégré : {key!r}")
    MODE_INFO.pop(key, None)
    _refresh_modes()


def modes_in_display_order(modes: Iterable[str]) -> list[str]:
    """``modes`` sorted as in the selectors (transit, car, bike, walk)."""
    return sorted(modes, key=lambda m: mode_info(m).order)


# --------------------------------------------------------------------------------------------
# networks loaded
# --------------------------------------------------------------------------------------------

_TER_RE = re.compile(r"(^|[^a-z])ter([^a-z]|$)")


def network_name(feed_id: str | None, path: str | None = None, publisher: str | None = None) -> str:
    """The network a GTFS feed holds, as users know it (« TER », else its publisher or id).

    Examples
    --------
    >>> network_name("ter", "/x/sncf_ter_france_2025.zip", "SNCF_default")
    'TER'
    >>> network_name("atoumod", "/x/atoumod.zip", "Région Normandie")
    'Région Normandie'
    """
    for text in (feed_id, path):
        if text and _TER_RE.search(str(text).lower().replace("\\", "/").rsplit("/", 1)[-1]):
            return TER
    if publisher and "sncf" in publisher.lower():
        return TER
    return (publisher or feed_id or "réseau inconnu").strip()


def transit_networks(con: Any) -> tuple[str, ...]:
    """Public-transport networks loaded in a database (feeds with timetables), in load order.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection

    Returns
    -------
    tuple of str
        E.g. ``("TER",)`` offline; empty when no feed is loaded.
    """
    try:
        rows = con.execute(
            "SELECT feed_id, path, publisher FROM transit_feeds "
            "WHERE coalesce(has_stop_times, TRUE) ORDER BY loaded_at, feed_id"
        ).fetchall()
    except Exception:  # noqa: BLE001 - no transit_feeds table: nothing loaded
        return ()
    out: list[str] = []
    for feed_id, path, publisher in rows:
        name = network_name(feed_id, path, publisher)
        if name not in out:
            out.append(name)
    return tuple(out)


def network_qualifier(networks: Sequence[str] | None) -> str:
    """« (TER seulement) », « (TER, Nomad) » or « (aucun réseau chargé) »; '' when unknown
    (``None``)."""
    if networks is None:
        return ""
    nets = [n for n in networks if n]
    if not nets:
        return "(aucun réseau chargé)"
    if len(nets) == 1:
        return f"({nets[0]} seulement)"
    return "(" + ", ".join(nets) + ")"


def transit_phrase(networks: Sequence[str] | None) -> str:
    """« transports en commun (TER seulement) »: the public-transport noun with the networks."""
    q = network_qualifier(networks)
    return f"transports en commun {q}".strip()


def transit_short(networks: Sequence[str] | None) -> str:
    """Short name of the loaded public transport: « TER » when it is the only network, else
    « TC »."""
    nets = [n for n in (networks or ()) if n]
    return nets[0] if len(nets) == 1 else "TC"


def transit_caveat(networks: Sequence[str] | None) -> str:
    """The French caveat on the public-transport networks loaded (pages and reports)."""
    nets = [n for n in (networks or ()) if n]
    if not nets:
        return "Transports en commun : aucun horaire chargé ; seul le trajet à pied compte, accès sous-estimé."
    if nets == [TER]:
        return (
            "Transports en commun : TER seulement (trains et cars TER ; réseaux urbains "
            "et départementaux absents), accès sous-estimé."
        )
    return "Transports en commun : réseaux chargés : " + ", ".join(nets) + "."


def _fill(text: str, networks: Sequence[str] | None) -> str:
    if "{" not in text:
        return text
    tc = transit_phrase(networks)
    return text.replace("{tcs}", transit_short(networks)).replace("{tc}", tc).replace("{Tc}", tc[:1].upper() + tc[1:])


def fill_labels(text: str, networks: Sequence[str] | None = None, mode: str | None = None, form: str = "phrase") -> str:
    """Replace ``{tc}`` / ``{Tc}`` (transit phrase), ``{tcs}`` (its short name) and ``{mode}``
    (the mode's ``form``: ``'phrase'`` or ``'short'``) in a label."""
    if "{mode}" in text:
        if mode is None:  # no mode chosen: the label without it
            text = text.replace(" {mode}", "").replace("{mode}", "")
        else:
            info = mode_info(mode)
            text = text.replace("{mode}", info.short if form == "short" else info.phrase)
    return _fill(text, networks)


def mode_label(mode: str, networks: Sequence[str] | None = None, form: str = "label") -> str:
    """French label of a mode: ``form`` ``'label'`` (« Vélo »), ``'lower'`` (« vélo », inside a
    sentence), ``'phrase'`` (« à vélo ») or ``'short'`` (« à vélo », « en TER ou à pied »), with
    the loaded networks for transit.

    Examples
    --------
    >>> mode_label("transit", ("TER",))
    'Transports en commun (TER seulement) + marche'
    >>> mode_label("transit", ("TER",), "phrase")
    'en transports en commun (TER seulement) ou à pied'
    """
    info = mode_info(mode)
    if form == "lower":  # « transports en commun (TER seulement) + marche » inside a sentence
        text = _fill(info.label, networks)
        return text[:1].lower() + text[1:]
    text = {"label": info.label, "phrase": info.phrase, "short": info.short}[form]
    return _fill(text, networks)


#: The transit option « rabattement vélo » (cycling to the first stop), as shown after the mode's
#: label; an option of the ``route`` command, never the build's ``transit`` mode.
BIKE_ACCESS_LABEL = "accès à l'arrêt à vélo (rabattement vélo)"


def mode_labels(networks: Sequence[str] | None = None, form: str = "label") -> dict[str, str]:
    """``{mode: label}`` for every mode, in display order."""
    return {m: mode_label(m, networks, form) for m in DISPLAY_ORDER}


# --------------------------------------------------------------------------------------------
# indicators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """A territory indicator: a column of ``territory_indicators`` (or derived from them).

    Attributes
    ----------
    key : str
        Column name; for ``per_mode`` indicators the column is ``<key>_<mode>``.
    label : str
        French label (may hold ``{tc}`` and ``{mode}``).
    short : str
        Short French label (narrow PDF columns, table headers).
    unit : str
        Unit shown after values (« % », « offres », « min »; '' for none).
    scale : float
        Display factor (100 for a share stored 0–1 shown in %).
    decimals : int
        Decimals shown on screen and in the PDF.
    palette : str
        Colour scale of the maps (ColorBrewer name).
    higher_is_worse : bool
        True when a higher value is a worse situation (ranking, « plus défavorable »).
    description : str
        One French sentence (definition, for docs and help texts).
    kind : str
        Report column kind: ``'int'``, ``'dec0'``, ``'dec1'``, ``'dec2'``, ``'dec4'``, ``'pct'``
        (share 0–1), ``'bool'`` or ``'text'``.
    on_map : bool
        Offered in the map selectors (Couverture).
    per_mode : bool
        One column per mode (``median_minutes_walk`` …).
    compute : callable, optional
        ``compute(frame) -> Series``: computes the indicator from the other columns of a
        territory table (for indicators derived on read; None for those computed in SQL).
    """

    key: str
    label: str
    short: str
    unit: str = ""
    scale: float = 1.0
    decimals: int = 0
    palette: str = "YlGnBu"
    higher_is_worse: bool = False
    description: str = ""
    kind: str = "dec1"
    on_map: bool = False
    per_mode: bool = False
    compute: Callable[[Any], Any] | None = None

    def column(self, mode: str | None = None) -> str:
        """Column holding this indicator (``median_minutes_transit`` for a per-mode one)."""
        if self.per_mode:
            key = str(mode or Mode.TRANSIT.value)
            mode_info(key)  # a known mode (ValueError otherwise)
            return f"{self.key}_{key}"
        return self.key

    def text(self, networks: Sequence[str] | None = None, mode: str | None = None) -> str:
        """The label with ``{tc}`` and ``{mode}`` filled."""
        return fill_labels(self.label, networks, mode)

    def short_text(self, networks: Sequence[str] | None = None, mode: str | None = None) -> str:
        return fill_labels(self.short, networks, mode, "short")


def _share(
    key: str, label: str, short: str, description: str, *, on_map: bool = False, worse: bool = True
) -> Indicator:
    return Indicator(
        key, label, short, "%", 100.0, 1, "YlOrRd" if worse else "YlGnBu", worse, description, "pct", on_map
    )


#: The indicators, in the order of the report columns. Use :func:`register` to add one.
INDICATORS: dict[str, Indicator] = {}


def register(ind: Indicator, *, after: str | None = None) -> Indicator:
    """Add (or replace) an indicator in the registry; it then appears in the report columns
    and, with ``on_map``, in the map selectors. ``after``: insert after this key."""
    if after is None or after not in INDICATORS:
        INDICATORS[ind.key] = ind
        return ind
    items = [(k, v) for k, v in INDICATORS.items() if k != ind.key]
    pos = [k for k, _ in items].index(after) + 1
    items.insert(pos, (ind.key, ind))
    INDICATORS.clear()
    INDICATORS.update(items)
    return ind


def unregister(key: str) -> None:
    """Remove an indicator from the registry (tests)."""
    INDICATORS.pop(key, None)


def indicator(key: str) -> Indicator:
    """The registered indicator ``key`` (``KeyError`` with the known keys otherwise)."""
    try:
        return INDICATORS[key]
    except KeyError:
        raise KeyError(f"indicateur inconnu : {key!r} (connus : {', '.join(INDICATORS)})") from None


def map_indicators() -> dict[str, Indicator]:
    """Indicators offered on the maps, in registry order."""
    return {k: v for k, v in INDICATORS.items() if v.on_map}


def indicator_columns() -> list[tuple[str, Indicator, str | None]]:
    """``(column, indicator, mode)`` of every registered indicator (per-mode ones expanded)."""
    out: list[tuple[str, Indicator, str | None]] = []
    for ind in INDICATORS.values():
        if ind.per_mode:
            out.extend((ind.column(m), ind, m) for m in MODES)
        else:
            out.append((ind.key, ind, None))
    return out


def add_derived(df: Any) -> Any:
    """``df`` with the columns of the registered derived indicators (``compute``) added when
    missing; returns ``df`` itself when there is none."""
    derived = [
        ind for ind in INDICATORS.values() if ind.compute is not None and ind.key not in getattr(df, "columns", ())
    ]
    if not derived:
        return df
    df = df.copy()
    for ind in derived:
        df[ind.key] = ind.compute(df)
    return df


for _ind in (
    Indicator(
        "population",
        "Population",
        "Population",
        "hab.",
        1.0,
        0,
        kind="int",
        description="Population municipale INSEE (légale en vigueur en 2025).",
    ),
    Indicator("area_km2", "Surface", "Surface", "km²", 1.0, 1, kind="dec1"),
    Indicator("density_per_km2", "Densité", "Densité", "hab./km²", 1.0, 0, kind="dec1"),
    Indicator("density_class", "Classe de densité (approximation)", "Classe de densité", "", kind="text"),
    Indicator("n_origins", "Origines dans le territoire", "Origines", "origines", kind="int"),
    Indicator("n_origins_with_pupils", "Origines avec élèves", "Origines avec élèves", "origines", kind="int"),
    Indicator(
        "pupils",
        "Élèves de seconde",
        "Élèves",
        "élèves",
        1.0,
        0,
        kind="dec0",
        description="Élèves de seconde : estimés par commune de résidence, ou déclarés par les lycées.",
    ),
    Indicator("pupils_is_estimate", "Élèves estimés", "Élèves estimés", "", kind="bool"),
    Indicator("offers_located", "Offres situées", "Offres situées", "offres", kind="int"),
    Indicator("places_located", "Places des offres situées", "Places situées", "places", kind="dec1"),
    Indicator(
        "places_located_default_capacity",
        "Offres situées comptées 1 place",
        "Offres comptées 1 place",
        "offres",
        kind="int",
    ),
    Indicator(
        "offers_per_100_pupils",
        "Offres situées pour 100 élèves",
        "Offres pour 100 élèves",
        "offres",
        1.0,
        1,
        "YlGnBu",
        False,
        "Offres situées dans le territoire / élèves × 100 (circulaire de 2015).",
        "dec2",
        on_map=True,
    ),
    Indicator(
        "offers_reachable_mean",
        "Offres accessibles par élève (moyenne)",
        "Offres access. (moy.)",
        "offres",
        1.0,
        1,
        "YlGnBu",
        False,
        "Nombre d'offres accessibles dans le budget, moyenne pondérée par les élèves.",
        "dec1",
        on_map=True,
    ),
    Indicator(
        "sectors_reachable_mean",
        "Secteurs accessibles, moyenne par élève",
        "Secteurs access. (moy.)",
        "secteurs",
        1.0,
        1,
        kind="dec1",
    ),
    Indicator(
        "places_reachable_mean",
        "Places accessibles, moyenne par élève",
        "Places access. (moy.)",
        "places",
        1.0,
        1,
        kind="dec1",
    ),
    Indicator(
        "places_per_pupil_2sfca",
        "Places par élève à portée, avec concurrence (2SFCA)",
        "Places par élève (2SFCA)",
        "places/élève",
        1.0,
        3,
        "YlGnBu",
        False,
        "Places partagées entre tous les élèves qui les atteignent (2SFCA).",
        "dec4",
        on_map=True,
    ),
    Indicator(
        "pupils_no_offer",
        "Élèves sans offre accessible (mode choisi)",
        "Élèves sans offre",
        "élèves",
        1.0,
        0,
        "YlOrRd",
        True,
        kind="dec0",
    ),
    _share(
        "share_no_offer",
        "Part des élèves sans offre accessible (mode choisi)",
        "Sans offre (mode choisi)",
        "Part des élèves sans aucune offre accessible dans le budget avec le mode choisi.",
        on_map=True,
    ),
    Indicator(
        "pupils_no_offer_transit",
        "Élèves sans offre accessible en {tc} ou à pied",
        "Élèves sans offre en {tcs} ou à pied",
        "élèves",
        1.0,
        0,
        "YlOrRd",
        True,
        kind="dec0",
    ),
    _share(
        "share_no_offer_transit",
        "Part des élèves sans offre en {tc} ou à pied",
        "Sans offre en {tcs} ou à pied",
        "Part des élèves sans offre accessible en transports en commun ou à pied, quel que soit le mode choisi.",
        on_map=True,
    ),
    Indicator(
        "median_minutes",
        "Temps médian jusqu'à l'offre la plus proche {mode}",
        "Médiane {mode}",
        "min",
        1.0,
        0,
        "YlOrRd",
        True,
        "La moitié au moins des élèves ont une offre à ce temps ou moins.",
        "dec1",
        on_map=True,
        per_mode=True,
    ),
    Indicator(
        "offers_reachable_car_mean",
        "Offres accessibles en voiture, moyenne",
        "Offres access. en voiture",
        "offres",
        kind="dec1",
    ),
    Indicator(
        "offers_reachable_transit_mean",
        "Offres accessibles en {tc} ou à pied, moyenne",
        "Offres access. en {tcs} ou à pied",
        "offres",
        kind="dec1",
    ),
    Indicator(
        "car_transit_ratio", "Écart voiture / {tc}", "Écart voiture / {tcs}", "×", 1.0, 1, "YlOrRd", True, kind="dec2"
    ),
    Indicator("n_stops", "Arrêts de {tc}", "Arrêts", "arrêts", kind="int"),
    Indicator("morning_departures", "Départs du matin (07:00-08:30)", "Départs du matin", "départs", kind="int"),
    _share(
        "pupils_low_density_share",
        "Part des élèves en commune peu dense (approximation)",
        "Élèves en commune peu dense",
        "",
        worse=False,
    ),
    Indicator("uses_estimated_times", "Temps estimés à vol d'oiseau", "Temps estimés", "", kind="bool"),
):
    register(_ind)
del _ind

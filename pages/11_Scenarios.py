"""Scénarios: what a morning shuttle, bikes for some communes or a new host would change (issue 23)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from analysis.outputs import maps
from analysis.sanitize import markdown_text
from analysis.scenario import output, spec, store
from ui import core, data, filters, mapping
from ui import scenario as sc
from ui.database import db_path


def document_from_link() -> dict:
    """The scenario of the shared link (read once per session), else an empty document."""
    if "sc_doc" not in st.session_state:
        try:
            st.session_state["sc_doc"] = sc.decode(st.query_params.get("scenario")) or {}
        except spec.ScenarioError as exc:
            st.session_state["sc_doc"] = {}
            core.url_notice("scenario", None, f"Lien de la page : scénario ignoré. {exc.message}.")
    return st.session_state["sc_doc"]


def shuttle_fields(line0: dict, codes: list[str], label: dict[str, str]) -> tuple:
    """« Une navette »: (stops, departures, speed, return departures)."""
    st.subheader("Une navette")
    stops = st.multiselect(
        "Arrêts, dans l'ordre de passage (au moins deux communes ; l'arrêt est à la mairie)",
        codes,
        default=[s["commune"] for s in line0.get("stops", []) if s.get("commune") in label],
        format_func=label.get,
        placeholder="Tapez le nom d'une commune",
    )
    c1, c2, c3 = st.columns(3)
    departures = c1.text_input(
        "Départs du premier arrêt (HH:MM)", value=sc.times_text(line0.get("departures")) or "07:00, 07:30, 08:00"
    )
    speed = c2.number_input("Vitesse moyenne (km/h)", 10, 90, int(line0.get("speed_kph", 40)), step=5)
    returns = c3.text_input("Départs du retour (facultatif)", value=sc.times_text(line0.get("return_departures")))
    return stops, departures, speed, returns


def bike_fields(bike0: dict, codes: list[str], label: dict[str, str]) -> tuple:
    """« Des vélos »: (communes, speed)."""
    st.subheader("Des vélos")
    c1, c2 = st.columns([3, 1])
    bike = c1.multiselect(
        "Communes dont les élèves reçoivent un vélo",
        codes,
        default=[c for c in bike0.get("communes", []) if c in label],
        format_func=label.get,
        placeholder="Aucune",
    )
    bike_kph = c2.number_input("Vitesse (km/h ; 20 à 25 : électrique)", 10, 30, int(bike0.get("kph", 15)))
    return bike, bike_kph


def host_fields(host0: dict, codes: list[str], label: dict[str, str]) -> tuple:
    """« Un nouvel accueil »: (commune, sector, places)."""
    st.subheader("Un nouvel accueil")
    c1, c2, c3 = st.columns([2, 2, 1])
    host_options = ["", *codes]
    host = c1.selectbox(
        "Commune de l'accueil",
        host_options,
        index=host_options.index(host0["commune"]) if host0.get("commune") in label else 0,
        format_func=lambda c: label.get(c, "Aucun"),
    )
    host_sector = c2.text_input("Secteur", value=host0.get("sector", ""), max_chars=120)
    host_places = c3.number_input("Places", 1, 100, int(host0.get("places", 1)))
    return host, host_sector, host_places


def scenario_form(doc0: dict, communes: pd.DataFrame) -> tuple:
    """« Le scénario »: the form; returns (the document submitted or None, mode, minutes)."""
    label = dict(zip(communes["code"], communes["name"] + " (" + communes["code"] + ")"))
    codes = list(label)
    line0 = (doc0.get("lines") or [{}])[0]
    host0 = (doc0.get("hosts") or [{}])[0]
    bike0 = doc0.get("bike") or {}
    modes = ("transit", "walk", "bike")

    st.header("Le scénario")
    with st.form("sc_form"):
        name = st.text_input("Nom du scénario", value=doc0.get("name", "Mon scénario"), max_chars=120)
        c1, c2 = st.columns(2)
        mode = filters.mode_choice("sc_mode", modes, label="Mode de déplacement évalué", where=c1)
        minutes = filters.budget_choice("sc_minutes", label="Budget-temps", where=c2)
        stops, departures, speed, returns = shuttle_fields(line0, codes, label)
        bike, bike_kph = bike_fields(bike0, codes, label)
        host, host_sector, host_places = host_fields(host0, codes, label)
        submitted = st.form_submit_button("Évaluer le scénario", type="primary")
    if not submitted:
        return None, mode, minutes
    doc = sc.document(name, stops, departures, speed, returns, bike, bike_kph, host, host_sector, host_places)
    return doc, mode, minutes


def refuse(exc: spec.ScenarioError) -> None:
    """Say why the scenario is refused, and stop the page."""
    st.error(markdown_text(f"Scénario refusé — {exc.message} (champ « {exc.field} »)."), icon="⚠️")
    st.stop()


def headline(result) -> None:
    """Pupils without an offer today, with the scenario, and gained."""
    st.header(markdown_text(f"Résultat : {result.name}"))
    c1, c2, c3 = st.columns(3)
    c1.metric("Élèves sans offre accessible, aujourd'hui", core.fnum(round(result.without_before), 0, "élèves"))
    c2.metric("Avec le scénario", core.fnum(round(result.without_after), 0, "élèves"))
    c3.metric("Élèves gagnés", core.fnum(round(result.gain_pupils), 0, "élèves"))
    for line in output.summary_lines(result)[3:]:
        if not line.startswith("Élèves par commune"):  # said by the estimate badge below
            st.caption(line)
    core.estimate_badge("Élèves par commune : estimation (population × effectif régional de seconde).")


def before_after_maps(result, changed: pd.DataFrame, communes: pd.DataFrame, v: int) -> None:
    """The offers reachable by commune before and after, on the same classes, and their tables."""
    touched = sorted(set(changed["epci"].dropna()))
    area = tuple(communes.loc[communes["epci_siren"].isin(touched), "code"])
    gj = data.geojson("commune", v, codes=area)
    values = result.origins[result.origins["code"].isin(area)]
    top = float(max(values["offers_after"].max(), 51))
    breaks = [0, 5, 20, 50, top]  # the same classes on both maps: none, a few, some, many
    st.subheader("Offres accessibles par commune, avant et après")
    left, right = st.columns(2)
    for col, key, title in ((left, "offers_before", "Aujourd'hui"), (right, "offers_after", "Avec le scénario")):
        with col:
            st.markdown(f"**{title}**")
            m = mapping.base_map(maps.bounds_of(gj), height=420)
            mapping.choropleth(m, gj, values, "code", key, "Offres accessibles", "offres", breaks=breaks)
            mapping.show(m, f"sc_map_{key}", height=420, title=f"Carte : offres accessibles, {title.lower()}")
    st.subheader("Communes qui changent (tableau, alternative aux cartes)")
    core.html_table(output.labelled(changed), max_rows=200)
    gained = result.epci[result.epci["gain_pupils"] > 0]
    if not gained.empty:
        st.subheader("EPCI")
        core.html_table(output.labelled(gained, output.EPCI_COLUMNS))


def downloads(result, doc: dict) -> None:
    """« Télécharger »: the results (XLSX, PDF, CSV) and the scenario (JSON)."""
    st.subheader("Télécharger")
    c1, c2, c3, c4 = st.columns(4)
    for col, fmt, what in (
        (c1, "xlsx", "Tableur XLSX"),
        (c2, "pdf", "Synthèse PDF"),
        (c3, "csv", "Toutes les communes (CSV)"),
    ):
        col.download_button(what, output.render(result, fmt), output.file_name(result, fmt), key=f"sc_dl_{fmt}")
    c4.download_button(
        "Le scénario (JSON)",
        json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"),
        "scenario.json",
        key="sc_dl_spec",
    )
    st.caption("Le lien de la page (barre d'adresse) contient le scénario : copiez-le pour le partager.")


def save_box(result, doc: dict) -> None:
    """« Enregistrer le scénario (administrateurs) »."""
    with st.expander("Enregistrer le scénario (administrateurs)"):
        secret = st.text_input("Secret administrateur", type="password", key="sc_secret")
        if st.button("Enregistrer", key="sc_save"):
            try:
                store.save(db_path(), spec.parse(doc), result, secret=secret, gate_key=core.client_key())
                st.success(markdown_text(f"Scénario « {result.name} » enregistré."))
            except PermissionError as exc:
                st.error(markdown_text(str(exc)))


def render() -> None:
    """The Scénarios page."""
    core.page_setup("Scénarios", "🚌")
    v = core.db_version()
    st.title("Scénarios de mobilité")
    st.markdown(
        "Et si une navette circulait le matin pendant la quinzaine de juin, si des vélos étaient prêtés dans "
        "quelques communes, ou si un accueil de plus était trouvé ? Décrivez le scénario : la page compte les "
        "élèves qui atteindraient alors au moins une offre. Rien n'est modifié dans la base."
    )
    core.require_travel_times()
    communes = data.communes_list(v)
    submitted, mode, minutes = scenario_form(document_from_link(), communes)
    if submitted is not None:
        try:
            spec.parse(submitted)
        except spec.ScenarioError as exc:
            refuse(exc)
        st.session_state["sc_doc"] = submitted
    doc = st.session_state["sc_doc"]
    core.sync_query({"scenario": sc.encode(doc) if doc else None, "mode": mode, "minutes": minutes})
    if not doc:
        st.info("Décrivez une navette, des vélos ou un accueil, puis « Évaluer le scénario ».")
        st.stop()
    with st.spinner("Calcul du scénario (seules les origines touchées sont recalculées)…"):
        try:
            result = sc.evaluate(json.dumps(doc, ensure_ascii=False, sort_keys=True), mode, int(minutes), v)
        except spec.ScenarioError as exc:
            refuse(exc)
    headline(result)
    changed = result.changed()
    if changed.empty:
        st.warning("Ce scénario ne change l'accès d'aucune commune : essayez d'autres arrêts, horaires ou communes.")
    else:
        before_after_maps(result, changed, communes, v)
    downloads(result, doc)
    save_box(result, doc)


render()

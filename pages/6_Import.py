"""Import: new offers, collective projects and EPCI mobility services (issue 7, administrators).

Reading (the import log, the quarantine, a simulation of a file) needs no login. Writing needs
the administrator secret, configured by the environment variable ``OBSERVATOIRE_ADMIN_SECRET``
or the same key in ``.streamlit/secrets.toml``; the page passes ``st.secrets`` down to
:func:`analysis.imports.import_file`, which checks it (constant-time comparison, attempts
slowed after failures) and swaps the new database in atomically.
"""

from __future__ import annotations

import streamlit as st

from analysis import imports
from analysis.config import PROJECT_ROOT
from analysis.errors import DataError
from analysis.imports import limits, sandbox
from analysis.sources import validation
from ui import core, data

KIND_LABELS = {
    "offers": "Offres de stage",
    "collective": "Projets de stages collectifs",
    "mobility": "Services de mobilité des EPCI",
}
MODE_LABELS = {
    "replace-source": "Remplacer les offres de la même source",
    "append": "Ajouter",
    "replace-all": "Tout remplacer",
}


def streamlit_secrets() -> dict:
    """The administrator secret from Streamlit secrets, if any (no secrets file is fine)."""
    try:
        value = st.secrets.get(imports.ENV_SECRET)
    except Exception:  # noqa: BLE001 - no secrets.toml
        value = None
    return {imports.ENV_SECRET: value} if value else {}


def write_access() -> tuple[dict, bool, str]:
    """(secrets, writing enabled, why not) of this deployment."""
    secrets = streamlit_secrets()
    try:
        writing_enabled = imports.configured_secret(secrets) is not None
        disabled_reason = imports.HOW_TO_ENABLE
    except imports.WriteDisabled as exc:  # a blank or too short secret is configured
        writing_enabled, disabled_reason = False, str(exc)
    return secrets, writing_enabled, disabled_reason


def templates_box() -> None:
    """« Modèles de fichiers à remplir »: the templates to download."""
    with st.expander("Modèles de fichiers à remplir"):
        st.markdown(
            "Les modèles ne contiennent que la ligne d'en-tête ; la feuille « notice » du classeur "
            "décrit chaque colonne. CSV : séparateur « ; » ou « , », UTF-8 ou Windows-1252."
        )
        tdir = PROJECT_ROOT / "data" / "templates"
        cols = st.columns(3)
        for col, (kind, (stem, _spec, title)) in zip(cols, imports.TEMPLATE_FILES.items()):
            col.markdown(f"**{title}**")
            for ext, mime in (
                ("csv", "text/csv"),
                ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ):
                p = tdir / f"{stem}.{ext}"
                if p.exists():
                    col.download_button(
                        f"{stem}.{ext}", p.read_bytes(), file_name=p.name, mime=mime, key=f"tpl_{kind}_{ext}"
                    )


def file_form() -> tuple:
    """The file and its options: (kind, format, mode, source, geocode, upload)."""
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox("Type de données", list(KIND_LABELS), format_func=KIND_LABELS.get, key="imp_kind")
    fmt = None
    if kind == "offers":
        fmt_choice = c2.selectbox(
            "Format",
            ["auto", "platform", "template"],
            key="imp_fmt",
            format_func={
                "auto": "Détection automatique",
                "platform": "Export de la plateforme",
                "template": "Modèle générique",
            }.get,
        )
        fmt = None if fmt_choice == "auto" else fmt_choice
        modes = list(imports.OFFER_MODES)
    else:
        modes = list(imports.OTHER_MODES)
    mode = c3.selectbox("Mode", modes, format_func=MODE_LABELS.get, key=f"imp_mode_{kind}")
    source = st.text_input(
        "Nom de la source (facultatif)",
        key="imp_source",
        help="Défaut : offers_platform pour l'export de la plateforme, import:<nom du fichier> sinon.",
    )
    geocode = False
    if kind == "offers":
        geocode = st.checkbox(
            "Géocoder les adresses avec la Base Adresse Nationale (en ligne, facultatif)", key="imp_geocode"
        )
    upload = core.french_file_uploader(
        "Fichier CSV ou XLSX",
        ["csv", "txt", "xlsx"],
        key="imp_file",
        help=f"Au plus {limits.MAX_UPLOAD_MB} Mo, {limits.MAX_ROWS:,} lignes".replace(",", "\u202f")
        + f" et {limits.MAX_COLUMNS} colonnes ; {validation.MAX_FIELD_CHARS} caractères par champ.",
    )

    return kind, fmt, mode, source, geocode, upload


def show_result(res: imports.ImportResult) -> None:
    """Rows read, accepted and quarantined, and the quarantined rows and warnings."""
    a, b, c = st.columns(3)
    a.metric("Lignes lues", res.rows_in)
    b.metric("Acceptées", res.accepted)
    c.metric("En quarantaine", res.quarantined)
    st.caption(
        f"Format : {res.format or '—'} · source : {res.source} · mode : {res.mode} · "
        f"encodage : {res.encoding} · séparateur : {res.separator!r}"
        + (f" · remarque : {res.note}" if res.note else "")
    )
    if res.quarantined:
        st.markdown("**Lignes en quarantaine**")
        st.dataframe(
            res.quarantine[["row_number", "field", "reason", "raw"]].rename(
                columns={"row_number": "ligne", "field": "colonne", "reason": "motif", "raw": "contenu"}
            ),
            hide_index=True,
            width="stretch",
        )
    if len(res.warnings):
        st.markdown("**Avertissements (lignes acceptées)**")
        st.dataframe(
            res.warnings[["row_number", "field", "reason"]].rename(
                columns={"row_number": "ligne", "field": "colonne", "reason": "remarque"}
            ),
            hide_index=True,
            width="stretch",
        )


def dry_run(b1, upload, kind: str, args: dict) -> None:
    """« Contrôler »: the simulation (nothing written), in a bounded child process."""
    if b1.button("Contrôler (simulation, rien n'est écrit)", disabled=upload is None, key="imp_dry"):
        # open to all, hence bounded: limits checked before parsing, then a child process with
        # memory and time limits, cancelled if this browser session ends (docs/security.md)
        try:
            with st.spinner(f"Contrôle du fichier (au plus {limits.CHECK_WALL_SECONDS} s)…"):
                res, _stats = sandbox.run_check(
                    upload.getvalue(), upload.name, kind, alive=core.session_alive(), **args
                )
            st.info("Simulation : la base n'a pas été modifiée.")
            show_result(res)
        except (DataError, ValueError) as exc:
            st.error(f"Fichier refusé : {exc}")


def write_import(upload, kind: str, secret: str, secrets: dict, geocode: bool, args: dict) -> None:
    """« Importer »: the real import (administrator secret), with its progress and outcome."""
    bar = st.progress(0.0, text="Import…")
    outcome: imports.ImportResult | Exception | None = None
    with st.status(
        "Import en cours (contrôle, copie de la base, recalcul des temps de trajet)…", expanded=True
    ) as status:

        def progress(message: str, fraction: float | None = None) -> None:
            status.write(message)
            if fraction is not None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            outcome = imports.import_file(
                imports.ImportRequest(
                    None, kind, data=upload.getvalue(), name=upload.name, geocode=geocode, user="application", **args
                ),
                secret=secret,
                secrets=secrets,
                gate_key=core.client_key(),
                progress=progress,
            )
        except (imports.AuthError, imports.WriteDisabled, DataError, ValueError) as exc:
            outcome = exc
            status.update(label="Import refusé", state="error", expanded=False)
        else:
            status.update(label=f"Import terminé en {outcome.seconds:.0f} s", state="complete", expanded=False)
    if isinstance(outcome, (imports.AuthError, imports.WriteDisabled)):
        st.error(str(outcome))
    elif isinstance(outcome, Exception):
        st.error(f"Fichier refusé : {outcome}")
    elif outcome is not None:
        st.success("Base mise à jour : les pages affichent les nouvelles données à leur prochaine action.")
        show_result(outcome)


def import_log() -> None:
    """« Journal des imports » (read-only) and the quarantine of a chosen import."""
    st.header("Journal des imports")
    log = data.import_log(core.db_version())
    if log is None or log.empty:  # an empty grid says « empty » in English
        st.caption("Aucun import n'a encore été fait dans cette base.")
    else:
        st.dataframe(
            log.rename(
                columns={
                    "imported_at": "date",
                    "file": "fichier",
                    "kind": "type",
                    "rows_in": "lignes lues",
                    "accepted": "acceptées",
                    "quarantined": "en quarantaine",
                    "warnings": "avertissements",
                    "user_name": "utilisateur",
                }
            ),
            hide_index=True,
            width="stretch",
        )
        if len(log):
            chosen = st.selectbox(
                "Quarantaine de l'import",
                log["import_id"].tolist(),
                key="imp_log_pick",
                format_func=lambda i: f"{i} — {log.set_index('import_id').loc[i, 'file']}",
            )
            q = data.import_quarantine(core.db_version(), chosen)
            if q is None or q.empty:
                st.caption("Aucune ligne en quarantaine pour cet import.")
            else:
                st.dataframe(q, hide_index=True, width="stretch")
                st.download_button(
                    "Télécharger la quarantaine (CSV)",
                    core.csv_bytes(q),
                    file_name=f"quarantaine_{chosen}.csv",
                    mime="text/csv",
                    key="imp_q_dl",
                )


def render() -> None:
    """The Import page."""
    core.page_setup("Import", "📥")
    st.title("Importer des offres et des données locales")
    st.markdown(
        "Ajoutez un export de la plateforme « 1 élève, 1 stage », un tableau d'offres au **modèle "
        "générique**, la liste des **projets de stages collectifs** ou les **services de mobilité des "
        "EPCI**. Chaque ligne est contrôlée : les lignes refusées vont en **quarantaine** avec le "
        "numéro de ligne, la colonne et le motif (lignes lues = acceptées + en quarantaine). "
        "La simulation est ouverte à tous ; l'import réel est réservé à l'administrateur. "
        "Détails : `docs/imports.md`."
    )
    secrets, writing_enabled, disabled_reason = write_access()
    templates_box()
    st.header("Contrôler ou importer un fichier")
    if not writing_enabled:
        st.warning(disabled_reason + " La simulation reste possible.")
    kind, fmt, mode, source, geocode, upload = file_form()
    args = dict(fmt=fmt, mode=mode, source=source.strip() or None, db_path=core.db_path())
    b1, b2 = st.columns(2)
    dry_run(b1, upload, kind, args)
    with b2.form("imp_write"):
        secret = st.text_input("Secret administrateur", type="password", disabled=not writing_enabled)
        go = st.form_submit_button("Importer", disabled=not writing_enabled or upload is None)
    if go and upload is not None:
        write_import(upload, kind, secret, secrets, geocode, args)
    import_log()


render()

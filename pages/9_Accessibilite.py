"""Accessibilité: the accessibility statement in the RGAA form (issue 16).

Conformance state, results of the checks, non-accessible content, derogations, contact and
recourse. The checks themselves: ``tests/test_accessibility.py`` and ``docs/accessibility.md``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import a11y, core

#: Date the statement was written (and of the checks it reports).
STATEMENT_DATE = "1er décembre 2026"


def conformance() -> None:
    """« État de conformité »."""
    st.header("État de conformité")
    st.markdown(
        f"L'Observatoire des stages — Normandie est **{a11y.CONFORMANCE}** avec le référentiel "
        "général d'amélioration de l'accessibilité (RGAA), version 4.1.2.\n\n"
        "Ce service n'a pas encore fait l'objet d'un **audit de conformité complet** (les 106 "
        "critères du RGAA, sur un échantillon de pages, par un auditeur) : le RGAA demande dans ce "
        "cas de le déclarer non conforme, même si les contrôles décrits ci-dessous ne relèvent plus "
        "d'anomalie grave."
    )


def checks() -> None:
    """« Résultats des contrôles »: automatic and manual checks, views checked."""
    st.header("Résultats des contrôles")
    st.markdown(
        "Contrôles réalisés par l'équipe du projet (ce ne sont pas un audit RGAA) :\n\n"
        "- **Contrôle automatique** avec le moteur axe-core (version 4.12), injecté dans chaque "
        "page et dans chacun de ses cadres (cartes, graphiques) : **0 anomalie grave ou critique** "
        "et aucun niveau de titre sauté sur toutes les pages de la navigation et les vues "
        "ci-dessous. Avant corrections, ce contrôle "
        "relevait sur chaque page une langue déclarée anglaise, 15 éléments en défaut (contrastes, "
        "zones défilantes inaccessibles au clavier, un cadre sans titre ni langue) et d'autres dans "
        "la vue « Schéma » de la page Données.\n"
        "- **Contrôles manuels** : parcours au clavier (touche Tab) de chaque page avec lien "
        "d'évitement, focus visible, couches des cartes atteignables et sortie des cartes sans "
        "piège ; affichage zoomé à 200 % ; présence d'une alternative (tableau ou résumé « En "
        "bref ») pour chaque carte et chaque graphique.\n"
        "- **Non réalisé à ce jour** : test avec des lecteurs d'écran (NVDA, JAWS, VoiceOver), "
        "revue humaine de la pertinence des textes alternatifs et de la structure des titres, "
        "accessibilité des rapports PDF."
    )
    views = pd.DataFrame(
        {
            "Page ou vue contrôlée": [
                "Accueil",
                "Couverture",
                "Mobilité rurale (tableaux des cartes ouverts)",
                "Stages collectifs",
                "Planification",
                "Territoire (EPCI et commune)",
                "Rapports",
                "Import",
                "Données (sources, schéma, lignes rejetées, quarantaine)",
                "Autres pages de la navigation",
                "Déclaration d'accessibilité",
            ],
            "Contrôle automatique": ["0 anomalie grave ou critique"] * 11,
        }
    )
    core.html_table(views)


def non_accessible() -> None:
    """« Contenus non accessibles »: known non-conformities, derogations, exemptions."""
    st.header("Contenus non accessibles")
    st.subheader("Non-conformités connues")
    st.markdown(
        "- Les **cartes interactives** (Leaflet) : les valeurs ne sont lisibles qu'au survol de la "
        "souris (info-bulles) et les points regroupés ne sont pas annoncés aux lecteurs d'écran. "
        "Chaque carte est suivie de son **tableau** (alternative textuelle) et d'un résumé « En "
        "bref ».\n"
        "- Les **grands tableaux interactifs** (tri et recherche, dessinés dans un canevas) sont "
        "mal restitués par les lecteurs d'écran : les mêmes données sont proposées en tableau HTML "
        "(premières lignes) et en téléchargement CSV.\n"
        "- Certains libellés des composants de la bibliothèque Streamlit restent en anglais "
        "(glisser-déposer de fichier de la page Import, menu de l'application, messages d'aide des "
        "listes déroulantes).\n"
        "- Les **portraits PDF** ne sont pas balisés (PDF non structuré) : le rapport CSV ou XLSX "
        "du même territoire contient les mêmes chiffres."
    )
    st.subheader("Dérogations pour charge disproportionnée")
    st.markdown("Aucune.")
    st.subheader("Contenus non soumis à l'obligation d'accessibilité")
    st.markdown(
        "Les cartes et services de cartographie en ligne, dès lors que les informations "
        "essentielles sont fournies sous une forme accessible : c'est le rôle des tableaux et "
        "résumés qui accompagnent chaque carte."
    )


def establishment() -> None:
    """« Établissement de cette déclaration »: date, technologies, test environment."""
    st.header("Établissement de cette déclaration")
    st.markdown(
        f"Cette déclaration a été établie le {STATEMENT_DATE}.\n\n"
        "- **Technologies utilisées** : HTML5, CSS, JavaScript, SVG (Streamlit, Leaflet, Plotly).\n"
        "- **Environnement de test** : Chromium (mode sans interface) piloté par Playwright, "
        "moteur axe-core ; clavier simulé.\n"
        "- **Outils** : axe-core (paquet Python axe-playwright-python), Playwright.\n"
        "- **Pages contrôlées** : toutes les pages de la navigation (tableau ci-dessus)."
    )


def feedback() -> None:
    """« Retour d'information et contact »."""
    st.header("Retour d'information et contact")
    who = a11y.contact()
    if who:
        st.markdown(
            "Si vous n'arrivez pas à accéder à un contenu ou à un service, vous pouvez contacter le "
            f"responsable du service pour être orienté vers une alternative accessible ou obtenir le "
            f"contenu sous une autre forme : **{who}**."
        )
    else:
        st.markdown(
            "Si vous n'arrivez pas à accéder à un contenu ou à un service, vous pouvez contacter le "
            "responsable du service pour être orienté vers une alternative accessible ou obtenir le "
            "contenu sous une autre forme."
        )
        st.warning(
            "Contact d'accessibilité non renseigné pour ce déploiement : l'organisme qui met le "
            f"service en ligne doit l'indiquer (variable d'environnement `{a11y.CONTACT_ENV}`).",
            icon="✉️",
        )


def recourse() -> None:
    """« Voies de recours »."""
    st.header("Voies de recours")
    st.markdown(
        "Cette procédure est à utiliser dans le cas suivant : vous avez signalé au responsable du "
        "service un défaut d'accessibilité qui vous empêche d'accéder à un contenu ou à un des "
        "services, et vous n'avez pas obtenu de réponse satisfaisante.\n\n"
        "- Écrire un message au **Défenseur des droits** (formulaire en ligne sur "
        "defenseurdesdroits.fr) ;\n"
        "- Contacter le délégué du Défenseur des droits dans votre région ;\n"
        "- Envoyer un courrier par la poste (gratuit, ne pas mettre de timbre) : Défenseur des "
        "droits, Libre réponse 71120, 75342 Paris CEDEX 07."
    )


def render() -> None:
    """The accessibility statement."""
    core.page_setup("Accessibilité", "♿")
    st.title(a11y.STATEMENT_TITLE)
    st.markdown(
        "Les organismes publics qui mettent ce tableau de bord en ligne (rectorat, Région, EPCI, "
        "membres du groupe de travail « stages » du CREFOP) s'engagent à rendre leurs services "
        "numériques accessibles, conformément à l'article 47 de la loi n° 2005-102 du 11 février "
        "2005. Cette déclaration d'accessibilité s'applique à l'**Observatoire des stages — "
        "Normandie** (ce tableau de bord et les rapports qu'il produit)."
    )
    conformance()
    checks()
    non_accessible()
    establishment()
    feedback()
    recourse()


render()

"""The Scénarios page's glue: the scenario document from the form and to/from the URL, cached evaluation.

The document is not personal data (stops, communes, departures): it travels in the link
(``?scenario=`` base64url of the compact JSON) so that a scenario can be shared.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import streamlit as st

from analysis.scenario import evaluate as ev
from analysis.scenario import spec
from ui.database import db_path

#: Longest ``scenario`` URL parameter read (characters).
MAX_URL_CHARS = 6000


def encode(doc: dict) -> str:
    """The document as a URL parameter (compact JSON, base64url without padding)."""
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(value: str | None) -> dict | None:
    """The document of a URL parameter; :class:`analysis.scenario.spec.ScenarioError` when unreadable."""
    if not value:
        return None
    if len(value) > MAX_URL_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise spec.ScenarioError("scenario", "paramètre du lien illisible (trop long ou caractères invalides)")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        doc = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise spec.ScenarioError("scenario", "paramètre du lien illisible (document JSON attendu)") from None
    spec.parse(doc)  # refused here with the field named, before any widget is seeded
    return doc


def times_text(values: list[str] | None) -> str:
    return ", ".join(values or [])


def split_times(text: str) -> list[str]:
    """« 07:00, 07:30 8:00 » -> ["07:00", "07:30", "8:00"] (checked by :func:`spec.parse`)."""
    return [t for t in re.split(r"[\s,;]+", text.strip()) if t]


def document(
    name: str,
    stops: list[str],
    departures: str,
    speed: float,
    returns: str,
    bike: list[str],
    bike_kph: float,
    host: str | None,
    host_sector: str,
    host_places: int,
) -> dict:
    """The scenario document of the form's values (empty parts left out)."""
    doc: dict[str, Any] = {"name": name.strip() or "Scénario"}
    if stops:
        line: dict[str, Any] = {
            "name": "Navette",
            "stops": [{"commune": c} for c in stops],
            "departures": split_times(departures),
            "speed_kph": speed,
        }
        if split_times(returns):
            line["return_departures"] = split_times(returns)
        doc["lines"] = [line]
    if bike:
        doc["bike"] = {"communes": list(bike), "kph": bike_kph}
    if host:
        doc["hosts"] = [{"commune": host, "sector": host_sector.strip() or "Non précisé", "places": int(host_places)}]
    return doc


@st.cache_data(show_spinner=False, max_entries=16)
def evaluate(doc_json: str, mode: str, minutes: int, version: int) -> ev.ScenarioResult:
    """The scenario's result (cached on the document, the view and the database version)."""
    return ev.evaluate_file(db_path(), spec.loads(doc_json), mode, minutes)

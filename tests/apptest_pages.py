"""Helpers for the tests that run one page with Streamlit's AppTest (no browser, no server).

Shared by tests/test_words.py and tests/test_new_user.py (and any page test): run a page file
with session state and URL parameters, read its texts as shown, read an HTML table
(:func:`ui.core.html_table`) back into a frame.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from analysis.sanitize import markdown_unescape

ROOT = Path(__file__).resolve().parent.parent


def page_links_as_text(monkeypatch) -> None:
    """AppTest runs a page without ``st.navigation``: ``st.page_link`` to another page would
    raise StreamlitPageNotFoundError; make it write ``LIEN <label>`` instead (call from an
    autouse fixture)."""
    import streamlit as st

    monkeypatch.setattr(st, "page_link", lambda page, label=None, icon=None, **kw: st.markdown("LIEN " + str(label)))


def run_page(path: str, state: dict | None = None, query: dict | None = None):
    """Run the page file ``path`` (relative to the project root) once, with ``state`` in the
    session and ``query`` in the URL; fail on any exception the page raised."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def all_text(at, *, warnings: bool = False) -> str:
    """Markdown, captions, info boxes and titles (and warnings when asked) of an AppTest run, as
    shown: Markdown escapes removed, HTML character references of the badges decoded."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [t.value for t in at.title]
    if warnings:
        parts += [w.value for w in at.warning]
    return "\n".join(html.unescape(markdown_unescape(str(p))) for p in parts)


class TableCells(HTMLParser):
    """The text of every ``<td>``/``<th>`` cell of an HTML fragment, row by row (``rows``)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def html_table_frame(at, first_header: str) -> pd.DataFrame:
    """The HTML table (:func:`ui.core.html_table`) of an AppTest run whose first header is
    ``first_header``, as a frame of the cells' text."""
    for m in at.markdown:
        if "obs-table" not in m.value:
            continue
        parser = TableCells()
        parser.feed(m.value)
        if parser.rows and parser.rows[0] and parser.rows[0][0] == first_header:
            return pd.DataFrame(parser.rows[1:], columns=parser.rows[0])
    raise AssertionError(f"aucun tableau dont la première colonne est « {first_header} »")

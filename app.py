"""Observatoire des stages — Normandie: entry point (set-up and navigation; the Accueil page is
``pages/0_Accueil.py``).

Run: ``streamlit run app.py`` (the database is built by ``python -m analysis.build``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui.navigation import HOME, PAGES  # noqa: E402 - after the path set-up above

__all__ = ["PAGES", "main"]


def main() -> None:
    """Register the pages (Accueil first, at "/"), warm the caches, run the chosen page and
    the accessibility footer."""
    home_path, home_title, home_icon = HOME
    pages = [st.Page(home_path, title=home_title, icon=home_icon, default=True)]
    for path, title, url, icon in PAGES:
        if (ROOT / path).exists():
            pages.append(st.Page(path, title=title, url_path=url, icon=icon))
    _start_warmup()
    page = st.navigation(pages)
    from analysis import settings
    from ui import core

    if settings.current().timing_on:
        t0 = time.perf_counter()
        try:
            with core.guard(getattr(page, "title", "page")):
                page.run()
        finally:
            print(
                f"[timing] {getattr(page, 'title', 'page')}: {time.perf_counter() - t0:.3f} s",
                file=sys.stderr,
                flush=True,
            )
    else:
        with core.guard(getattr(page, "title", "page")):  # no traceback in the browser (French message + log)
            page.run()
    from ui import a11y

    a11y.footer()  # « Accessibilité : … » on every page (RGAA)


def _start_warmup() -> None:
    """Warm the data caches once per server process in a background thread (never blocks
    nor fails the page; see :mod:`ui.warmup`)."""
    try:
        from ui import warmup

        warmup.start()
    except Exception:  # noqa: BLE001 - an optimisation only
        import logging

        logging.getLogger("observatoire.warmup").warning("préchauffage non lancé", exc_info=True)


if __name__ == "__main__":  # streamlit runs the script as __main__
    main()

"""Start the dashboard: ``streamlit run app.py`` in this process, without Streamlit's legacy
pages-directory mode on the first run.

Run: ``python -m ui.serve [streamlit options]`` (what ``make run`` does), e.g.
``python -m ui.serve --server.port 8501 --server.headless true``.

Why a launcher: Streamlit (1.67) runs the *first* script run of a server process in its legacy
"pages directory" mode whenever a ``pages/`` folder sits beside the main script. That run
builds a navigation from the file names (``pages/4_Territoire.py`` → ``/Territoire``) before
``app.py``'s own ``st.navigation`` (``/territoire``) replaces it for good. A shared link such as
``/territoire?echelon=commune&code=61168`` opened as the first visit after a (re)start thus
showed Streamlit's English "Page not found" dialog over the right page (found as a new user:
session 4; upstream streamlit/streamlit#8860 and #9992). ``st.navigation`` switches that mode
off for the rest of the process (``PagesManager.uses_pages_directory = False``); this launcher
switches it off before the first run. Plain ``streamlit run app.py`` still works, with that
one dialog on a cold server's first deep link.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Serve ``app.py`` with the pages-directory mode off; extra arguments go to ``streamlit run``.

    Parameters
    ----------
    argv : list of str, optional
        Options for ``streamlit run`` (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        Streamlit's exit status.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(["run", str(ROOT / "app.py"), *args], prog_name="streamlit", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main())

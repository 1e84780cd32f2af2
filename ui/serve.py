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

With ``OBSERVATOIRE_MAP_SANDBOX=1`` it also serves the map component's page (``streamlit_folium``) with the header
``Content-Security-Policy: sandbox allow-scripts …`` (:func:`sandbox_map_frames`). Streamlit
gives every component frame ``sandbox="allow-scripts allow-same-origin …"``, with no option to
change it: a script reaching a map (a hostile name, issue 24) could then read and drive the
dashboard's own page. The header's sandbox adds to the frame's and, without
``allow-same-origin``, puts the map's document in an opaque origin: it still runs Leaflet and
talks to Streamlit by ``postMessage`` (which Streamlit matches by frame, not by origin), but can
no longer reach the page, its storage or its cookies.

It also serves Streamlit's page shell (``index.html``) in French: the package's file says
``<html lang="en">`` and ``<title>Streamlit</title>``, which the browser (and a screen reader)
had until the app's script corrected them 0.1–1.9 s later (RGAA criteria 8.3 and 8.5, issue 16).
:func:`french_static_dir` builds a directory beside Streamlit's own with every entry linked
except ``index.html``, rewritten; ``streamlit.file_util.get_static_dir`` points to it.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The page shell's title before the app's script sets each page's own.
SHELL_TITLE = "Observatoire des stages — Normandie"


def french_index(html: str) -> str:
    """Streamlit's ``index.html`` with ``lang="fr"`` and the observatory's title.

    Raises
    ------
    ValueError
        The file no longer has the ``<html lang="en">`` or ``<title>Streamlit</title>`` this
        rewrite expects (a new Streamlit release: check it, then adapt).
    """
    if '<html lang="en">' not in html or "<title>Streamlit</title>" not in html:
        raise ValueError("index.html de Streamlit : balises <html lang> ou <title> inattendues")
    return html.replace('<html lang="en">', '<html lang="fr">', 1).replace(
        "<title>Streamlit</title>", f"<title>{SHELL_TITLE}</title>", 1
    )


def french_static_dir(original: Path, target: Path) -> Path:
    """Fill ``target`` with links to every entry of Streamlit's static directory ``original``
    except ``index.html``, written in French (:func:`french_index`); return ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in original.iterdir():
        if entry.name != "index.html":
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (target / "index.html").write_text(french_index((original / "index.html").read_text("utf-8")), "utf-8")
    return target


#: Environment variable: ``1`` serves the map frames sandboxed (:func:`sandbox_map_frames`). Off by
#: default for now: with it, ``tests/test_browser.py::test_origin_map_drawn_on_demand_and_shared_by_url``
#: lost the focus of the « Origine » box to a map frame right after the page loaded (not explained yet).
ENV_MAP_SANDBOX = "OBSERVATOIRE_MAP_SANDBOX"
#: Sandbox of the map frames' document (no ``allow-same-origin``: an opaque origin). Popups: the
#: « Leaflet » credit link opens in a new tab.
MAP_FRAME_POLICY = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox"


def frame_policy(path: str) -> str | None:
    """The ``Content-Security-Policy`` of the component file at ``path`` (``<component>/<file>``,
    as in ``/component/<path>``): :data:`MAP_FRAME_POLICY` for the map component's pages, else
    None.

    Examples
    --------
    >>> frame_policy("streamlit_folium.st_folium/index.html") == MAP_FRAME_POLICY
    True
    >>> frame_policy("streamlit_folium.st_folium/static/js/main.js") is None
    True
    """
    name, _, file = path.partition("/")
    if not name.endswith("st_folium"):
        return None
    return MAP_FRAME_POLICY if (not file or file.endswith(".html")) else None


def sandbox_map_frames() -> None:
    """Make Streamlit serve the map component's pages with :func:`frame_policy`'s header (its
    component routes are wrapped before the server builds them)."""
    from starlette.routing import Route
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_component_routes
    if getattr(original, "__obs_sandboxed__", False):
        return

    def create(component_registry, base_url):
        routes = []
        for route in original(component_registry, base_url):
            if isinstance(route, Route) and "GET" in (route.methods or ()):
                route = Route(route.path, _with_policy(route.endpoint), methods=["GET"])
            routes.append(route)
        return routes

    create.__obs_sandboxed__ = True
    starlette_app.create_component_routes = create


def _with_policy(endpoint):
    async def serve(request):
        response = await endpoint(request)
        policy = frame_policy(str(request.path_params.get("path", "")))
        if policy:
            response.headers["Content-Security-Policy"] = policy
        return response

    return serve


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
    from streamlit import file_util
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    from analysis import settings

    PagesManager.uses_pages_directory = False
    if settings.current().map_sandbox_on:
        sandbox_map_frames()
    shell = Path(tempfile.mkdtemp(prefix="observatoire-static-"))
    atexit.register(shutil.rmtree, shell, ignore_errors=True)
    static = str(french_static_dir(Path(file_util.get_static_dir()), shell / "static"))
    file_util.get_static_dir = lambda: static
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(["run", str(ROOT / "app.py"), *args], prog_name="streamlit", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main())

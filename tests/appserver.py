"""The dashboard served for a browser: ``streamlit run app.py`` on a free local port, and headless Chromium.

One implementation for the browser tests (``tests/test_browser*.py``, ``tests/test_imports.py``,
through the fixtures of ``tests/test_browser.py``) and for ``bench/browser.py``:

- :func:`free_port`: a free TCP port on 127.0.0.1;
- :class:`AppServer`: starts the app on that port (``OBSERVATOIRE_DB`` pointing at the database
  given, usage statistics off, extra environment variables set or removed), waits until
  Streamlit's health endpoint answers, and stops the server by its own process id (terminate,
  then kill after 10 s). Used as a context manager;
- :func:`launch_chromium`: the Debian Chromium (``/usr/bin/chromium``) in headless mode, with the
  arguments of the house rules.

Importable as ``tests.appserver`` (from the repository root, as ``bench/browser.py`` does) or
as ``appserver`` (from ``tests/``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


class ServerStartError(RuntimeError):
    """The Streamlit server exited or did not answer its health check in time."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """``streamlit run app.py`` on a free port of 127.0.0.1, started on ``__enter__`` / :meth:`start`.

    Parameters
    ----------
    db : Path, optional
        Database served (``OBSERVATOIRE_DB``); the app's default when None.
    env : mapping, optional
        Extra environment variables of the server.
    unset : sequence of str
        Environment variables removed from the server's environment.
    log : file, optional
        Where the server's output goes (discarded when None).
    timeout : float
        Seconds to wait for the health endpoint.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>`` once started.
    proc : subprocess.Popen or None
        The server process once started.
    """

    def __init__(
        self,
        db: Path | None = None,
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = (),
        log: IO[Any] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.db, self.extra_env, self.unset, self.log, self.timeout = db, dict(env or {}), tuple(unset), log, timeout
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def environment(self) -> dict[str, str]:
        """The server's environment: this process's, plus the database, the extra variables and
        usage statistics off, minus ``unset``."""
        env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", **self.extra_env)
        if self.db is not None:
            env["OBSERVATOIRE_DB"] = str(self.db)
        for name in self.unset:
            env.pop(name, None)
        return env

    def start(self) -> AppServer:
        """Start the server and wait until it answers; :class:`ServerStartError` otherwise (the
        process is then killed)."""
        port = free_port()
        cmd = [sys.executable, "-m", "ui.serve", "--server.port", str(port)]  # streamlit run app.py, see ui/serve.py
        cmd += ["--server.headless", "true", "--server.address", "127.0.0.1"]
        out = self.log if self.log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.environment(), stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + self.timeout
        while not self._healthy():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise ServerStartError("le serveur Streamlit n'a pas démarré")
            time.sleep(0.3)
        return self

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (its own process id): terminate, kill after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_chromium(playwright: Any) -> Any:
    """Headless Debian Chromium (:data:`CHROMIUM`, :data:`CHROMIUM_ARGS`) from a Playwright
    instance (``sync_playwright()``); the caller closes it."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))

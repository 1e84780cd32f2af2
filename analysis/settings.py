"""The one module that reads the environment: every ``OBSERVATOIRE_*`` setting of the project.

Every other module asks :func:`current` (read at call time, never frozen at import: a test that
sets a variable with ``monkeypatch.setenv`` after the import is seen at once) and keeps its own
checks of the value (a wrong ``OBSERVATOIRE_TRUSTED_PROXIES`` disables writing, a wrong
``OBSERVATOIRE_HIERARCHY`` is an error where the hierarchy is built).

=====================================  ==========================================================
Variable                               Meaning (default when unset or empty)
=====================================  ==========================================================
``OBSERVATOIRE_SOURCE``                source directory, a mirror of the official open data
                                       (``../shared/data`` beside the project root when it exists)
``OBSERVATOIRE_DB``                    the DuckDB database file (``data/observatoire.duckdb``)
``OBSERVATOIRE_CACHE``                 cache directory of the road graphs and their hierarchies
                                       (``cache/`` beside the database)
``OBSERVATOIRE_HIERARCHY``             when the contraction hierarchy of a road graph is built:
                                       ``background`` (after the build), ``now`` (inside the
                                       build) or ``off`` (never; a cached one is still read)
                                       (``background``)
``OBSERVATOIRE_ADMIN_SECRET``          the app: administrator secret when the secrets file has
                                       none; the command line: the secret the user *gives*
                                       (unset: writing disabled / no secret given)
``OBSERVATOIRE_SECRETS_FILE``          another secrets file (``.streamlit/secrets.toml``)
``OBSERVATOIRE_TRUSTED_PROXIES``       number of reverse proxies in front of the app, 0 to 5;
                                       only then is ``X-Forwarded-For`` read (0)
``OBSERVATOIRE_CONTACT_ACCESSIBILITE`` e-mail or form address shown on the accessibility page
                                       (none: the page says no contact is configured)
``OBSERVATOIRE_MAP_SANDBOX``           ``1``: ``python -m ui.serve`` serves the map component
                                       with a ``sandbox`` Content-Security-Policy (off)
``OBSERVATOIRE_TIMING``                any non-empty value: each page prints its server-side
                                       script time (off)
``USER``                               the name written in the imports and scenarios logs by
                                       the command line (none)
=====================================  ==========================================================

The same table is in ``docs/architecture.md`` (section « Réglages »).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

#: Environment variable of each field of :class:`Settings`.
VARIABLES: dict[str, str] = {
    "source": "OBSERVATOIRE_SOURCE",
    "db": "OBSERVATOIRE_DB",
    "cache": "OBSERVATOIRE_CACHE",
    "hierarchy": "OBSERVATOIRE_HIERARCHY",
    "admin_secret": "OBSERVATOIRE_ADMIN_SECRET",
    "secrets_file": "OBSERVATOIRE_SECRETS_FILE",
    "trusted_proxies": "OBSERVATOIRE_TRUSTED_PROXIES",
    "contact_accessibility": "OBSERVATOIRE_CONTACT_ACCESSIBILITE",
    "map_sandbox": "OBSERVATOIRE_MAP_SANDBOX",
    "timing": "OBSERVATOIRE_TIMING",
    "user": "USER",
}


@dataclass(frozen=True)
class Settings:
    """The environment settings, as read (raw text; None when the variable is unset).

    Attributes
    ----------
    source : str, optional
        ``OBSERVATOIRE_SOURCE``: the source directory.
    db : str, optional
        ``OBSERVATOIRE_DB``: the database file.
    cache : str, optional
        ``OBSERVATOIRE_CACHE``: the graph cache directory.
    hierarchy : str, optional
        ``OBSERVATOIRE_HIERARCHY``: ``background``, ``now`` or ``off`` (checked by
        :func:`analysis.network.contraction.ensure_hierarchy`).
    admin_secret : str, optional
        ``OBSERVATOIRE_ADMIN_SECRET``.
    secrets_file : str, optional
        ``OBSERVATOIRE_SECRETS_FILE``.
    trusted_proxies : str, optional
        ``OBSERVATOIRE_TRUSTED_PROXIES`` (checked by :func:`analysis.imports.auth.trusted_proxies`).
    contact_accessibility : str, optional
        ``OBSERVATOIRE_CONTACT_ACCESSIBILITE``.
    map_sandbox : str, optional
        ``OBSERVATOIRE_MAP_SANDBOX`` (on when ``1``, see :attr:`map_sandbox_on`).
    timing : str, optional
        ``OBSERVATOIRE_TIMING`` (on when non-empty, see :attr:`timing_on`).
    user : str, optional
        ``USER``.
    """

    source: str | None = None
    db: str | None = None
    cache: str | None = None
    hierarchy: str | None = None
    admin_secret: str | None = None
    secrets_file: str | None = None
    trusted_proxies: str | None = None
    contact_accessibility: str | None = None
    map_sandbox: str | None = None
    timing: str | None = None
    user: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of ``environ`` (default: the process environment, read now)."""
        env = os.environ if environ is None else environ
        return cls(**{f.name: env.get(VARIABLES[f.name]) for f in fields(cls)})

    @property
    def map_sandbox_on(self) -> bool:
        """Whether the map component is served with its own sandbox (``OBSERVATOIRE_MAP_SANDBOX=1``)."""
        return (self.map_sandbox or "").strip() == "1"

    @property
    def timing_on(self) -> bool:
        """Whether the pages print their script time (``OBSERVATOIRE_TIMING`` non-empty)."""
        return bool(self.timing)


def current() -> Settings:
    """The settings of the process environment, read at each call (cheap: a few lookups)."""
    return Settings.from_env()

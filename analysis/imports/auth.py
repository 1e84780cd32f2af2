"""Who may write: the administrator secret and the throttled gate.

Owns :class:`WriteDisabled` / :class:`AuthError`, the secret lookup (:func:`configured_secret`:
environment variable or secrets file, at least :data:`MIN_SECRET_CHARS` characters) and
:class:`AdminGate` (constant-time comparison, per-client exponential slow-down after failures),
with the process-wide :data:`GATE`.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ENV_SECRET = "OBSERVATOIRE_ADMIN_SECRET"
HOW_TO_ENABLE = (
    "Écriture désactivée : aucun secret administrateur n'est configuré. Pour l'activer, écrivez la clé "
    f"{ENV_SECRET} (au moins 12 caractères) dans .streamlit/secrets.toml (application et ligne de "
    f"commande) ou définissez la variable d'environnement {ENV_SECRET} du serveur (application "
    "seulement), puis relancez. En ligne de commande, cette variable porte le secret que vous donnez."
)


# --------------------------------------------------------------------------- admin secret


class WriteDisabled(PermissionError):
    """No administrator secret is configured: writing is disabled."""


class AuthError(PermissionError):
    """The administrator secret given is wrong."""


#: Shortest administrator secret accepted (a shorter or blank configured value disables writing).
MIN_SECRET_CHARS = 12
#: Environment variable naming another secrets file (default: ``.streamlit/secrets.toml``).
ENV_SECRETS_FILE = "OBSERVATOIRE_SECRETS_FILE"


def secrets_file() -> Path:
    """The project's secrets file (``.streamlit/secrets.toml``, or ``$OBSERVATOIRE_SECRETS_FILE``)."""
    from analysis.config import PROJECT_ROOT

    other = os.environ.get(ENV_SECRETS_FILE)
    return Path(other) if other else PROJECT_ROOT / ".streamlit" / "secrets.toml"


def _file_secret() -> str | None:
    import tomllib

    path = secrets_file()
    try:
        with open(path, "rb") as fh:
            value = tomllib.load(fh).get(ENV_SECRET)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WriteDisabled(f"Écriture désactivée : fichier de secrets illisible ({path.name} : {exc}).") from exc
    return None if value is None else str(value)


def configured_secret(secrets: Mapping[str, Any] | None = None, *, environment: bool = True) -> str | None:
    """The administrator secret — the one source of truth, in this order:

    1. ``secrets[ENV_SECRET]``: the Streamlit secrets given by the app (``.streamlit/secrets.toml``);
    2. the key ``OBSERVATOIRE_ADMIN_SECRET`` of the secrets file :func:`secrets_file`, read here;
    3. only when ``environment`` (the app, whose environment is the operator's): the environment
       variable ``OBSERVATOIRE_ADMIN_SECRET``. The command line passes ``environment=False``:
       there, that variable is what the user *gives*, never what it is compared with.

    Returns None (writing disabled) when none is set.

    Raises
    ------
    WriteDisabled
        The configured value is blank or shorter than :data:`MIN_SECRET_CHARS`.
    """
    value = None
    if secrets is not None:
        with contextlib.suppress(Exception):
            value = secrets.get(ENV_SECRET)
    if value is None:
        value = _file_secret()
    if value is None and environment:
        value = os.environ.get(ENV_SECRET)
    if value is None:
        return None
    value = str(value)
    if len(value.strip()) < MIN_SECRET_CHARS:
        raise WriteDisabled(
            f"Écriture désactivée : le secret administrateur configuré est vide ou trop court "
            f"(au moins {MIN_SECRET_CHARS} caractères)."
        )
    return value


class AdminGate:
    """Check the administrator secret in constant time, slowing and locking out per client.

    Failures are counted per key: the client (its IP address in the app, see
    ``ui.core.client_key``; ``"process"`` for the command line). After ``n`` consecutive
    failures, that client's next attempt first waits ``min(base_delay * 2 ** (n - 1),
    max_delay)`` seconds; after ``lockout_after`` failures it is refused outright for
    ``lockout_seconds``. Other clients — the administrator — are never slowed by someone
    else's attempts. At most ``max_clients`` keys are remembered (the oldest are forgotten).

    Parameters
    ----------
    base_delay, max_delay, lockout_seconds : float
        Seconds.
    lockout_after : int
        Failures before the lock-out.
    sleep, clock : callable
        ``time.sleep`` and ``time.monotonic`` (replaceable in tests).
    """

    def __init__(
        self,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        lockout_after: int = 10,
        lockout_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ):
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def delay_for(self, key: str = "process") -> float:
        """Seconds the next attempt for ``key`` will wait."""
        n = self._failures.get(key, 0)
        return 0.0 if n == 0 else min(self.base_delay * 2 ** (n - 1), self.max_delay)

    def locked_for(self, key: str = "process") -> float:
        """Seconds left in ``key``'s lock-out (0 when not locked out)."""
        until = self._locked_until.get(key)
        return max(0.0, until - self.clock()) if until is not None else 0.0

    def check(
        self,
        provided: str | None,
        secrets: Mapping[str, Any] | None = None,
        key: str = "process",
        *,
        environment: bool = True,
    ) -> None:
        """Raise unless ``provided`` is the configured secret (:func:`configured_secret`).

        Raises
        ------
        WriteDisabled
            No secret configured (or a blank / too short one).
        AuthError
            Wrong or missing secret (counted for ``key``), or ``key`` locked out.
        """
        expected = configured_secret(secrets, environment=environment)
        if expected is None:
            raise WriteDisabled(HOW_TO_ENABLE)
        left = self.locked_for(key)
        if left:
            raise AuthError(
                f"Trop de tentatives incorrectes depuis ce poste : import refusé pendant encore {left / 60:.0f} min."
            )
        wait = self.delay_for(key)
        if wait:
            self.sleep(wait)
        given = provided if isinstance(provided, str) else ""
        ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")) and bool(given)
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)
                return
            n = self._failures.pop(key, 0) + 1
            self._failures[key] = n  # re-inserted: the dict keeps the most recent keys last
            while len(self._failures) > self.max_clients:
                self._failures.pop(next(iter(self._failures)))
            if n >= self.lockout_after:
                self._locked_until[key] = self.clock() + self.lockout_seconds
                raise AuthError(
                    f"Secret administrateur incorrect : {n} échecs, imports refusés depuis ce poste "
                    f"pendant {self.lockout_seconds / 60:.0f} min."
                )
            raise AuthError(
                "Secret administrateur incorrect : import refusé "
                f"(prochaine tentative ralentie de {self.delay_for(key):.0f} s)."
            )


#: The process-wide gate used by :func:`import_file` unless another is given.
GATE = AdminGate()

"""Who may write: the administrator secret and the throttled gate.

Owns :class:`WriteDisabled` / :class:`AuthError`, the secret lookup (:func:`configured_secret`:
environment variable or secrets file, at least :data:`MIN_SECRET_CHARS` characters) and
:class:`AdminGate` (constant-time comparison, per-client and global exponential slow-down after
failures, clients told apart by :func:`client_key`),
with the process-wide :data:`GATE`.
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analysis import settings

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

    other = settings.current().secrets_file
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
        value = settings.current().admin_secret
    if value is None:
        return None
    value = str(value)
    if len(value.strip()) < MIN_SECRET_CHARS:
        raise WriteDisabled(
            f"Écriture désactivée : le secret administrateur configuré est vide ou trop court "
            f"(au moins {MIN_SECRET_CHARS} caractères)."
        )
    return value


#: Environment variable: how many reverse proxies stand in front of the app (default 0). Only
#: then is ``X-Forwarded-For`` read, and only its entry written by the first trusted proxy.
ENV_TRUSTED_PROXIES = "OBSERVATOIRE_TRUSTED_PROXIES"


def trusted_proxies(environ: Mapping[str, str] | None = None) -> int:
    """The number of trusted reverse proxies (``$OBSERVATOIRE_TRUSTED_PROXIES``, default 0).

    Raises
    ------
    WriteDisabled
        The variable is set to something else than a whole number from 0 to 5.
    """
    raw = (settings.Settings.from_env(environ).trusted_proxies or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 5:
        raise WriteDisabled(
            f"Écriture désactivée : {ENV_TRUSTED_PROXIES} vaut « {raw} » ; attendu le nombre de "
            "mandataires inverses (reverse proxies) devant l'application, de 0 à 5."
        )
    return int(raw)


def client_key(remote_ip: str | None, forwarded_for: str | None = None, proxies: int = 0) -> str:
    """Who is asking, for the per-client count of :class:`AdminGate`.

    - ``proxies`` = 0 (the app serves browsers directly): the connection's address;
      ``remote_ip`` None (Streamlit gives no address for a loopback connection: a browser on the
      server itself, or a reverse proxy on the same host) is one client, ``"ip:local"``, never
      a new one per browser session (before: every session behind a local proxy started afresh);
    - ``proxies`` = n > 0: the n-th address from the right of ``X-Forwarded-For`` (the one the
      first trusted proxy saw; what the client wrote to the left of it is ignored, it can be
      forged), ``"ip:proxy-sans-adresse"`` when the header has fewer entries.

    Examples
    --------
    >>> client_key(None)
    'ip:local'
    >>> client_key(None, "6.6.6.6, 203.0.113.9", proxies=1)
    'ip:203.0.113.9'
    """
    if proxies <= 0:
        return f"ip:{remote_ip}" if remote_ip else "ip:local"
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    return f"ip:{hops[-proxies]}" if len(hops) >= proxies else "ip:proxy-sans-adresse"


class AdminGate:
    """Check the administrator secret in constant time, slowing and locking out.

    Two budgets (see ``docs/security.md``):

    - **per client** (``key``: its address, :func:`client_key`; ``"process"`` for the command
      line): after ``n`` consecutive failures, that client's next attempt first waits
      ``min(base_delay * 2 ** (n - 1), max_delay)`` seconds; after ``lockout_after`` failures it
      is refused outright for ``lockout_seconds``. Attempts of one client are made one at a time
      (a second tab, or parallel requests, queue behind the first and wait in turn);
    - **global**: once ``global_after`` failures from all clients together fall within the last
      ``global_window`` seconds, every attempt (any client) waits
      ``min(base_delay * 2 ** (g - global_after), max_delay)`` seconds for ``g`` such failures,
      one attempt at a time: guessing from many addresses gets no faster than from one. The
      administrator can then be slowed too (at most ``max_delay`` per attempt, plus the queue);
      the command line, another process, is not.

    An attempt that would queue longer than ``max_queue`` seconds is refused at once. At most
    ``max_clients`` keys are remembered (the oldest are forgotten).

    Parameters
    ----------
    base_delay, max_delay, lockout_seconds, global_window, max_queue : float
        Seconds.
    lockout_after, global_after : int
        Failures before the lock-out of a client, before the global slow-down.
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
        global_after: int = 20,
        global_window: float = 3600.0,
        max_queue: float = 120.0,
    ):
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self.max_clients = max_clients
        self.global_after = global_after
        self.global_window = global_window
        self.max_queue = max_queue
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._recent: collections.deque[float] = collections.deque()  # times of recent failures
        self._lock = threading.Lock()
        self._turns: dict[str, threading.Lock] = {}  # one attempt at a time per client
        self._global_turn = threading.Lock()  # one attempt at a time while under the global slow-down

    def delay_for(self, key: str = "process") -> float:
        """Seconds the next attempt for ``key`` will wait (its own failures and the global ones)."""
        n = self._failures.get(key, 0)
        own = 0.0 if n == 0 else min(self.base_delay * 2 ** (n - 1), self.max_delay)
        return max(own, self.global_delay())

    def global_failures(self) -> int:
        """Failures from all clients within the last ``global_window`` seconds."""
        with self._lock:
            horizon = self.clock() - self.global_window
            while self._recent and self._recent[0] <= horizon:
                self._recent.popleft()
            return len(self._recent)

    def global_delay(self) -> float:
        """Seconds every attempt waits because of the failures of all clients together."""
        g = self.global_failures()
        return 0.0 if g < self.global_after else min(self.base_delay * 2 ** (g - self.global_after), self.max_delay)

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
            Wrong or missing secret (counted for ``key`` and globally), ``key`` locked out, or
            too many attempts queued.
        """
        expected = configured_secret(secrets, environment=environment)
        if expected is None:
            raise WriteDisabled(HOW_TO_ENABLE)
        with self._lock:
            turn = self._turns.setdefault(key, threading.Lock())
        with self._turn(turn), self._turn(self._global_turn if self.global_delay() else None):
            left = self.locked_for(key)
            if left:
                raise AuthError(
                    f"Trop de tentatives incorrectes depuis ce poste : import refusé pendant encore "
                    f"{max(left / 60, 1):.0f} min."
                )
            wait = self.delay_for(key)
            if wait:
                self.sleep(wait)
            given = provided if isinstance(provided, str) else ""
            ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")) and bool(given)
            self._record(key, ok)

    @contextlib.contextmanager
    def _turn(self, lock: threading.Lock | None):
        """Hold ``lock`` (wait at most ``max_queue`` seconds for it); nothing when None."""
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=self.max_queue):
            raise AuthError("Trop de tentatives en cours : import refusé, réessayez dans quelques minutes.")
        try:
            yield
        finally:
            lock.release()

    def _record(self, key: str, ok: bool) -> None:
        """Count the outcome of an attempt; raise :class:`AuthError` on a failure."""
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)
                return
            self._recent.append(self.clock())
            n = self._failures.pop(key, 0) + 1
            self._failures[key] = n  # re-inserted: the dict keeps the most recent keys last
            while len(self._failures) > self.max_clients:
                old = next(iter(self._failures))
                self._failures.pop(old)
                self._turns.pop(old, None)
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

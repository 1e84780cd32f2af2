"""JavaScript bundles fetched at install time instead of being tracked by git.

The basic plotly.js bundle (1.1 MiB, drawn by :func:`ui.charts.plotly_chart`) is too large to
track (no tracked file over 1 MiB). ``make install`` runs ``python -m ui.vendor``, which downloads
the npm package tarball with the standard library (no node needed), checks the extracted file
against the SHA-256 pinned here and writes it atomically at :data:`PLOTLY_FILE` (ignored by git;
its ``LICENSE`` stays tracked beside it). A file already there with the pinned digest is kept
without any download. A digest that does not match stops with an error naming the URL and both
digests, and nothing is written.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bundle:
    """One file taken from an npm package tarball.

    Attributes
    ----------
    package, version : str
        npm package name and exact version.
    member : str
        Path of the file inside the tarball.
    path : str
        Destination, relative to the repository root (also its URL path under ``/app/``).
    sha256 : str
        Pinned SHA-256 of the file itself (hex).
    """

    package: str
    version: str
    member: str
    path: str
    sha256: str

    @property
    def url(self) -> str:
        """The tarball's address on the npm registry."""
        return f"https://registry.npmjs.org/{self.package}/-/{self.package}-{self.version}.tgz"

    @property
    def file(self) -> Path:
        """Absolute destination path in this checkout."""
        return ROOT / self.path


#: plotly.js "basic" bundle (bar, scatter, pie), MIT licence (static/vendor/plotly/LICENSE).
PLOTLY = Bundle(
    package="plotly.js-basic-dist-min",
    version="4.1.1",
    member="package/plotly-basic.min.js",
    path="static/vendor/plotly/plotly-basic.min.js",
    sha256="99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba",
)
BUNDLES = (PLOTLY,)


class VendorError(RuntimeError):
    """A bundle could not be fetched, or its content does not match the pinned digest."""


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def is_current(bundle: Bundle, dest: Path | None = None) -> bool:
    """Whether ``dest`` (default: the bundle's path) exists with the pinned digest."""
    dest = dest or bundle.file
    return dest.is_file() and sha256_of(dest.read_bytes()) == bundle.sha256


def extract_member(tarball: bytes, member: str) -> bytes:
    """The content of ``member`` in the gzipped tarball ``tarball``.

    Raises
    ------
    VendorError
        When the archive is unreadable or has no such regular file.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
            info = tar.getmember(member)
            fh = tar.extractfile(info) if info.isfile() else None
            if fh is None:
                raise VendorError(f"{member} n'est pas un fichier dans l'archive")
            return fh.read()
    except KeyError as exc:
        raise VendorError(f"{member} absent de l'archive") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise VendorError(f"archive illisible : {exc}") from exc


def _download(url: str, timeout: float = 60.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - fixed https URL
        return resp.read()


def fetch(
    bundle: Bundle,
    dest: Path | None = None,
    download: Callable[[str], bytes] = _download,
) -> bool:
    """Make ``dest`` (default: the bundle's path) hold the pinned file.

    Parameters
    ----------
    bundle : Bundle
        What to fetch and its pinned digest.
    dest : Path, optional
        Where to write it.
    download : callable
        ``url -> bytes`` (tests pass a local one).

    Returns
    -------
    bool
        ``True`` when the file was downloaded, ``False`` when it was already current.

    Raises
    ------
    VendorError
        Download failure, unreadable archive, or a digest other than the pinned one (the file
        is then left as it was).
    """
    dest = dest or bundle.file
    if is_current(bundle, dest):
        return False
    try:
        tarball = download(bundle.url)
    except OSError as exc:  # urllib's URLError is an OSError
        raise VendorError(f"téléchargement impossible de {bundle.url} : {exc}") from exc
    data = extract_member(tarball, bundle.member)
    got = sha256_of(data)
    if got != bundle.sha256:
        raise VendorError(
            f"{bundle.member} de {bundle.url} : SHA-256 {got}, attendu {bundle.sha256} "
            "(fichier altéré ou version différente) ; rien n'a été écrit"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    """Fetch every bundle that is missing or stale; exit code 1 with a message on failure."""
    ap = argparse.ArgumentParser(prog="python -m ui.vendor", description=__doc__.splitlines()[0])
    ap.parse_args(argv)
    for bundle in BUNDLES:
        try:
            done = fetch(bundle)
        except VendorError as exc:
            print(f"Erreur : {bundle.path} : {exc}", file=sys.stderr)
            return 1
        state = "téléchargé" if done else "déjà présent"
        print(f"{bundle.path} : {bundle.package} {bundle.version} {state} (SHA-256 vérifié)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

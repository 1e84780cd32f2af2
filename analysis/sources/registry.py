"""Registry of the source datasets: where each file lives, who publishes it, licence, vintage.

The registry is the CSV file ``data/sources.csv`` (kept in the repository). Each row names a
dataset, the folder and file-name pattern(s) where it is found inside a *source directory*
(the offline mirror ``../shared/data`` or a folder filled by :func:`fetch`), and the official
download address for users with internet access.

Command line::

    python -m analysis.sources list              # the registry
    python -m analysis.sources check [--source DIR]
    python -m analysis.sources fetch --dest DIR [--only DATASET ...]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fnmatch
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis.config import DATA_DIR, PROJECT_ROOT, default_source_dir
from analysis.errors import DataError

REGISTRY_PATH = DATA_DIR / "sources.csv"


@dataclass(frozen=True)
class Dataset:
    """One source dataset of the registry."""

    dataset: str
    folder: str
    pattern: str
    required: bool
    publisher: str
    licence: str
    vintage: str
    url: str
    fetch: str
    description: str

    def patterns(self) -> list[str]:
        """The accepted file-name patterns (``|``-separated in the registry)."""
        return [p.strip() for p in self.pattern.split("|") if p.strip()]


def registry() -> dict[str, Dataset]:
    """Read ``data/sources.csv``.

    Returns
    -------
    dict
        Dataset id -> :class:`Dataset`.
    """
    with open(REGISTRY_PATH, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Dataset] = {}
    for r in rows:
        r = dict(r)
        r["required"] = r["required"].strip().lower() == "yes"
        out[r["dataset"]] = Dataset(**r)
    return out


def locate(dataset_id: str, source_dir: str | Path | None) -> tuple[Path | None, str | None]:
    """Find the file of a dataset and say whether it can be read, without raising.

    Returns
    -------
    (path, problem)
        ``path``: the last file (in name order) matching the first pattern that matches
        anything, or None. ``problem``: None, or why the file or its folder cannot be read
        (French, naming it): a folder without read or search permission — or under a parent
        without search permission — or a file that cannot be opened.
    """
    ds = registry()[dataset_id]
    base = PROJECT_ROOT if ds.fetch == "bundled" else (Path(source_dir) if source_dir else None)
    if base is None:
        return None, None
    folder = base / ds.folder
    try:  # is_dir() raises, rather than answer False, under a parent without search permission
        is_dir = folder.is_dir()
    except OSError as exc:
        return None, f"{folder} : dossier inaccessible ({_why(exc)}, sur lui ou un dossier parent)"
    if is_dir and not os.access(folder, os.R_OK | os.X_OK):
        return None, f"{folder} : dossier illisible (droits insuffisants)"
    for pat in ds.patterns():
        hits = sorted(folder.glob(pat))
        if hits:
            return hits[-1], unreadable(hits[-1])
    return None, None


def _why(exc: OSError) -> str:
    return "droits insuffisants" if isinstance(exc, PermissionError) else str(exc.strerror or exc)


def network_title(network_source: str | None) -> str:
    """The dataset behind a travel-time network id, for readers: « gtfs:ter » -> « Horaires des
    trains et cars TER (GTFS) — SNCF (horaires TER), valide du 2025-01-22 au 2025-04-22 »;
    « travelmapping:travelmapping_normandie.gpkg » -> the road skeleton's title, publisher and
    vintage. The id itself when no registry dataset matches (a network given with ``--network``).

    Examples
    --------
    >>> network_title("gtfs:ter").startswith("Horaires des trains et cars TER (GTFS) — SNCF")
    True
    """
    raw = str(network_source or "").strip()
    kind, _, name = raw.partition(":")
    name = Path(name or kind).name
    reg = registry()
    ds = reg.get(f"gtfs_{name}") if kind == "gtfs" else None
    if ds is None:
        ds = next((d for d in reg.values() if any(fnmatch.fnmatch(name, p) for p in d.patterns())), None)
    if ds is None or not raw:
        return raw
    return f"{ds.description} — {ds.publisher}, {ds.vintage}"


def resolve(dataset_id: str, source_dir: str | Path | None) -> Path | None:
    """Find the readable file of a dataset in a source directory.

    Parameters
    ----------
    dataset_id : str
        A dataset of the registry.
    source_dir : path-like
        The source directory. Bundled datasets (``fetch == 'bundled'``) are looked up in the
        project's ``data/`` folder instead.

    Returns
    -------
    pathlib.Path or None
        The file found by :func:`locate`, or None when none exists — or, for an optional
        dataset, when it cannot be read (the build goes on without it, as the pre-check
        :func:`preflight` says, rather than fail on it later).

    Raises
    ------
    DataError
        If the dataset is required and no file is found, or its file or folder cannot be read.
    """
    ds = registry()[dataset_id]
    path, problem = locate(dataset_id, source_dir)
    if problem is not None:
        if ds.required:
            raise DataError(str(path or source_dir), f"« {ds.dataset} » : {problem}")
        return None
    if path is None and ds.required:
        base = PROJECT_ROOT if ds.fetch == "bundled" else (Path(source_dir) if source_dir else None)
        where = base / ds.folder if base is not None else ds.folder
        raise DataError(
            str(where),
            f"fichier requis introuvable pour « {ds.dataset} » (attendu : {ds.pattern}). Source officielle : {ds.url}",
        )
    return path


@dataclass
class Preflight:
    """What a source directory lacks before a build.

    Attributes
    ----------
    problems : list of str
        Required datasets missing or unreadable (French messages naming the file or folder):
        the build refuses to start.
    optional_missing : list of str
        Optional datasets absent or unreadable (ids): the build goes on without them and says so.
    optional_unreadable : list of str
        Of those, the unreadable ones (French messages naming the file or folder).
    """

    problems: list[str]
    optional_missing: list[str]
    optional_unreadable: list[str] = field(default_factory=list)


def unreadable(path: Path) -> str | None:
    """Why ``path`` (a file or a folder) cannot be read, or None."""
    try:
        if path.is_dir():
            next(iter(os.scandir(path)), None)
        else:
            with open(path, "rb") as fh:
                fh.read(1)
    except OSError as exc:
        return f"{path} : illisible ({_why(exc)})"
    return None


def preflight(source_dir: str | Path | None) -> Preflight:
    """Check every dataset of the registry in ``source_dir`` before a build.

    A required dataset whose file is missing, whose folder or file is unreadable, is a problem;
    an optional one in the same state is listed in ``optional_missing`` (and, when unreadable,
    in ``optional_unreadable`` with the reason).
    """
    out = Preflight([], [], [])
    for ds in registry().values():
        p, why = locate(ds.dataset, source_dir)
        if ds.required and (why or p is None):
            try:
                resolve(ds.dataset, source_dir)
            except DataError as exc:
                out.problems.append(str(exc))
        elif not ds.required and (why or p is None):
            out.optional_missing.append(ds.dataset)
            if why:
                out.optional_unreadable.append(f"« {ds.dataset} » : {why}")
    return out


def missing_from_build_info(info: dict[str, str]) -> list[str]:
    """Optional datasets the build went without, from the ``build_info`` key/value pairs."""
    import json

    value = (info or {}).get("optional_missing")
    return json.loads(value) if value else []


def optional_missing(con) -> list[str]:
    """Optional datasets the last build went without (``build_info``), for the Données page."""
    try:
        rows = con.execute("SELECT key, value FROM build_info").fetchall()
    except duckdb.Error:  # older database without the table
        return []
    return missing_from_build_info(dict(rows))


def sha256_of(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


PROVENANCE_DDL = """
CREATE TABLE IF NOT EXISTS provenance (
    dataset   VARCHAR NOT NULL,
    path      VARCHAR NOT NULL,
    publisher VARCHAR,
    licence   VARCHAR,
    vintage   VARCHAR,
    rows      BIGINT,
    sha256    VARCHAR,
    loaded_at TIMESTAMP,
    description VARCHAR,
    url       VARCHAR
)
"""


def record_provenance(
    con: duckdb.DuckDBPyConnection,
    dataset_id: str,
    path: str | Path,
    rows: int,
    source_dir: str | Path | None = None,
    vintage: str | None = None,
) -> None:
    """Insert one row in ``provenance`` for a loaded file.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    dataset_id : str
        Registry id; publisher, licence, vintage and URL come from the registry.
    path : path-like
        The file that was read (stored relative to the source directory when inside it).
    rows : int
        Rows read from the file.
    vintage : str, optional
        Overrides the registry vintage (e.g. read from the file itself).
    """
    con.execute(PROVENANCE_DDL)
    ds = registry().get(dataset_id)
    p = Path(path)
    shown = str(p)
    for base in (source_dir, PROJECT_ROOT):
        if base is None:
            continue
        try:
            shown = str(p.resolve().relative_to(Path(base).resolve()))
            break
        except ValueError:
            continue
    con.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            dataset_id,
            shown,
            ds.publisher if ds else None,
            ds.licence if ds else None,
            vintage or (ds.vintage if ds else None),
            int(rows),
            sha256_of(p) if p.is_file() else None,
            dt.datetime.now().replace(microsecond=0),
            ds.description if ds else None,
            ds.url if ds else None,
        ],
    )


def fetch(dest: str | Path, only: list[str] | None = None, timeout: float = 120) -> list[str]:
    """Download the datasets that have a direct official address into a source directory.

    Parameters
    ----------
    dest : path-like
        Target source directory (created); files land in the registry's folder layout so that
        ``python -m analysis.build --source DEST`` finds them.
    only : list of str, optional
        Restrict to these dataset ids.

    Returns
    -------
    list of str
        One line per dataset: what was done.
    """
    dest = Path(dest)
    report = []
    for ds in registry().values():
        if only and ds.dataset not in only:
            continue
        if ds.fetch in ("manual", "bundled"):
            report.append(f"{ds.dataset}: à récupérer manuellement ({ds.url}) dans {ds.folder}/")
            continue
        kind, _, arg = ds.fetch.partition(":")
        target_dir = dest / ds.folder
        target_dir.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(ds.url, timeout=timeout) as resp:  # noqa: S310 - official URLs
            payload = resp.read()
        if kind == "file":
            target = target_dir / arg
            target.write_bytes(payload)
        elif kind == "tgz":
            with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
                member = tar.extractfile(arg)
                if member is None:
                    raise DataError(ds.url, f"membre {arg} absent de l'archive")
                target = target_dir / Path(arg).name
                target.write_bytes(member.read())
        else:
            raise ValueError(f"type de téléchargement inconnu : {ds.fetch}")
        report.append(f"{ds.dataset}: {target} ({len(payload):,} octets)")
    return report


def _check(src: Path | None) -> int:
    """``sources check``: one line per dataset; 1 when a required file is missing or any file
    (optional or not) cannot be read."""
    ok = True
    for ds in registry().values():
        p, why = locate(ds.dataset, src)
        if why:
            ok = False
            extra = "" if ds.required else " — facultatif : la construction se fera sans lui"
            print(f"ERR {ds.dataset:22} {why}{extra}")
        elif p is None and ds.required:
            ok = False
            print(f"ERR {ds.dataset:22} fichier requis introuvable (attendu : {ds.pattern}) dans {src}")
        else:
            print(f"{'OK ' if p else '-- '} {ds.dataset:22} {p or '(facultatif, absent)'}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.sources", description="Sources de données")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="liste des jeux de données et de leurs sources officielles")
    chk = sub.add_parser("check", help="vérifie qu'un répertoire source contient les fichiers requis")
    chk.add_argument("--source", default=None)
    fet = sub.add_parser("fetch", help="télécharge les sources officielles (accès internet requis)")
    fet.add_argument("--dest", required=True)
    fet.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for ds in registry().values():
            print(f"{ds.dataset:22} {ds.vintage:30} {ds.url}")
        return 0
    if args.cmd == "check":
        return _check(Path(args.source) if args.source else default_source_dir())
    for line in fetch(args.dest, args.only):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

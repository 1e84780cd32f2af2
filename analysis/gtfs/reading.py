"""Reading a GTFS zip or folder as text: :func:`read_feed`.

Owns the decoding of each ``*.txt`` file (UTF-8 with or without BOM, else Latin-1) into a frame
of strings, and the walk through a folder or a zip (files possibly in one sub-folder). The read
feed is then validated by :func:`analysis.gtfs.validation.validate_feed`.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from analysis.gtfs.feed import OPTIONAL_FILES, REQUIRED_FILES, Feed, GTFSError
from analysis.gtfs.validation import validate_feed


def _read_text_table(raw: bytes, where: str) -> pd.DataFrame:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise GTFSError(where, "fichier vide (une ligne d'en-tête au moins est attendue)")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise GTFSError(where, f"CSV illisible ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_feed(path: str | Path) -> Feed:
    """Read a GTFS feed (zip file or folder) and validate its structure and values.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.zip`` file or a folder holding the ``*.txt`` files (also accepted: a zip whose
        files sit in one sub-folder).

    Returns
    -------
    Feed

    Raises
    ------
    GTFSError
        Missing path or required file (stops, routes, trips, and calendar and/or
        calendar_dates), missing required column, bad time / date / coordinate / integer,
        ``stop_times`` referring to an unknown stop or trip, ``trips`` referring to an unknown
        route. The message names file, row and field.

    Notes
    -----
    A feed without ``stop_times.txt`` is accepted with a :class:`GTFSWarning` (stops still
    usable); routing on it raises :class:`GTFSError` later.
    """
    path = Path(path)
    if not path.exists():
        raise GTFSError(str(path), "flux GTFS introuvable (fichier .zip ou dossier attendu)")
    feed = Feed(path=path)
    wanted = set(REQUIRED_FILES) | set(OPTIONAL_FILES)
    if path.is_dir():
        for name in wanted:
            p = path / name
            if p.is_file():
                feed.tables[name] = _read_text_table(p.read_bytes(), feed.where(name))
    else:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise GTFSError(str(path), f"archive zip illisible ou tronquée ({exc})") from exc
        with zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if name in wanted and not info.is_dir() and name not in feed.tables:
                    try:
                        raw = zf.read(info)
                    except (zipfile.BadZipFile, OSError, EOFError) as exc:
                        raise GTFSError(feed.where(name), f"entrée zip illisible ({exc})") from exc
                    feed.tables[name] = _read_text_table(raw, feed.where(name))
    validate_feed(feed)
    return feed

"""Checked readers for the source files: every problem names the file, row and field."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.errors import DataError
from analysis.text import plural

_LINE_RE = re.compile(r"line (\d+)")


#: Separators recognised in delimited text, by preference on a tie.
SEPARATORS: tuple[str, ...] = (";", ",", "\t")


def sniff_separator(header_line: str) -> str:
    """The separator of a delimited file from its header line: the most frequent of ``;``,
    ``,`` and tab (``;`` on a tie or when none appears: French spreadsheets' CSV).

    Examples
    --------
    >>> sniff_separator("a,b;c,d")
    ','
    >>> sniff_separator("nom")
    ';'
    """
    counts = {s: header_line.count(s) for s in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else SEPARATORS[0]


def read_csv(
    path: str | Path,
    required: Iterable[str],
    sep: str | None = None,
    encoding: str = "utf-8-sig",
) -> pd.DataFrame:
    """Read a delimited text file as strings, checking that it is complete and well formed.

    Parameters
    ----------
    path : path-like
    required : iterable of str
        Columns that must be present.
    sep : str, optional
        Separator; sniffed among ``;``, ``,`` and tab when None.
    encoding : str
        Text encoding (a UTF-8 BOM is accepted by the default).

    Returns
    -------
    pandas.DataFrame
        All columns as strings, empty cells as "".

    Raises
    ------
    DataError
        Missing or empty file, undecodable text, wrong number of fields on a row (truncated or
        malformed file, with the row number), missing required column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), "fichier introuvable")
    if path.stat().st_size == 0:
        raise DataError(str(path), "fichier vide")
    try:
        with open(path, encoding=encoding, newline="") as fh:
            head = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"encodage illisible (attendu {encoding}) : {exc}") from exc
    if sep is None:
        sep = sniff_separator(head)
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding, engine="c")
    except pd.errors.ParserError as exc:
        m = _LINE_RE.search(str(exc))
        row = int(m.group(1)) - 1 if m else None
        raise DataError(str(path), f"ligne mal formée ({exc})", row=row) from exc
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"encodage illisible (attendu {encoding}) : {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(str(path), "fichier vide ou sans en-tête") from exc
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            str(path),
            f"{plural(len(missing), 'colonne manquante')} : {', '.join(missing)} (colonnes trouvées : {', '.join(df.columns)})",
            field=missing[0],
        )
    _check_truncated_last_row(path, df, sep, encoding)
    return df


def _check_truncated_last_row(path: Path, df: pd.DataFrame, sep: str, encoding: str) -> None:
    """A file cut in the middle of its last line shows as a last row with missing fields."""
    if df.empty:
        return
    with open(path, encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=sep))
    rows = [r for r in rows if r]
    if len(rows) >= 2 and len(rows[-1]) < len(rows[0]):
        raise DataError(
            str(path),
            f"dernière ligne incomplète ({len(rows[-1])} champs au lieu de {len(rows[0])}) : fichier tronqué ?",
            row=len(rows) - 1,
        )


def read_json_records(path: str | Path, required: Iterable[str]) -> list[dict]:
    """Read a JSON array of objects and check that each has the required keys.

    Raises
    ------
    DataError
        Missing file, invalid JSON (with the line), not a list, record without a required key
        (with its 1-based position as row).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), "fichier introuvable")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(str(path), f"JSON invalide ou tronqué ({exc.msg})", row=exc.lineno) from exc
    if not isinstance(data, list):
        raise DataError(str(path), "une liste d'objets JSON était attendue")
    req = list(required)
    for i, rec in enumerate(data, start=1):
        if not isinstance(rec, dict):
            raise DataError(str(path), "objet JSON attendu", row=i)
        for k in req:
            if k not in rec:
                raise DataError(str(path), "clé obligatoire absente", row=i, field=k)
    return data


def check_pattern(df: pd.DataFrame, path: str | Path, column: str, pattern: str, what: str) -> None:
    """Raise a DataError on the first row whose ``column`` does not fully match ``pattern``."""
    bad = ~df[column].astype(str).str.fullmatch(pattern)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            str(path), f"valeur « {df[column].iloc[i]} » invalide : {what} attendu", row=i + 1, field=column
        )


def to_float(df: pd.DataFrame, path: str | Path, column: str, allow_empty: bool = True) -> pd.Series:
    """Convert a column to float, raising a DataError naming the first bad row."""
    s = df[column].astype(str).str.strip().str.replace(",", ".", regex=False)
    out = pd.to_numeric(s.where(s != "", None), errors="coerce")
    bad = out.isna() & (s != "")
    if not allow_empty:
        bad |= s == ""
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(str(path), f"nombre attendu, trouvé « {df[column].iloc[i]} »", row=i + 1, field=column)
    return out


def first_dangling(con, table: str, id_column: str, column: str, ref_table: str, ref_column: str):
    """First row of ``table`` whose ``column`` has no match in ``ref_table.ref_column``.

    Returns
    -------
    tuple or None
        ``(id, value)`` of that row, or None when every value is found (foreign-key check).
    """
    return con.execute(
        f"SELECT {id_column}, {column} FROM {table} "
        f"WHERE {column} NOT IN (SELECT {ref_column} FROM {ref_table}) LIMIT 1"
    ).fetchone()

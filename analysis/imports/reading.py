"""Reading an uploaded file into raw records: encoding, separator, header, XLSX.

Owns :class:`RawTable`, :func:`decode` and :func:`read_table` (CSV in UTF-8 with or without BOM,
UTF-16 or Windows-1252, ``;``/``,``/tab separated, or XLSX; a preamble before the header is
skipped). The separator guess is :func:`analysis.sources.readers.sniff_separator`, shared with the build
(the build-time readers stay in :mod:`analysis.sources.readers`, used by the loaders of the mirror).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import analysis.imports.limits as limits
import analysis.imports.xlsx_scan as xlsx_scan
from analysis.errors import DataError
from analysis.imports.templates import header_key, known_headers
from analysis.sources.readers import sniff_separator
from analysis.text import count as count_of
from analysis.text import strip_accents

# --------------------------------------------------------------------------- reading files


@dataclass
class RawTable:
    """The records of an input file, as strings.

    Attributes
    ----------
    columns : list of str
        Header, stripped.
    rows : list of (row_number, list of str)
        Well-formed data records (as many fields as the header; empty extra fields dropped).
    bad : list of (row_number, reason, raw)
        Malformed records (wrong number of fields, unreadable line).
    encoding, sep : str
        What was detected (``sep`` is ``"xlsx"`` for spreadsheets).
    note : str or None
        A remark about the whole file (empty file...).
    """

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    bad: list[tuple[int, str, str]]
    encoding: str
    sep: str
    note: str | None = None

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.bad)


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes: UTF-16 with its BOM (Excel's « Texte Unicode »), UTF-8 (BOM or not),
    else Windows-1252, else Latin-1 (never fails)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return body.decode("latin-1"), "latin-1"


#: What to do about a text file whose encoding is not recognised.
_ENCODINGS_ACCEPTED = (
    "enregistrez-le en « CSV UTF-8 » (ou Windows-1252, ou « Texte Unicode » UTF-16 avec marque d'ordre)"
)


def check_encoding(data: bytes, name: str) -> None:
    """Refuse a text file in an encoding :func:`decode` would misread (« encodage non reconnu »).

    UTF-32 (with its byte-order mark) and UTF-16 or UTF-32 without one decode "successfully"
    as UTF-8 or UTF-16 into text full of NUL characters, and every row would be quarantined for
    them. Detected here: a UTF-32 byte-order mark, or, without a UTF-16 one, a quarter or more
    NUL bytes in the first 4 KB (text never has that many; a stray NUL in a field is only that
    row's problem).
    """
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise DataError(name, f"encodage non reconnu (UTF-32) : {_ENCODINGS_ACCEPTED}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return
    head = data[:4096]
    if head and head.count(0) * 4 >= len(head):
        raise DataError(
            name,
            f"encodage non reconnu ({head.count(0)} octets nuls sur les {len(head)} premiers : UTF-16 sans "
            f"marque d'ordre ou UTF-32 ?) : {_ENCODINGS_ACCEPTED}",
        )


def read_table(data: bytes, name: str = "fichier") -> RawTable:
    """Read CSV or XLSX bytes into a :class:`RawTable` without ever failing on a bad row.

    Raises
    ------
    DataError
        The file-level refusals (nothing is read, nothing written): a spreadsheet (``.xlsx``
        name, or a zip archive) that cannot be opened at all, or a file beyond the limits of
        :mod:`analysis.imports.limits` (size, rows, columns, decompressed size), most of them checked
        before parsing.
    """
    limits.check_size(data, name)
    if name.lower().endswith((".xlsx", ".xlsm")) or (
        data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))
    ):
        limits.check_xlsx(data, name)
        xlsx_scan.scan_xlsx(data, name)
        return _read_xlsx(data, name)
    limits.check_csv(data, name)
    check_encoding(data, name)
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return RawTable([], [], [], encoding, ";", note="fichier vide")
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    sep = sniff_separator(first)
    return _assemble(_csv_records(text, sep, name), encoding, sep)


#: Why the line holding an unclosed quote is quarantined (the lines it swallowed are read one by one).
UNCLOSED_QUOTE = (
    "guillemet « \" » ouvert et jamais refermé sur cette ligne : un champ ne peut pas s'étendre "
    "sur plusieurs lignes (les lignes suivantes sont lues une à une)"
)


def _csv_records(text: str, sep: str, name: str) -> list:
    """The non-blank records of CSV ``text``: lists of fields, or ``(reason, raw)`` for a bad line.

    A record may not span physical lines (a line break inside a field is refused anyway): when
    one does — a field opened by a quote that is never closed swallows the lines after it — the
    lines it covers are read again one by one, and the one with the unclosed quote is a bad line
    naming it, so that every physical line is counted.
    """
    csv.field_size_limit(limits.MAX_CSV_FIELD)
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=False)
    lines: list[str] | None = None  # the physical lines, split only if a record spans several
    records: list[list[str] | tuple[str, str]] = []
    done = 0  # physical lines consumed so far
    while True:
        error = None
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field longer than limits.MAX_CSV_FIELD
            error, rec = _csv_error(exc), None
        start, done = done, reader.line_num
        if done - start > 1:
            lines = text.split("\n") if lines is None else lines
            for one in _line_by_line(lines[start:done], sep):
                _append(records, one, name)
        elif error is not None:
            records.append((error, ""))
        elif rec and (len(rec) > 1 or any(f.strip() for f in rec)):  # else a blank line
            _append(records, rec, name)
    return records


def _line_by_line(lines: list[str], sep: str) -> list:
    """Records of physical ``lines`` read separately (an unclosed quote makes a bad line)."""
    out: list[list[str] | tuple[str, str]] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            out.append(next(csv.reader([line], delimiter=sep, strict=True)))
        except csv.Error as exc:
            out.append((_csv_error(exc), line[:1000]))
    return out


def _csv_error(exc: csv.Error) -> str:
    """The French reason for a line the CSV reader gave up on."""
    if "field larger" in str(exc):
        return f"ligne illisible : un champ dépasse {limits.MAX_CSV_FIELD:,} caractères".replace(",", "\u202f")
    if "unexpected end of data" in str(exc):
        return UNCLOSED_QUOTE
    return f"ligne illisible : {exc}"


def _append(records: list, rec, name: str) -> None:
    if isinstance(rec, list):
        _check_record(records, rec, name)
    records.append(rec)


def _check_record(records: list, rec: list, name: str) -> None:
    """Stop reading a file with too many rows or a row with too many cells (limits)."""
    if len(records) > limits.MAX_ROWS + MAX_PREAMBLE:
        raise DataError(name, f"trop de lignes : plus de {limits.MAX_ROWS} lignes de données")
    if len(rec) > limits.MAX_COLUMNS:
        raise DataError(name, f"trop de colonnes : {len(rec)} (maximum {limits.MAX_COLUMNS})", row=len(records))


#: How many records may precede the header (a title line above the table).
MAX_PREAMBLE = 10


def _header_score(rec) -> int:
    if not isinstance(rec, list):
        return 0
    known = known_headers()
    return sum(1 for c in rec if header_key(c) in known)


def _assemble(records: list, encoding: str, sep: str, pad: bool = False) -> RawTable:
    """Split non-blank records into header and data rows.

    The header is the first record, unless it has fewer than two known column names and one
    of the next :data:`MAX_PREAMBLE` records has two or more (a title line above the table):
    the records before it are then skipped and counted in the note. ``pad``: short records
    are completed with empty cells (spreadsheet rows lose their trailing empty cells).
    """
    h = 0
    if records and _header_score(records[0]) < 2:
        for i, rec in enumerate(records[1 : MAX_PREAMBLE + 1], start=1):
            if _header_score(rec) >= 2:
                h = i
                break
    notes = []
    if h:
        notes.append(f"{count_of(h, 'ligne ignorée', 'lignes ignorées')} avant l'en-tête")
    header = records[h] if records and isinstance(records[h], list) else []
    # an unnamed column is named by its position, so that every message can name its field
    columns = [c.strip() or f"colonne {i}" for i, c in enumerate(header, start=1)]
    rows: list[tuple[int, list[str]]] = []
    bad: list[tuple[int, str, str]] = []
    for n, rec in enumerate(records[h + 1 :], start=1):
        if isinstance(rec, tuple):
            bad.append((n, *rec))
        else:
            if pad and len(rec) < len(columns):
                rec = rec + [""] * (len(columns) - len(rec))
            _add_record(rec, columns, n, rows, bad)
    if not rows and not bad:
        notes.append("aucune ligne de données")
    return RawTable(columns, rows, bad, encoding, sep, note=" ; ".join(notes) or None)


def _add_record(rec: list[str], columns: list[str], n: int, rows: list, bad: list) -> None:
    k = len(columns)
    if len(rec) > k and not any(f.strip() for f in rec[k:]):
        rec = rec[:k]
    if len(rec) != k:
        what = "incomplète" if len(rec) < k else "trop longue"
        bad.append(
            (n, f"ligne {what} : {count_of(len(rec), 'champ')} au lieu de {k}", json.dumps(rec, ensure_ascii=False))
        )
    else:
        rows.append((n, rec))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(data: bytes, name: str) -> RawTable:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataError(name, f"classeur XLSX illisible : {exc}") from exc
    try:
        # the data sheet: the first one that is not the "notice" of the templates
        sheets = [ws for ws in wb.worksheets if strip_accents(ws.title).lower() not in {"notice", "lisez-moi", "aide"}]
        ws = (sheets or wb.worksheets)[0]
        ws.reset_dimensions()  # the declared dimensions may lie: read the cells that exist
        records = []
        # cells beyond the limit + 1 are not built (a lone cell in column XFD would pad every row)
        for values in ws.iter_rows(values_only=True, max_col=limits.MAX_COLUMNS + 1):
            rec = [_cell(v) for v in values]
            while rec and rec[-1] == "":
                rec.pop()
            if any(c.strip() for c in rec):
                _check_record(records, rec, name)
                records.append(rec)
    finally:
        wb.close()
    return _assemble(records, "xlsx", "xlsx", pad=True)

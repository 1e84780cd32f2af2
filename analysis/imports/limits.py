"""Hard limits on imported files, checked before anything is parsed.

An upload (page) or a file (command line) is refused with a French :class:`DataError` when:

- it is larger than :data:`MAX_UPLOAD_BYTES` (also Streamlit's ``server.maxUploadSize`` in
  ``.streamlit/config.toml``, so the browser refuses it first);
- a CSV has more lines than :data:`MAX_ROWS` data rows could take (counted on the bytes);
- an XLSX archive has too many members, declares more than :data:`MAX_XLSX_UNCOMPRESSED`
  bytes once decompressed (in total) or :data:`MAX_XLSX_MEMBER` for one member (the shared
  strings of a "one huge string" bomb, a sheet of millions of rows), or a compression ratio
  above :data:`MAX_XLSX_RATIO`. :mod:`zipfile` never inflates a member beyond its declared
  size, so these declared sizes bound what the reader can allocate. Its XML is then pre-scanned
  in a stream (:mod:`analysis.imports.xlsx_scan`: DTD, malformed XML, row numbers, cells per row,
  elements of ``styles.xml``) before the spreadsheet library sees it.

While reading, a file with more than :data:`MAX_ROWS` data rows or a row with more than
:data:`MAX_COLUMNS` cells is refused (streaming readers stop there), and a field longer than
:data:`analysis.sources.validation.MAX_FIELD_CHARS` is quarantined (the CSV reader refuses fields
longer than :data:`MAX_CSV_FIELD` outright, without building them).

The check of an anonymous simulation also runs in a separate process bounded in memory and
time (:mod:`analysis.imports.sandbox`). ``bench/imports.py`` measures the largest accepted file and a
refused bomb; ``docs/security.md`` states the promises.
"""

from __future__ import annotations

import io
import zipfile

from analysis.errors import DataError

#: Largest file accepted (bytes): 10 MB, ~30 times the 2025 platform export for Normandie.
MAX_UPLOAD_MB = 10
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
#: Most data rows in one file (the 2025 platform export for Normandie has 1,532).
MAX_ROWS = 50_000
#: Most cells in a row (the widest format, the offer template, has 16 columns).
MAX_COLUMNS = 60
#: Longest CSV field the reader will build (longer ones make the line unreadable).
MAX_CSV_FIELD = 100_000
#: XLSX archive: most members, decompressed bytes in total and per member, compression ratio.
MAX_XLSX_MEMBERS = 200
MAX_XLSX_UNCOMPRESSED = 120 * 1024 * 1024
MAX_XLSX_MEMBER = 80 * 1024 * 1024
MAX_XLSX_RATIO = 200
#: A bounded check (:mod:`analysis.imports.sandbox`): CPU seconds (``RLIMIT_CPU``, the work allowed),
#: wall seconds before it is killed (twice the CPU bound: a busy server shares its cores) and
#: bytes of memory (``RLIMIT_DATA``).
CHECK_SECONDS = 60
CHECK_WALL_SECONDS = 120
CHECK_MEMORY_BYTES = 1024 * 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".replace(".", ",") + " Mo"


def check_size(data: bytes, name: str) -> None:
    """Refuse a file larger than :data:`MAX_UPLOAD_BYTES`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(name, f"fichier trop volumineux : {_mb(len(data))} (maximum {MAX_UPLOAD_MB} Mo)")


def check_csv(data: bytes, name: str) -> None:
    """Refuse a CSV with more lines than :data:`MAX_ROWS` rows could take (before parsing).

    Counted on LF and lone CR bytes; UTF-16 text is counted on its code units.
    """
    lf = data.count(b"\n")
    lines = max(lf, data.count(b"\r"))
    allowed = MAX_ROWS + 1 + 10  # header and a short title above it
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        lines = max(data.count(b"\n\x00"), data.count(b"\x00\n"))
    if lines > allowed:
        raise DataError(name, f"trop de lignes : {lines} (maximum {MAX_ROWS} lignes de données)")


def check_xlsx(data: bytes, name: str) -> None:
    """Refuse an XLSX archive whose declared decompressed sizes exceed the limits (its XML is
    then pre-scanned by :func:`analysis.imports.xlsx_scan.scan_xlsx`)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError(name, f"classeur XLSX illisible : {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_XLSX_MEMBERS:
            raise DataError(
                name, f"classeur XLSX refusé : {len(infos)} éléments dans l'archive (maximum {MAX_XLSX_MEMBERS})"
            )
        total = sum(i.file_size for i in infos)
        biggest = max(infos, key=lambda i: i.file_size, default=None)
        if total > MAX_XLSX_UNCOMPRESSED:
            raise DataError(
                name, f"classeur XLSX refusé : {_mb(total)} une fois décompressé (maximum {_mb(MAX_XLSX_UNCOMPRESSED)})"
            )
        if biggest is not None and biggest.file_size > MAX_XLSX_MEMBER:
            raise DataError(
                name,
                f"classeur XLSX refusé : « {biggest.filename} » fait {_mb(biggest.file_size)} "
                f"une fois décompressé (maximum {_mb(MAX_XLSX_MEMBER)})",
            )
        packed = sum(i.compress_size for i in infos)
        if total > 1024 * 1024 and total > MAX_XLSX_RATIO * max(packed, 1):
            raise DataError(
                name,
                f"classeur XLSX refusé : taux de compression anormal "
                f"({total // max(packed, 1)} pour 1, maximum {MAX_XLSX_RATIO})",
            )

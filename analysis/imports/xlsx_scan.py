"""Streamed pre-scan of an XLSX archive's XML, before any spreadsheet library reads it.

:func:`analysis.imports.limits.check_xlsx` bounds what the archive declares (members, decompressed
sizes, compression ratio). Small archives within those sizes can still make a spreadsheet
reader loop or allocate without bound (issue 24, item 4): a row numbered 2,000,000,000 (the
reader yields every missing row before it), one row of 5 million cells (built in memory as one
list), a ``styles.xml`` of 11 million fonts (one object each), a DTD or an undefined entity
(an uncaught parser error). :func:`scan_xlsx` reads every XML member once, in chunks, with a
bare expat parser (no tree is built, memory stays constant) and refuses, in French and naming
the member, a file with:

- a document type declaration (DTD, entities) or malformed XML (line and column given);
- a row number above :func:`max_sheet_row` or a cell reference beyond it or beyond column XFD;
- more than :data:`MAX_ROW_CELLS` cells in a row, or more than :func:`max_cells` cells or
  shared strings in a sheet (or four times as many XML elements);
- more than :data:`MAX_ELEMENTS` elements in a member that is neither a sheet nor the shared
  strings (styles, workbook, relationships...).

The scan stops at the first excess, so its time is bounded by the limits, not by the file.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.parsers import expat

import analysis.imports.limits as limits
from analysis.errors import DataError

#: Widest a spreadsheet can be (column XFD); a row may hold that many cells, no more.
MAX_ROW_CELLS = 16_384
#: Most elements in any member other than a sheet or the shared strings (Excel caps a workbook
#: at 64,000 cell formats: about 200,000 elements in ``styles.xml``).
MAX_ELEMENTS = 300_000


def max_sheet_row() -> int:
    """Highest row number a sheet may use: the data rows allowed (:data:`analysis.imports.limits.MAX_ROWS`),
    the header and a short title above it (the rule of :func:`analysis.imports.limits.check_csv`, where
    blank lines count too)."""
    return limits.MAX_ROWS + 1 + 10


def max_cells() -> int:
    """Most cells in one sheet, and most shared strings: every allowed row full to
    :data:`analysis.imports.limits.MAX_COLUMNS`. A sheet may hold four times as many elements (a cell
    is up to four: c, v or is, t, f)."""
    return max_sheet_row() * limits.MAX_COLUMNS


#: Members read as XML by name; any other member that starts like XML is read too (images and
#: binary parts are not parsed here).
XML_SUFFIXES = (".xml", ".rels", ".vml")
_CHUNK = 1 << 16
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,10})")

_C = expat.errors.codes
_EXPAT_FR = {
    _C[expat.errors.XML_ERROR_UNDEFINED_ENTITY]: "entité non définie",
    _C[expat.errors.XML_ERROR_TAG_MISMATCH]: "balise fermante qui ne correspond pas à la balise ouverte",
    _C[expat.errors.XML_ERROR_SYNTAX]: "erreur de syntaxe",
    _C[expat.errors.XML_ERROR_INVALID_TOKEN]: "caractère ou balise invalide",
    _C[expat.errors.XML_ERROR_UNCLOSED_TOKEN]: "document tronqué",
    _C[expat.errors.XML_ERROR_NO_ELEMENTS]: "document vide ou tronqué",
    _C[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]: "contenu après l'élément racine",
    _C[expat.errors.XML_ERROR_DUPLICATE_ATTRIBUTE]: "attribut en double",
    _C[expat.errors.XML_ERROR_UNKNOWN_ENCODING]: "encodage inconnu",
    _C[expat.errors.XML_ERROR_INCORRECT_ENCODING]: "encodage incorrect",
    _C[expat.errors.XML_ERROR_PARTIAL_CHAR]: "caractère incomplet",
    _C[expat.errors.XML_ERROR_BAD_CHAR_REF]: "référence de caractère invalide",
}


class _Refused(Exception):
    """A limit of the scan was exceeded (message in French, without the member name)."""


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


class _MemberScan:
    """Handlers of one member's parse: counts elements, rows and cells, refuses excesses.

    Rows, cells and shared strings are checked in every member, whatever its root element: a
    reader looks for them by name, wherever they are.
    """

    def __init__(self) -> None:
        self.max_row = max_sheet_row()
        self.max_cells = max_cells()
        self.cap: int | None = None  # most elements, from the root (a sheet, the strings or other)
        self.elements = 0
        self.row = 0
        self.row_cells = 0
        self.cells = 0
        self.strings = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = tag.rsplit(":", 1)[-1]
        self.elements += 1
        if self.cap is None:
            self.cap = 4 * self.max_cells if local in ("worksheet", "sst") else MAX_ELEMENTS
        if self.elements > self.cap:
            raise _Refused(f"plus de {_fmt(self.cap)} éléments XML")
        if local == "row":
            self._row(attrs.get("r"))
        elif local == "c":
            self._cell(attrs.get("r"))
        elif local == "si":
            self.strings += 1
            if self.strings > self.max_cells:
                raise _Refused(f"plus de {_fmt(self.max_cells)} textes partagés")

    def _row(self, r: str | None) -> None:
        if r is None:
            self.row += 1
        elif not (r.isascii() and r.isdigit()) or len(r) > 10:
            raise _Refused(f"numéro de ligne invalide : « {r[:20]} »")
        else:
            self.row = int(r)
        if self.row > self.max_row:
            raise _Refused(
                f"trop de lignes : ligne numéro {_fmt(self.row)} (au plus {_fmt(self.max_row)} lignes, "
                f"dont {_fmt(limits.MAX_ROWS)} de données)"
            )
        self.row_cells = 0

    def _cell(self, ref: str | None) -> None:
        self.row_cells += 1
        self.cells += 1
        if self.row_cells > MAX_ROW_CELLS:
            raise _Refused(f"ligne {_fmt(self.row)} : plus de {_fmt(MAX_ROW_CELLS)} cellules")
        if self.cells > self.max_cells:
            raise _Refused(f"plus de {_fmt(self.max_cells)} cellules")
        if ref is not None:
            self._cell_ref(ref)

    def _cell_ref(self, ref: str) -> None:
        m = _CELL_REF.fullmatch(ref)
        if m is None:
            raise _Refused(f"référence de cellule invalide : « {ref[:20]} »")
        if _column_index(m.group(1)) > MAX_ROW_CELLS:
            raise _Refused(f"cellule {ref} au-delà de la colonne XFD")
        if int(m.group(2)) > self.max_row:
            raise _Refused(f"trop de lignes : cellule {ref} au-delà de la ligne {_fmt(self.max_row)}")


def _refuse_dtd(*_args) -> None:
    raise _Refused("déclaration de type de document (DTD, entités) interdite")


def _parser(scan: _MemberScan) -> expat.XMLParserType:
    p = expat.ParserCreate()
    p.StartElementHandler = scan.start
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.ExternalEntityRefHandler = _refuse_dtd
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = False
    return p


def _scan_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> None:
    scan = _MemberScan()
    parser = _parser(scan)
    member = info.filename
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except _Refused as exc:
        raise DataError(name, f"classeur XLSX refusé : « {member} » : {exc}") from None
    except expat.ExpatError as exc:
        detail = _EXPAT_FR.get(exc.code, "XML mal formé")
        raise DataError(
            name,
            f"classeur XLSX refusé : « {member} » n'est pas un XML valide "
            f"({detail}, ligne {exc.lineno}, colonne {exc.offset + 1})",
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise DataError(name, f"classeur XLSX illisible : « {member} » ne peut être décompressé ({exc})") from None


def scan_xlsx(data: bytes, name: str) -> None:
    """Refuse an XLSX archive whose XML could exhaust a reader (see the module docstring).

    Parameters
    ----------
    data : bytes
        The archive, already within the declared-size limits of :func:`analysis.imports.limits.check_xlsx`.
    name : str
        The file name used in messages.

    Raises
    ------
    DataError
        In French, naming the member and what exceeds which limit (or where the XML is malformed).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError(name, f"classeur XLSX illisible : {exc}") from exc
    with zf:
        for info in zf.infolist():
            if not info.is_dir() and (info.filename.lower().endswith(XML_SUFFIXES) or _looks_like_xml(zf, info)):
                _scan_member(zf, info, name)


def _looks_like_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Does a member not named as XML start like XML (a reader finds sheets by relationships,
    not by name: a sheet stored as ``sheet1.dat`` is parsed all the same)?"""
    try:
        with zf.open(info) as fh:
            head = fh.read(64)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return True  # let the scan say why it cannot be read
    return head.lstrip()[:1] == b"<" or head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:3] == b"\xef\xbb\xbf"

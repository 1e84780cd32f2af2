"""SYNTHETIC hostile input files (issue 24, items 4, 6, 9), generated at test time.

Nothing here is real data: a one-offer template spreadsheet (made-up employer « Acme » in
Giberville) whose XML members are then replaced by the hostile variants the issue reproduced.
Each XLSX bomb is small on the wire and passes the declared-size limits of
:func:`analysis.imports.limits.check_xlsx` (asserted by the tests), so only the pre-scan and the
bounded child process stand between it and the machine.
"""

from __future__ import annotations

import io
import random
import zipfile

HEADER = ["identifiant", "employeur", "secteur", "adresse", "code_postal", "commune", "niveaux"]
ROW = ["t1", "Acme", "Industrie", "1 rue de la Gare", "14730", "Giberville", "seconde"]
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    cells = "".join(_inline(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADER))
    return f'<row r="1">{cells}</row>'


def base_xlsx() -> dict[str, bytes]:
    """The members of a valid one-offer template workbook (written by openpyxl)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(ROW)
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def pack(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _with_sheet(rows_xml: str | bytes, prolog: str = "") -> bytes:
    members = base_xlsx()
    rows = rows_xml.encode() if isinstance(rows_xml, str) else rows_xml
    head = f'<?xml version="1.0"?>{prolog}<worksheet {NS}><sheetData>'.encode()
    members[SHEET] = head + rows + b"</sheetData></worksheet>"
    return pack(members)


def far_row() -> bytes:
    """A data row numbered 2,000,000,000: the reader yields every missing row before it."""
    return _with_sheet(_header_row() + f'<row r="2000000000">{_inline("A2000000000", "t1")}</row>')


def _varied(count: int, plain: bytes, other: bytes, sixteenths: int) -> bytes:
    """``count`` copies of ``plain``, each replaced by ``other`` with probability
    ``sixteenths``/16 (seeded): just enough disorder to stay under the compression-ratio limit."""
    table = [b"".join(other if (byte >> shift) & 15 < sixteenths else plain for shift in (0, 4)) for byte in range(256)]
    blocks = random.Random(24).randbytes(count // 2)
    return b"".join(table[b] for b in blocks) + plain * (count % 2)


def many_fonts(count: int = 11_000_000) -> bytes:
    """``styles.xml`` with ``count`` empty fonts (one object each in the reader)."""
    members = base_xlsx()
    members["xl/styles.xml"] = (
        f'<?xml version="1.0"?><styleSheet {NS}><fonts count="{count}">'.encode()
        + _varied(count, b"<font/>", b"<font/>\n", 2)
        + b'</fonts><cellXfs count="1"><xf/></cellXfs></styleSheet>'
    )
    return pack(members)


def wide_row(cells: int = 5_000_000) -> bytes:
    """One data row of ``cells`` cells (built as one list by the reader)."""
    row = _varied(cells, b"<c/>", b'<c t="n"/>', 8)
    return _with_sheet(_header_row().encode() + b'<row r="2">' + row + b"</row>")


def undefined_entity() -> bytes:
    """A sheet using an entity that no declaration defines."""
    return _with_sheet(_header_row() + f'<row r="2">{_inline("A2", "&bomb;")}</row>')


def mismatched_tag() -> bytes:
    """A sheet whose closing tag does not match the open one."""
    return _with_sheet(_header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t>t1</is></t></c></row>')


def entity_declaration() -> bytes:
    """A sheet with an internal DTD declaring entities (expanded by a naive parser)."""
    prolog = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return _with_sheet(_header_row() + f'<row r="2">{_inline("A2", "&b;")}</row>', prolog)


#: name -> (maker, what the French refusal must say)
XLSX_BOMBS = {
    "ligne_lointaine.xlsx": (far_row, "ligne numéro 2\u202f000\u202f000\u202f000"),
    "polices.xlsx": (many_fonts, "éléments XML"),
    "ligne_large.xlsx": (wide_row, "cellules"),
    "entite.xlsx": (undefined_entity, "entité non définie"),
    "balise.xlsx": (mismatched_tag, "balise fermante"),
}
